// An open editor buffer: its text, version, and the mapping between byte offsets and the
// protocol's line/character positions (UTF-16 code units unless the client takes UTF-8).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace route::lsp {

enum class PositionEncoding { Utf16, Utf8 };

struct Position {
  uint32_t line = 0;
  uint32_t character = 0;
};

class Document {
public:
  Document(std::string uri, std::string path, std::string text, int64_t version);

  const std::string &uri() const { return uri_; }
  // The file the compiler sees: the URI's path for file: URIs, the URI itself otherwise.
  const std::string &path() const { return path_; }
  const std::string &text() const { return text_; }
  int64_t version() const { return version_; }

  // The byte offset of a position; past the end of a line means its end, past the last
  // line the end of the text.
  uint32_t offset(Position position, PositionEncoding encoding) const;
  Position position(uint32_t offset, PositionEncoding encoding) const;

  // Applies one change: `range` replaced by `text`, or the whole text when `whole`.
  void change(bool whole, Position start, Position end, const std::string &text,
              PositionEncoding encoding);
  void setVersion(int64_t version) { version_ = version; }

private:
  void index();

  std::string uri_;
  std::string path_;
  std::string text_;
  int64_t version_;
  std::vector<uint32_t> lineStarts_;
};

// Positions of another text than a document's (an imported file the compiler read).
uint32_t offsetIn(const std::string &text, Position position, PositionEncoding encoding);
Position positionIn(const std::string &text, uint32_t offset, PositionEncoding encoding);

// file:///a%20b/c.route -> /a b/c.route; "" when the URI is not a file: URI.
std::string pathOfUri(const std::string &uri);
std::string uriOfPath(const std::string &path);

} // namespace route::lsp
