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
  return static_cast<size_t>(std::count_if(
      fields.begin(), fields.end(), [&](const auto &f) { return sameFieldName(f.first, name); }));
}

bool HeaderList::has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const auto &field) { return sameFieldName(field.first, name); });
}

void HeaderList::set(std::string_view name, std::string_view value) {
  // The first field of that name takes the name as written here and the value where it
  // stands (the order of fields is kept, and the list does not grow); any later ones go.
  auto first = std::find_if(fields_.begin(), fields_.end(),
                            [&](const auto &field) { return sameFieldName(field.first, name); });
  if (first == fields_.end()) {
    fields_.emplace_back(std::string(name), std::string(value));
    return;
  }
  first->second.assign(value.data(), value.size()); // `value` may be this field's own
  first->first.assign(name.data(), name.size());
  fields_.erase(std::remove_if(first + 1, fields_.end(),
                               [&](const auto &field) { return sameFieldName(field.first, name); }),
                fields_.end());
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
