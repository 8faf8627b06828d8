#include "exchange/EditedHeaders.h"

#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <random>

namespace route {
namespace {

HeaderList base() {
  HeaderList fields;
  fields.add("server", "origin");
  fields.add("date", "Sat, 28 Nov 2026 12:00:00 GMT");
  return fields;
}

HeaderFields sent(const EditedHeaders &headers) {
  HeaderFields out;
  headers.forEachField([&](std::string_view n, std::string_view v) { out.emplace_back(n, v); });
  return out;
}

TEST(EditedHeaders, ReadsTheViewedFieldsUntilChanged) {
  HeaderList from = base();
  EditedHeaders headers;
  headers.view(from);
  EXPECT_EQ(&headers.headers(), &from); // read in place, not copied
  headers.remove("server");
  EXPECT_FALSE(headers.headers().has("server"));
  EXPECT_TRUE(from.has("server")) << "the viewed fields are left as they were";
  EXPECT_EQ(headers.headers().get("date"), "Sat, 28 Nov 2026 12:00:00 GMT");
}

TEST(EditedHeaders, CopiesAndMovesOwnTheirFields) {
  auto from = std::make_unique<HeaderList>(base());
  EditedHeaders headers;
  headers.view(*from);
  headers.set("x-a", "1");
  EditedHeaders copy = headers;
  EditedHeaders assigned;
  assigned = headers;
  EditedHeaders moved = std::move(headers);
  from.reset();
  for (const EditedHeaders *h : {&copy, &assigned, &moved}) {
    EXPECT_EQ(h->headers().get("server"), "origin");
    EXPECT_EQ(h->headers().get("x-a"), "1");
  }
}

TEST(EditedHeaders, DetachKeepsTheFieldsAsTheyRead) {
  HeaderList from = base();
  EditedHeaders headers;
  headers.view(from);
  headers.set("server", "turnout");
  headers.detach();
  from.set("date", "later");
  from.remove("server");
  EXPECT_EQ(sent(headers),
            (HeaderFields{{"server", "turnout"}, {"date", "Sat, 28 Nov 2026 12:00:00 GMT"}}));
}

TEST(EditedHeaders, EditsOverAViewReadAsTheSameChangesToACopy) {
  HeaderList from;
  for (const char *name : {"server", "date", "x-a", "Set-Cookie", "x-b", "set-cookie"})
    from.add(name, std::string("v-") + name);
  const char *names[] = {"x-a",   "X-A",   "set-cookie", "SET-COOKIE",
                         "x-new", "X-New", "server",     "x-other"};
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    HeaderList copy = from;
    EditedHeaders headers;
    headers.view(from);
    int steps = static_cast<int>(random() % 6);
    for (int step = 0; step < steps; ++step) {
      const char *name = names[random() % std::size(names)];
      std::string value = "w" + std::to_string(round) + "." + std::to_string(step);
      if (random() % 3 == 0) {
        copy.remove(name);
        headers.remove(name);
      } else {
        copy.set(name, value);
        headers.set(name, value);
      }
      ASSERT_EQ(sent(headers), copy.fields()) << "round " << round << " step " << step;
      ASSERT_EQ(headers.headers().fields(), copy.fields()) << "round " << round << " step " << step;
    }
  }
  EXPECT_EQ(from.fields().size(), 6u) << "the viewed fields are left as they were";
}

TEST(EditedHeaders, EditsAreNotCopiesOfTheViewedFields) {
  HeaderList from = base();
  EditedHeaders headers;
  headers.view(from);
  headers.set("x-served-by", "turnout");
  headers.remove("server");
  EXPECT_EQ(sent(headers),
            (HeaderFields{{"date", "Sat, 28 Nov 2026 12:00:00 GMT"}, {"x-served-by", "turnout"}}));
  // The date goes out from the viewed list's own string.
  const char *date = nullptr;
  headers.forEachField([&](std::string_view n, std::string_view v) {
    if (n == "date")
      date = v.data();
  });
  EXPECT_EQ(date, from.fields()[1].second.data());
}

} // namespace
} // namespace route
