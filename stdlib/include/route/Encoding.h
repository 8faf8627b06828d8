// Encodings the stdlib implements that C++ code outside it needs too (the language server
// reads file: URIs).
#pragma once

#include <string>
#include <string_view>

namespace route::stdlib {

// Percent-decoding; a '%' not followed by two hex digits stays as it is.
std::string percentDecode(std::string_view text, bool plusIsSpace);

} // namespace route::stdlib
