// What may go on the wire in an HTTP/1 head, checked once for every byte that leaves the
// proxy: the client's request as the parser accepts it, and every value a policy writes
// (the host side of route/abi.h refuses the rest). A value that passed cannot split a
// response, add a header field or a second request, or end a head early.
#pragma once

#include <cstdint>
#include <string_view>

namespace route::wire {

// A method or a field name: one or more tchar (RFC 9110 5.6.2).
bool isToken(std::string_view text);
// A field value (RFC 9110 5.5): no CR, LF, NUL or other control character but HTAB.
bool isFieldValue(std::string_view text);
// A request target's path or query: no space, no control character, no '#'.
bool isTargetPart(std::string_view text);
// A status a policy may send: 200 to 599 (1xx are the proxy's own, 100-continue).
inline bool isFinalStatus(int64_t status) {
  return status >= 200 && status <= 599;
}

} // namespace route::wire
