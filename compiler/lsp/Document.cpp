#include "Document.h"

#include "route/Encoding.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

namespace route::lsp {

namespace {

size_t sequenceLength(unsigned char lead) {
  return lead < 0x80           ? 1
         : (lead >> 5) == 0x6  ? 2
         : (lead >> 4) == 0xE  ? 3
         : (lead >> 3) == 0x1E ? 4
                               : 1;
}

// Within one line from `begin` to `end`: the byte offset `units` code units in.
uint32_t advance(const std::string &text, uint32_t begin, uint32_t end, uint32_t units,
                 PositionEncoding encoding) {
  uint32_t at = begin;
  while (at < end && units > 0) {
    size_t length = std::min<size_t>(sequenceLength(text[at]), end - at);
    uint32_t width =
        encoding == PositionEncoding::Utf8 ? static_cast<uint32_t>(length) : (length == 4 ? 2 : 1);
    if (width > units)
      break; // inside a character: stay before it
    units -= width;
    at += static_cast<uint32_t>(length);
  }
  return at;
}

uint32_t unitsBetween(const std::string &text, uint32_t begin, uint32_t end,
                      PositionEncoding encoding) {
  if (encoding == PositionEncoding::Utf8)
    return end - begin;
  uint32_t units = 0;
  for (uint32_t at = begin; at < end;) {
    size_t length = sequenceLength(text[at]);
    units += length == 4 ? 2 : 1;
    at += static_cast<uint32_t>(length);
  }
  return units;
}

std::vector<uint32_t> lineStartsOf(const std::string &text) {
  std::vector<uint32_t> starts{0};
  for (uint32_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n')
      starts.push_back(i + 1);
  return starts;
}

uint32_t offsetWith(const std::string &text, const std::vector<uint32_t> &starts, Position position,
                    PositionEncoding encoding) {
  if (position.line >= starts.size())
    return static_cast<uint32_t>(text.size());
  uint32_t begin = starts[position.line];
  uint32_t end = position.line + 1 < starts.size() ? starts[position.line + 1] - 1
                                                   : static_cast<uint32_t>(text.size());
  if (end > begin && text[end - 1] == '\r')
    --end;
  return advance(text, begin, end, position.character, encoding);
}

Position positionWith(const std::string &text, const std::vector<uint32_t> &starts, uint32_t offset,
                      PositionEncoding encoding) {
  offset = std::min<uint32_t>(offset, static_cast<uint32_t>(text.size()));
  auto line = std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin() - 1;
  uint32_t begin = starts[static_cast<size_t>(line)];
  return {static_cast<uint32_t>(line), unitsBetween(text, begin, offset, encoding)};
}

} // namespace

Document::Document(std::string uri, std::string path, std::string text, int64_t version)
    : uri_(std::move(uri)), path_(std::move(path)), text_(std::move(text)), version_(version) {
  index();
}

void Document::index() {
  lineStarts_ = lineStartsOf(text_);
}

uint32_t Document::offset(Position position, PositionEncoding encoding) const {
  return offsetWith(text_, lineStarts_, position, encoding);
}

Position Document::position(uint32_t offset, PositionEncoding encoding) const {
  return positionWith(text_, lineStarts_, offset, encoding);
}

void Document::change(bool whole, Position start, Position end, const std::string &text,
                      PositionEncoding encoding) {
  if (whole) {
    text_ = text;
  } else {
    uint32_t from = offset(start, encoding);
    uint32_t to = std::max(from, offset(end, encoding));
    text_.replace(from, to - from, text);
  }
  index();
}

uint32_t offsetIn(const std::string &text, Position position, PositionEncoding encoding) {
  return offsetWith(text, lineStartsOf(text), position, encoding);
}

Position positionIn(const std::string &text, uint32_t offset, PositionEncoding encoding) {
  return positionWith(text, lineStartsOf(text), offset, encoding);
}

std::string pathOfUri(const std::string &uri) {
  static constexpr std::string_view kScheme = "file://";
  if (uri.compare(0, kScheme.size(), kScheme) != 0)
    return "";
  return stdlib::percentDecode(std::string_view(uri).substr(kScheme.size()), false);
}

std::string uriOfPath(const std::string &path) {
  std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  std::string uri = "file://";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : absolute) {
    if (std::isalnum(c) || std::strchr("/-._~", c)) {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri;
}

} // namespace route::lsp
