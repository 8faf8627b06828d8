#include "diagnostics/SourceManager.h"

#include <algorithm>

namespace route {

FileId SourceManager::add(std::string path, std::string text) {
  File file{std::move(path), std::move(text), {0}};
  for (uint32_t i = 0; i < file.text.size(); ++i)
    if (file.text[i] == '\n')
      file.lineStarts.push_back(i + 1);
  files_.push_back(std::move(file));
  return static_cast<FileId>(files_.size() - 1);
}

FileId SourceManager::find(std::string_view path) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].path == path)
      return static_cast<FileId>(i);
  return kNoFile;
}

LineColumn SourceManager::lineColumn(FileId file, uint32_t offset) const {
  const File &f = files_[file];
  offset = std::min<uint32_t>(offset, f.text.size());
  auto it = std::upper_bound(f.lineStarts.begin(), f.lineStarts.end(), offset);
  uint32_t line = static_cast<uint32_t>(it - f.lineStarts.begin());
  uint32_t lineStart = f.lineStarts[line - 1];
  std::string_view before(f.text.data() + lineStart, offset - lineStart);
  return {line, countCodePoints(before) + 1};
}

std::string_view SourceManager::lineText(FileId file, uint32_t line) const {
  const File &f = files_[file];
  if (line == 0 || line > f.lineStarts.size())
    return {};
  uint32_t begin = f.lineStarts[line - 1];
  uint32_t end = line < f.lineStarts.size() ? f.lineStarts[line] : f.text.size();
  while (end > begin && (f.text[end - 1] == '\n' || f.text[end - 1] == '\r'))
    --end;
  return std::string_view(f.text).substr(begin, end - begin);
}

std::string_view SourceManager::slice(const SourceRange &range) const {
  const std::string &text = files_[range.file].text;
  uint32_t begin = std::min<uint32_t>(range.begin, text.size());
  uint32_t end = std::clamp<uint32_t>(range.end, begin, text.size());
  return std::string_view(text).substr(begin, end - begin);
}

uint32_t countCodePoints(std::string_view bytes) {
  uint32_t count = 0;
  for (unsigned char c : bytes)
    if ((c & 0xC0) != 0x80)
      ++count;
  return count;
}

} // namespace route
