// `routec fmt`: the one canonical layout of a Route file, kept by its own output.
//
// Four-space indents; one declaration, property, statement, test step or broken entry per
// line; optional semicolons dropped; blank lines between items kept, at most one; comments
// kept where they were (a trailing comment stays on its line). A list, acl or map stays on
// one line unless it was written broken (a line break after its opening bracket), holds a
// comment, or would pass kFormatWidth columns; broken, it has one entry per line and a
// trailing comma. The printed text is re-read before it is returned: if its tokens or
// comments differ from the input's, formatting fails rather than change the policy.
#pragma once

#include "diagnostics/Diagnostics.h"

#include <optional>
#include <string>

namespace route {

inline constexpr unsigned kFormatWidth = 100;

// The canonical layout of `file`, or nothing when the file has syntax errors (reported to
// `diags`, which then holds at least one error).
std::optional<std::string> formatFile(const SourceManager &sources, FileId file,
                                      DiagnosticEngine &diags);

} // namespace route
