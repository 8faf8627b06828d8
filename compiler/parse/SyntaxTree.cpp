#include "parse/SyntaxTree.h"

#include "parse/Parser.h"
#include "parse/Tokens.h"

#include <fmt/format.h>

#include <cctype>

namespace route::syntax {
namespace {

using antlr4::Token;
using G = RouteParser;

std::string shorten(std::string text) {
  if (text == "<EOF>")
    return "end of file";
  if (text.size() > 40)
    text = text.substr(0, 37) + "...";
  return "'" + text + "'";
}

class SyntaxErrorListener : public antlr4::BaseErrorListener {
public:
  SyntaxErrorListener(DiagnosticEngine &diags, FileId file, const Utf8Index &index,
                      uint32_t textSize)
      : diags_(diags), file_(file), index_(index), textSize_(textSize) {}

  void syntaxError(antlr4::Recognizer *, Token *offending, size_t, size_t,
                   const std::string &message, std::exception_ptr) override {
    SourceRange range{file_, textSize_, textSize_};
    std::string found = "end of file";
    if (offending && offending->getType() != Token::EOF) {
      if (offending->getType() == G::UNKNOWN_CHAR || offending->getType() == G::UNTERMINATED_STRING)
        return; // reported when the tokens were scanned
      range.begin = index_.byteOffset(offending->getStartIndex());
      range.end = index_.byteOffset(offending->getStopIndex() + 1);
      found = shorten(offending->getText());
    }
    auto &d = diags_.error("syntax", range, rewrite(message, found));
    if (found == "end of file")
      d.withHint("a '}' or ')' may be missing");
  }

private:
  // ANTLR's messages list every token it could take; keep them only when they are few.
  static std::string rewrite(const std::string &message, const std::string &found) {
    auto expecting = message.find(" expecting ");
    std::string expected;
    if (expecting != std::string::npos) {
      expected = message.substr(expecting + 11);
      if (expected.front() == '{' && std::count(expected.begin(), expected.end(), ',') >= 4)
        expected.clear();
      else if (expected.front() == '{')
        expected = expected.substr(1, expected.size() - 2);
      auto eof = expected.find("<EOF>");
      if (eof != std::string::npos)
        expected.replace(eof, 5, "end of file");
    }
    if (message.rfind("missing ", 0) == 0) {
      auto at = message.find(" at ");
      return fmt::format("missing {} before {}", message.substr(8, at - 8), found);
    }
    if (expected.empty())
      return fmt::format("unexpected {}", found);
    return fmt::format("unexpected {}; expected {}", found, expected);
  }

