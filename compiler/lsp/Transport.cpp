#include "Transport.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>
#include <strings.h>

namespace route::lsp {

namespace {

// One header line without its CRLF (or LF); false at the end of input.
bool readLine(std::FILE *in, std::string &line) {
  line.clear();
  int c;
  while ((c = std::fgetc(in)) != EOF) {
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return true;
    }
    if (line.size() < 4096) // a header line longer than this is junk: keep its start only
      line += static_cast<char>(c);
  }
  return !line.empty();
}

} // namespace

Transport::Read Transport::read(nlohmann::json &message, std::string &error) {
  std::string line;
  long long length = -1;
  bool sawHeader = false;
  while (true) {
    if (!readLine(in_, line))
      return Read::End;
    if (line.empty()) {
      if (sawHeader)
        break;
      continue; // blank lines between frames
    }
    sawHeader = true;
    static constexpr char kName[] = "content-length:";
    if (line.size() > sizeof kName - 1 && strncasecmp(line.c_str(), kName, sizeof kName - 1) == 0) {
      const char *begin = line.c_str() + sizeof kName - 1;
      while (*begin == ' ' || *begin == '\t')
        ++begin;
      long long value = -1;
      auto [end, ec] = std::from_chars(begin, line.c_str() + line.size(), value);
      length = ec == std::errc() && *end == '\0' ? value : -1;
    }
  }
  if (length < 0) {
    error = "a message without a valid Content-Length header";
    return Read::Malformed;
  }
  if (static_cast<unsigned long long>(length) > kMaxMessage) {
    for (long long i = 0; i < length && std::fgetc(in_) != EOF; ++i) {
    }
    error = "a message of " + std::to_string(length) + " bytes, more than the limit";
    return Read::Malformed;
  }
  std::string body(static_cast<size_t>(length), '\0');
  if (std::fread(body.data(), 1, body.size(), in_) != body.size())
    return Read::End;
  message = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    error = "a message that is not JSON";
    return Read::Malformed;
  }
  return Read::Message;
}

void Transport::write(const nlohmann::json &message) {
  // Invalid UTF-8 in a policy must not end the session: replace it in what goes out.
  std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(out_, "Content-Length: %zu\r\n\r\n", body.size());
  std::fwrite(body.data(), 1, body.size(), out_);
  std::fflush(out_);
}

} // namespace route::lsp
