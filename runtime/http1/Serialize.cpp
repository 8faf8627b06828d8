#include "http1/Serialize.h"

#include <fmt/format.h>

#include <cstring>

namespace turnout::http1 {

std::string_view reasonPhrase(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 417:
    return "Expectation Failed";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

void appendRequestLine(std::string &out, std::string_view method, std::string_view path,
                       std::string_view query) {
  out.append(method).append(" ").append(path);
  if (!query.empty())
    out.append("?").append(query);
  out.append(" HTTP/1.1\r\n");
}

void appendStatusLine(std::string &out, int status) {
  if (status < 100 || status > 999) { // not an HTTP status; the policy checker lets none through
    fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", status, reasonPhrase(status));
    return;
  }
  const char code[] = {static_cast<char>('0' + status / 100),
                       static_cast<char>('0' + status / 10 % 10),
                       static_cast<char>('0' + status % 10)};
  out.append("HTTP/1.1 ").append(code, 3).append(" ").append(reasonPhrase(status)).append("\r\n");
}

void appendField(std::string &out, std::string_view name, std::string_view value) {
  // One growth and two copies: this runs for every field of every head.
  size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char *p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

void appendFieldsEnd(std::string &out) {
  out.append("\r\n");
}

size_t fieldsSize(const Fields &fields) {
  size_t size = 0;
  for (const auto &[name, value] : fields)
    size += name.size() + value.size() + 4;
  return size;
}

void appendChunk(std::string &out, std::string_view data) {
  if (data.empty())
    return;
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
  out.append(data).append("\r\n");
}

void appendLastChunk(std::string &out, const Fields &trailers) {
  out.append("0\r\n");
  for (const auto &[name, value] : trailers)
    appendField(out, name, value);
  out.append("\r\n");
}

std::string localResponse(int status, std::string_view body, bool close, const Fields &fields,
                          bool toHead) {
  bool bodyless = status < 200 || status == 204 || status == 304;
  std::string out;
  appendStatusLine(out, status);
  bool typed = false;
  static const Fields kNone;
  const HopByHop hopByHop(kNone); // a Connection field of the policy's names nothing to drop
  for (const auto &[name, value] : fields) {
    if (hopByHop(name) || route::sameFieldName(name, "content-length"))
      continue;
    typed = typed || route::sameFieldName(name, "content-type");
    appendField(out, name, value);
  }
  if (!typed && !body.empty() && !bodyless)
    appendField(out, "content-type", "text/plain; charset=utf-8");
  if (!bodyless)
    appendField(out, "content-length", std::to_string(body.size()));
  if (close)
    appendField(out, "connection", "close");
  appendFieldsEnd(out);
  if (!bodyless && !toHead)
    out.append(body);
  return out;
}

} // namespace turnout::http1
