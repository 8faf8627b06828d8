#include "exchange/Grpc.h"

namespace route::grpc {

namespace {

bool startsWithLower(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

// After the media type: its end, a subtype suffix ("+proto") or parameters.
bool endsType(std::string_view rest) {
  return rest.empty() || rest.front() == '+' || rest.front() == ';' || rest.front() == ' ';
}

} // namespace

Wire wireOf(std::string_view contentType) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (!startsWithLower(contentType, kGrpc))
    return Wire::None;
  std::string_view rest = contentType.substr(kGrpc.size());
  if (endsType(rest))
    return Wire::Grpc;
  if (startsWithLower(rest, "-web-text") && endsType(rest.substr(9)))
    return Wire::WebText;
  if (startsWithLower(rest, "-web") && endsType(rest.substr(4)))
    return Wire::Web;
  return Wire::None;
}

std::optional<Call> callOf(std::string_view path) {
  if (path.size() < 4 || path.front() != '/')
    return std::nullopt;
  path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size() ||
      path.find('/', slash + 1) != std::string_view::npos)
    return std::nullopt;
  return Call{path.substr(0, slash), path.substr(slash + 1)};
}

Status statusOfHttp(int64_t httpStatus) {
  switch (httpStatus) {
  case 200:
    return Ok;
  case 401:
    return Unauthenticated;
  case 403:
    return PermissionDenied;
  case 404:
    return Unimplemented;
  case 429:
  case 502:
  case 503:
    return Unavailable;
  case 408:
  case 504:
    return DeadlineExceeded;
  default:
    return Unknown;
  }
}

std::string encodeMessage(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte <= 0x7e && byte != '%') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

std::optional<std::chrono::nanoseconds> parseTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9)
    return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  using namespace std::chrono;
  switch (value.back()) {
  case 'H':
    return duration_cast<nanoseconds>(hours(amount));
  case 'M':
    return duration_cast<nanoseconds>(minutes(amount));
  case 'S':
    return duration_cast<nanoseconds>(seconds(amount));
  case 'm':
    return duration_cast<nanoseconds>(milliseconds(amount));
  case 'u':
    return duration_cast<nanoseconds>(microseconds(amount));
  case 'n':
    return nanoseconds(amount);
  default:
    return std::nullopt;
  }
}

} // namespace route::grpc
