// The one diagnostics engine of the compiler: every error and warning goes through it,
// carries a source range and a stable code, and is rendered as text or JSON.
#pragma once

#include "diagnostics/SourceManager.h"

#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace route {

enum class Severity { Error, Warning, Note };

const char *severityName(Severity severity);

struct DiagnosticNote {
  SourceRange range;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string code; // stable, kebab-case: "unknown-name", "type-mismatch", ...
  SourceRange range;
  std::string message;
  std::string hint;
  std::vector<DiagnosticNote> notes;

  Diagnostic &withHint(std::string text) {
    hint = std::move(text);
    return *this;
  }
  Diagnostic &withNote(SourceRange where, std::string text) {
    notes.push_back({where, std::move(text)});
    return *this;
  }
};

class DiagnosticEngine {
public:
  // Past this many diagnostics, further ones are counted but not kept.
  static constexpr size_t kMaxKept = 500;

  explicit DiagnosticEngine(const SourceManager &sources) : sources_(sources) {}

  // The returned reference is valid until the next report.
  Diagnostic &error(std::string code, SourceRange range, std::string message);
  Diagnostic &warning(std::string code, SourceRange range, std::string message);

  // Warnings are reported as errors from now on (routec --werror).
  void setWarningsAsErrors(bool on) { warningsAsErrors_ = on; }

  size_t errorCount() const { return errors_; }
  size_t warningCount() const { return warnings_; }
  bool hasErrors() const { return errors_ > 0; }
  // Grows with every error reported, repeats included: a pass compares it before and after
  // to learn whether it found errors.
  size_t errorEvents() const { return errorEvents_; }
  const std::vector<Diagnostic> &diagnostics() const { return kept_; }
  const SourceManager &sources() const { return sources_; }

  // Sorted by file, then position: the order a reader expects whatever order checks ran in.
  std::vector<const Diagnostic *> sorted() const;

  std::string renderText() const;
  std::string renderJson() const;

private:
  Diagnostic &report(Severity severity, std::string code, SourceRange range, std::string message);

  const SourceManager &sources_;
  std::vector<Diagnostic> kept_;
  Diagnostic overflow_;
  // The same message at the same place is reported once, even when two policies that
  // import one file are checked in one run.
  std::set<std::tuple<FileId, uint32_t, uint32_t, std::string>> seen_;
  size_t errors_ = 0;
  size_t warnings_ = 0;
  size_t errorEvents_ = 0;
  bool warningsAsErrors_ = false;
};

} // namespace route
