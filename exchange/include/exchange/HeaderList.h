// HTTP header fields as an ordered list: the one representation the proxy's parser
// produces and the exchange a policy acts on holds, and the few operations both need.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace route {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// Field names compare case-insensitively (ASCII, RFC 9110 5.1). Inline: the proxy compares
// names several times per field of every message.
inline bool sameFieldName(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y)
      continue;
    unsigned char lower = x | 0x20; // equal apart from case only if a letter
    if (lower != (y | 0x20) || lower < 'a' || lower > 'z')
      return false;
  }
  return true;
}
// The comma-joined values of every field named `name`; "" when there is none.
std::string joinedValue(const HeaderFields &fields, std::string_view name);
size_t fieldCount(const HeaderFields &fields, std::string_view name);

// Header fields in arrival order; names compare case-insensitively.
class HeaderList {
public:
  using Fields = HeaderFields;
  HeaderList() = default;
  // Takes fields as parsed, names as sent, without copying them.
  explicit HeaderList(Fields fields) : fields_(std::move(fields)) {}
  // A copy is made to be changed (a policy's first change to the request going upstream,
  // say): it has room for a few more fields, which then do not move every field to grow.
  HeaderList(const HeaderList &other) {
    fields_.reserve(other.fields_.size() + kRoom);
    fields_.insert(fields_.end(), other.fields_.begin(), other.fields_.end());
  }
  HeaderList &operator=(const HeaderList &other) {
    if (this != &other)
      *this = HeaderList(other);
    return *this;
  }
  HeaderList(HeaderList &&) = default;
  HeaderList &operator=(HeaderList &&) = default;

  // Several fields of one name read as their comma-joined values.
  std::string get(std::string_view name) const { return joinedValue(fields_, name); }
  bool has(std::string_view name) const;
  // Replaces every field of that name: the first keeps its place with the new value.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  const Fields &fields() const { return fields_; }
  // Gives the fields up (to be recycled by a parser), leaving the list empty.
  Fields release() { return std::exchange(fields_, {}); }

private:
  static constexpr size_t kRoom = 4;
  Fields fields_;
};

} // namespace route
