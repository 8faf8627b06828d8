// The tokens of any text, half-typed or not, for tools that read what an editor holds (the
// language server's completion): no parse, no diagnostics, never fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace route {

enum class TokenKind : uint8_t { Word, String, Number, Punctuation, Comment, Unknown };

struct SourceToken {
  TokenKind kind;
  uint32_t begin; // byte offsets into the text
  uint32_t end;
  std::string text;
};

// Every token of `text`, comments included, in order. Stops at the first invalid UTF-8
// byte; an unterminated string is a String that ends at the end of its line.
std::vector<SourceToken> tokenize(std::string_view text);

} // namespace route