  DiagnosticEngine &diags_;
  FileId file_;
  const Utf8Index &index_;
  uint32_t textSize_;
};

// Reports bad tokens once, with a message better than the parser's, and refuses input whose
// bracket or prefix-operator nesting would recurse too deeply in the parser.
bool scanTokens(antlr4::CommonTokenStream &tokens, DiagnosticEngine &diags, FileId file,
                const Utf8Index &index) {
  int depth = 0;
  int prefixRun = 0;
  for (Token *token : tokens.getTokens()) {
    SourceRange r{file, index.byteOffset(token->getStartIndex()),
                  index.byteOffset(token->getStopIndex() + 1)};
    std::string text = token->getType() == Token::EOF ? "" : token->getText();
    switch (token->getType()) {
    case G::UNTERMINATED_STRING:
      diags.error("syntax", r, "unterminated string literal")
          .withHint("close it with '\"' on the same line; use \\n for a newline");
      break;
    case G::UNKNOWN_CHAR:
      if (text == "/") {
        diags.error("syntax", r, "unexpected '/'").withHint("comments are // or /* ... */");
      } else {
        diags.error("syntax", r, fmt::format("unexpected character {}", shorten(text)));
      }
      break;
    default:
      break;
    }
    if (text == "(" || text == "[" || text == "{")
      ++depth;
    else if (text == ")" || text == "]" || text == "}")
      depth = std::max(0, depth - 1);
    prefixRun = (text == "not" || text == "-") ? prefixRun + 1 : 0;
    if (depth + prefixRun > kMaxNestingDepth) {
      diags.error("too-deep", r, fmt::format("nesting deeper than {} levels", kMaxNestingDepth))
          .withHint("split the expression with `let` bindings or a function");
      return false;
    }
  }
  return true;
}

} // namespace

int64_t Utf8Index::build(std::string_view text) {
  offsets_.clear();
  offsets_.reserve(text.size() + 1);
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = text[i];
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    if (length == 0 || i + length > text.size())
      return static_cast<int64_t>(i);
    uint32_t cp = length == 1 ? c : c & (0xFF >> (length + 1));
    for (size_t k = 1; k < length; ++k) {
      unsigned char next = text[i + k];
      if ((next & 0xC0) != 0x80)
        return static_cast<int64_t>(i);
      cp = (cp << 6) | (next & 0x3F);
    }
    bool overlong =
        (length == 2 && cp < 0x80) || (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return static_cast<int64_t>(i);
    offsets_.push_back(static_cast<uint32_t>(i));
    i += length;
  }
  offsets_.push_back(static_cast<uint32_t>(text.size()));
  return -1;
}

std::unique_ptr<SyntaxTree> parseSyntax(const SourceManager &sources, FileId file,
                                        DiagnosticEngine &diags) {
  auto tree = std::make_unique<SyntaxTree>();
  tree->file = file;
  const std::string &text = sources.text(file);
  if (int64_t bad = tree->index.build(text); bad >= 0) {
    uint32_t at = static_cast<uint32_t>(bad);
    diags
        .error("bad-encoding", {file, at, at + 1},
               fmt::format("invalid UTF-8 byte 0x{:02X}", static_cast<unsigned char>(text[at])))
        .withHint("policies are UTF-8 text");
    return nullptr;
  }

  try {
    tree->input = std::make_unique<antlr4::ANTLRInputStream>(text);
    tree->lexer = std::make_unique<RouteLexer>(tree->input.get());
    tree->lexer->removeErrorListeners();
    tree->tokens = std::make_unique<antlr4::CommonTokenStream>(tree->lexer.get());
    tree->tokens->fill();
    if (!scanTokens(*tree->tokens, diags, file, tree->index))
      return nullptr;

    // Two-stage parsing, as ANTLR recommends: the fast SLL prediction first, which is
    // linear on long operator chains; only input it cannot parse pays for full LL, which
    // also produces the error messages.
    tree->parser = std::make_unique<RouteParser>(tree->tokens.get());
    RouteParser &parser = *tree->parser;
    parser.removeErrorListeners();
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    try {
      tree->program = parser.program();
    } catch (const antlr4::ParseCancellationException &) {
      SyntaxErrorListener listener(diags, file, tree->index, static_cast<uint32_t>(text.size()));
      tree->tokens->seek(0);
      parser.reset();
      parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
      parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
          antlr4::atn::PredictionMode::LL);
      parser.addErrorListener(&listener);
      tree->program = parser.program();
      parser.removeErrorListeners();
    }
    return tree;
  } catch (const std::exception &e) {
    // The runtime should not throw once the input is valid UTF-8; if it does, the policy is
    // rejected with a diagnostic rather than taking the process down.
    diags.error("internal", {file, 0, 0}, fmt::format("parser failure: {}", e.what()));
    return nullptr;
  }
}

} // namespace route::syntax

namespace route {

std::vector<SourceToken> tokenize(std::string_view text) {
  syntax::Utf8Index index;
  if (int64_t bad = index.build(text); bad >= 0) {
    text = text.substr(0, static_cast<size_t>(bad));
    index.build(text);
  }
  std::vector<SourceToken> out;
  try {
    antlr4::ANTLRInputStream input{std::string(text)};
    RouteLexer lexer(&input);
    lexer.removeErrorListeners();
    for (std::unique_ptr<antlr4::Token> token = lexer.nextToken();
         token->getType() != antlr4::Token::EOF; token = lexer.nextToken()) {
      TokenKind kind = TokenKind::Punctuation;
      switch (token->getType()) {
      case RouteLexer::IDENT:
        kind = TokenKind::Word;
        break;
      case RouteLexer::STRING:
      case RouteLexer::RAW_STRING:
      case RouteLexer::UNTERMINATED_STRING:
        kind = TokenKind::String;
        break;
      case RouteLexer::INT:
      case RouteLexer::DURATION:
      case RouteLexer::IPV4:
      case RouteLexer::IPV6:
        kind = TokenKind::Number;
        break;
      case RouteLexer::LINE_COMMENT:
      case RouteLexer::BLOCK_COMMENT:
        kind = TokenKind::Comment;
        break;
      case RouteLexer::UNKNOWN_CHAR:
        kind = TokenKind::Unknown;
        break;
      default: // keywords are words; the rest is punctuation
        if (std::isalpha(static_cast<unsigned char>(token->getText()[0])))
          kind = TokenKind::Word;
        break;
      }
      out.push_back({kind, index.byteOffset(token->getStartIndex()),
                     index.byteOffset(token->getStopIndex() + 1), token->getText()});
    }
  } catch (const std::exception &) {
    // The lexer does not throw on valid UTF-8; what it produced so far stands.
  }
  return out;
}

} // namespace route
