// Source files of one compilation and the mapping from byte offsets to lines and columns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace route {

using FileId = uint32_t;
inline constexpr FileId kNoFile = UINT32_MAX;

// A half-open byte range [begin, end) in one file.
struct SourceRange {
  FileId file = kNoFile;
  uint32_t begin = 0;
  uint32_t end = 0;

  bool valid() const { return file != kNoFile; }
  // The smallest range covering both; both must be in the same file.
  SourceRange to(const SourceRange &other) const { return {file, begin, other.end}; }
};

// 1-based line and column; columns count Unicode code points, as editors show them.
struct LineColumn {
  uint32_t line = 0;
  uint32_t column = 0;
};

class SourceManager {
public:
  FileId add(std::string path, std::string text);
  // Returns kNoFile when no file of that path was added.
  FileId find(std::string_view path) const;

  const std::string &path(FileId file) const { return files_[file].path; }
  const std::string &text(FileId file) const { return files_[file].text; }
  size_t fileCount() const { return files_.size(); }

  LineColumn lineColumn(FileId file, uint32_t offset) const;
  // The text of a 1-based line, without its line terminator.
  std::string_view lineText(FileId file, uint32_t line) const;
  std::string_view slice(const SourceRange &range) const;

private:
  struct File {
    std::string path;
    std::string text;
    std::vector<uint32_t> lineStarts;
  };
  std::vector<File> files_;
};

// Counts the code points in a UTF-8 byte string (continuation bytes do not count).
uint32_t countCodePoints(std::string_view bytes);

} // namespace route
