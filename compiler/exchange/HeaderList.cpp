#include "exchange/HeaderList.h"

#include <algorithm>

namespace route {

std::string joinedValue(const HeaderFields &fields, std::string_view name) {
  std::string out;
  for (const auto &[n, v] : fields) {
    if (!sameFieldName(n, name))
      continue;
    if (!out.empty())
      out += ", ";
    out += v;
  }
  return out;
}

size_t fieldCount(const HeaderFields &fields, std::string_view name) {
  return static_cast<size_t>(
      std::count_if(fields.begin(), fields.end(), [&](const auto &f) { return sameFieldName(f.first, name); }));
}

bool HeaderList::has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const auto &field) { return sameFieldName(field.first, name); });
}

void HeaderList::set(std::string_view name, std::string_view value) {
  std::string copy(value); // `value` may point into a field about to go
  remove(name);
  fields_.emplace_back(std::string(name), std::move(copy));
}

void HeaderList::add(std::string_view name, std::string_view value) {
  fields_.emplace_back(std::string(name), std::string(value));
}

void HeaderList::remove(std::string_view name) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const auto &field) { return sameFieldName(field.first, name); }),
                fields_.end());
}

} // namespace route
