#include "exchange/WireSyntax.h"

#include <algorithm>
#include <array>

namespace route::wire {

namespace {

constexpr std::array<bool, 256> tokenChars() {
  std::array<bool, 256> members{};
  for (int c = 0; c < 256; ++c)
    members[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    members[static_cast<unsigned char>(c)] = true;
  return members;
}
constexpr std::array<bool, 256> kTokenChars = tokenChars();

bool isControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

} // namespace

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return kTokenChars[static_cast<unsigned char>(c)];
  });
}

bool isFieldValue(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) { return isControl(c) && c != '\t'; });
}

bool isTargetPart(std::string_view text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return isControl(c) || c == ' ' || c == '#'; });
}

} // namespace route::wire
