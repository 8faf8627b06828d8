// Regexes through RE2: linear-time matching, compiled once per policy.
#include "Text.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

struct RouteRegex {
  explicit RouteRegex(const std::string &pattern, const RE2::Options &options)
      : re(pattern, options) {}
  RE2 re;
};

struct RouteRegexSet {
  RE2::Set set;
  uint32_t count;
};

namespace {

RE2::Options options() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;
}

// Translates a `$1` / `${name}` replacement into RE2's `\1` syntax. References to groups
// the regex does not have become empty, and RE2's own escapes are neutralised.
std::string rewriteFor(const RE2 &re, std::string_view text) {
  std::string out;
  int groups = re.NumberOfCapturingGroups();
  const auto &names = re.NamedCapturingGroups();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      out += "\\\\";
      continue;
    }
    if (c != '$' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      int group = text[i + 1] - '0';
      if (group <= groups)
        out += "\\" + std::to_string(group);
      ++i;
      continue;
    }
    if (text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string name(text.substr(i + 2, close - i - 2));
        auto it = names.find(name);
        if (it != names.end() && it->second <= 9)
          out += "\\" + std::to_string(it->second);
        i = close;
        continue;
      }
    }
    out += c;
  }
  return out;
}

} // namespace

extern "C" {

RouteRegex *route_regex_compile(RouteStr pattern) {
  auto *regex =
      new RouteRegex(std::string(pattern.data ? pattern.data : "", pattern.size), options());
  if (!regex->re.ok()) {
    delete regex;
    return nullptr;
  }
  return regex;
}

void route_regex_free(RouteRegex *regex) {
  delete regex;
}

uint32_t route_regex_groups(const RouteRegex *regex) {
  return static_cast<uint32_t>(regex->re.NumberOfCapturingGroups());
}

int route_regex_match(const RouteRegex *regex, RouteStr subject, RouteStr *groups, uint32_t count) {
  re2::StringPiece text(subject.data ? subject.data : "", subject.size);
  constexpr uint32_t kOnStack = 16; // most patterns have few groups: no allocation for them
  re2::StringPiece onStack[kOnStack];
  std::vector<re2::StringPiece> onHeap(count > kOnStack ? count : 0);
  re2::StringPiece *pieces = count > kOnStack ? onHeap.data() : onStack;
  if (!regex->re.Match(text, 0, text.size(), RE2::UNANCHORED, pieces, static_cast<int>(count)))
    return 0;
  for (uint32_t i = 0; i < count; ++i)
    groups[i] = {pieces[i].data(), static_cast<uint64_t>(pieces[i].size())};
  return 1;
}

RouteRegexSet *route_regex_set_compile(const RouteStr *patterns, uint32_t count) {
  auto *set = new RouteRegexSet{RE2::Set(options(), RE2::UNANCHORED), count};
  for (uint32_t i = 0; i < count; ++i) {
    if (set->set.Add(re2::StringPiece(patterns[i].data ? patterns[i].data : "", patterns[i].size),
                     nullptr) != static_cast<int>(i)) {
      delete set;
      return nullptr;
    }
  }
  if (!set->set.Compile()) {
    delete set;
    return nullptr;
  }
  return set;
}

void route_regex_set_free(RouteRegexSet *set) {
  delete set;
}

const int32_t *route_regex_set_match(const RouteRegexSet *set, RouteStr subject, RouteArena *arena,
                                     uint32_t *matched) {
  std::vector<int> hits;
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  set->set.Match(re2::StringPiece(subject.data ? subject.data : "", subject.size), &hits, &error);
  auto *out = reinterpret_cast<int32_t *>(route_arena_alloc(
      arena, sizeof(int32_t) * (error.kind == RE2::Set::kNoError ? hits.size() : set->count)));
  if (error.kind != RE2::Set::kNoError) {
    for (uint32_t i = 0; i < set->count; ++i)
      out[i] = static_cast<int32_t>(i);
    *matched = set->count;
    return out;
  }
  std::sort(hits.begin(), hits.end());
  std::copy(hits.begin(), hits.end(), out);
  *matched = static_cast<uint32_t>(hits.size());
  return out;
}

RouteStr route_RegexReplace(RouteArena *arena, RouteStr s, const RouteRegex *regex,
                            RouteStr rewrite) {
  std::string text(s.data ? s.data : "", s.size);
  RE2::GlobalReplace(&text, regex->re,
                     rewriteFor(regex->re, {rewrite.data ? rewrite.data : "", rewrite.size}));
  return route::stdlib::copy(arena, text);
}

} // extern "C"
