#include "diagnostics/Diagnostics.h"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace route {

const char *severityName(Severity severity) {
  switch (severity) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

Diagnostic &DiagnosticEngine::error(std::string code, SourceRange range, std::string message) {
  return report(Severity::Error, std::move(code), range, std::move(message));
}

Diagnostic &DiagnosticEngine::warning(std::string code, SourceRange range, std::string message) {
  return report(warningsAsErrors_ ? Severity::Error : Severity::Warning, std::move(code), range,
                std::move(message));
}

Diagnostic &DiagnosticEngine::report(Severity severity, std::string code, SourceRange range,
                                     std::string message) {
  if (severity == Severity::Error)
    ++errorEvents_;
  if (!seen_.emplace(range.file, range.begin, range.end, message).second) {
    overflow_ = Diagnostic{};
    return overflow_;
  }
  (severity == Severity::Error ? errors_ : warnings_)++;
  if (kept_.size() >= kMaxKept) {
    overflow_ = Diagnostic{};
    return overflow_;
  }
  kept_.push_back(Diagnostic{severity, std::move(code), range, std::move(message), {}, {}});
  return kept_.back();
}

std::vector<const Diagnostic *> DiagnosticEngine::sorted() const {
  std::vector<const Diagnostic *> out;
  for (const Diagnostic &d : kept_)
    out.push_back(&d);
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic *a, const Diagnostic *b) {
    if (a->range.file != b->range.file)
      return a->range.file < b->range.file;
    return a->range.begin < b->range.begin;
  });
  return out;
}

namespace {

// Splits a line into printable code points: invalid bytes and control characters become
// '?' so that hostile input cannot garble a terminal; tabs stay, to keep the caret aligned.
std::vector<std::string> displayUnits(std::string_view line) {
  std::vector<std::string> units;
  size_t i = 0;
  while (i < line.size()) {
    unsigned char c = line[i];
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool valid = length > 0 && i + length <= line.size();
    for (size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(line[i + k]) & 0xC0) == 0x80;
    if (!valid) {
      units.emplace_back("?");
      ++i;
      continue;
    }
    if (length == 1 && c != '\t' && (c < 0x20 || c == 0x7F))
      units.emplace_back("?");
    else
      units.emplace_back(line.substr(i, length));
    i += length;
  }
  return units;
}

// The source line and an underline of the range's part on that line: a caret at the
// start, tildes after it. Long lines are cut to a window around the range.
void renderSnippet(const SourceManager &sources, const SourceRange &range, std::string &out) {
  if (!range.valid())
    return;
  constexpr uint32_t kWindow = 100;
  LineColumn start = sources.lineColumn(range.file, range.begin);
  LineColumn end = sources.lineColumn(range.file, std::max(range.end, range.begin));
  std::vector<std::string> units = displayUnits(sources.lineText(range.file, start.line));
  uint32_t length = static_cast<uint32_t>(units.size());
  uint32_t first = std::min(start.column - 1, length); // 0-based
  uint32_t last = end.line == start.line ? std::min(end.column - 1, length) : length;
  if (last <= first)
    last = first + 1;
  uint32_t from = first > kWindow / 2 ? first - kWindow / 2 : 0;
  uint32_t to = std::min(length, from + kWindow);
  out += from > 0 ? "    ..." : "    ";
  for (uint32_t i = from; i < to; ++i)
    out += units[i];
  out += to < length ? "...\n" : "\n";
  out += from > 0 ? "       " : "    ";
  for (uint32_t i = from; i < first; ++i)
    out += units[i] == "\t" ? '\t' : ' ';
  uint32_t width = std::min(last, std::max(to, first + 1)) - first;
  out += '^';
  out.append(width - 1, '~');
  out += '\n';
}

std::string location(const SourceManager &sources, const SourceRange &range) {
  if (!range.valid())
    return "routec";
  LineColumn lc = sources.lineColumn(range.file, range.begin);
  return fmt::format("{}:{}:{}", sources.path(range.file), lc.line, lc.column);
}

nlohmann::json jsonRange(const SourceManager &sources, const SourceRange &range) {
  LineColumn start = sources.lineColumn(range.file, range.begin);
  LineColumn end = sources.lineColumn(range.file, range.end);
  return {{"start", {{"line", start.line}, {"column", start.column}, {"offset", range.begin}}},
          {"end", {{"line", end.line}, {"column", end.column}, {"offset", range.end}}}};
}

} // namespace

std::string DiagnosticEngine::renderText() const {
  std::string out;
  for (const Diagnostic *d : sorted()) {
    out += fmt::format("{}: {}: {} [{}]\n", location(sources_, d->range), severityName(d->severity),
                       d->message, d->code);
    renderSnippet(sources_, d->range, out);
    if (!d->hint.empty())
      out += fmt::format("hint: {}\n", d->hint);
    for (const DiagnosticNote &note : d->notes) {
      out += fmt::format("{}: note: {}\n", location(sources_, note.range), note.message);
      renderSnippet(sources_, note.range, out);
    }
  }
  size_t dropped = errors_ + warnings_ - std::min(kept_.size(), errors_ + warnings_);
  if (dropped > 0)
    out += fmt::format("routec: {} more diagnostics not shown\n", dropped);
  return out;
}

std::string DiagnosticEngine::renderJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Diagnostic *d : sorted()) {
    nlohmann::json item{
        {"severity", severityName(d->severity)}, {"code", d->code}, {"message", d->message}};
    if (d->range.valid()) {
      item["file"] = sources_.path(d->range.file);
      item["range"] = jsonRange(sources_, d->range);
    }
    if (!d->hint.empty())
      item["hint"] = d->hint;
    nlohmann::json notes = nlohmann::json::array();
    for (const DiagnosticNote &note : d->notes) {
      nlohmann::json n{{"message", note.message}};
      if (note.range.valid()) {
        n["file"] = sources_.path(note.range.file);
        n["range"] = jsonRange(sources_, note.range);
      }
      notes.push_back(std::move(n));
    }
    item["notes"] = std::move(notes);
    list.push_back(std::move(item));
  }
  nlohmann::json root{
      {"diagnostics", std::move(list)}, {"errors", errors_}, {"warnings", warnings_}};
  return root.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace route
