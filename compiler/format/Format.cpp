#include "format/Format.h"

#include "parse/Parser.h"
#include "parse/SyntaxTree.h"

#include <algorithm>

namespace route {
namespace {

using antlr4::ParserRuleContext;
using antlr4::Token;
using antlr4::tree::ParseTree;
using antlr4::tree::TerminalNode;
using G = RouteParser;

constexpr size_t kIndentWidth = 4;

bool isComment(const Token *token) {
  return token->getType() == G::LINE_COMMENT || token->getType() == G::BLOCK_COMMENT;
}

size_t lastLineOf(const Token *token) {
  std::string text = token->getText();
  return token->getLine() + static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Lays out tokens in the order they come, carrying every comment between them along. Each
// default-channel token passes through exactly once, written (token) or left out (skip),
// so no comment can be lost or repeated. Source lines decide only where comments and blank
// lines go.
class Writer {
public:
  explicit Writer(antlr4::CommonTokenStream &tokens) : tokens_(&tokens) {}

  // A writer that continues from here into an empty buffer: to measure a layout.
  Writer fork() const {
    Writer copy(*tokens_);
    copy.at_ = at_;
    return copy;
  }
  bool fitsOnLine() const {
    return out_.find('\n') == std::string::npos && at_.column <= kFormatWidth;
  }

  // An item that takes lines of its own (a declaration, property, statement, entry) starts
  // with `first`: comments before it on lines of their own stay there, one blank line kept.
  // `blankFirst`: a blank line before it (and its comments) even if the source had none.
  void beginLine(Token *first, bool blankFirst = false) {
    at_.continuation = false;
    at_.blankFirst = blankFirst;
    comments(first, true);
    if (!at_.atLineStart)
      newline();
    blankLineBefore(first->getLine());
    at_.breakPending = false;
  }

  size_t linesWritten() const { return lines_; }

  // `spaced`: a space before the token, unless the one before it holds on tight.
  void token(Token *token, bool spaced, bool tightAfter) {
    comments(token, false);
    if (at_.breakPending) {
      newline();
      at_.continuation = true;
      at_.breakPending = false;
    } else if (spaced && !at_.tightAfter && !at_.atLineStart) {
      write(" ");
    }
    write(token->getText());
    passed(token);
    at_.tightAfter = tightAfter;
  }

  // Text that is not in the source (a broken list's trailing comma).
  void text(std::string_view text) { write(text); }

  // A token the layout leaves out (a semicolon, an inline list's trailing comma).
  void skip(Token *token) {
    comments(token, false);
    at_.cursor = token->getTokenIndex() + 1;
  }

  // After an opening brace: what follows is indented, with no blank line first.
  void open() {
    ++at_.depth;
    at_.blankAllowed = false;
    at_.justOpened = true;
  }

  // A closing brace on its own line, after the comments that end the block; `{}` when the
  // block is empty.
  void close(Token *brace) {
    at_.continuation = false;
    comments(brace, true);
    --at_.depth;
    if (!at_.justOpened && !at_.atLineStart)
      newline();
    write(brace->getText());
    passed(brace);
    at_.tightAfter = false;
  }

  void finish(Token *eof) {
    at_.continuation = false;
    comments(eof, true);
    if (!at_.atLineStart)
      newline();
  }

  std::string take() { return std::move(out_); }

private:
  // Writes the comments between the last token passed and `next`. A comment on the line of
  // the token before it trails that token; any other goes on a line of its own, at the
  // item's indent (`lineMode`) or a continuation's.
  void comments(Token *next, bool lineMode) {
    for (size_t i = at_.cursor; i < next->getTokenIndex(); ++i) {
      Token *comment = tokens_->get(i);
      if (!isComment(comment))
        continue;
      bool trailing = at_.lastLine != 0 && comment->getLine() == at_.lastLine && !at_.atLineStart;
      if (trailing) {
        write(" ");
      } else {
        if (!at_.atLineStart)
          newline();
        blankLineBefore(comment->getLine());
        if (!lineMode)
          at_.continuation = true;
      }
      write(comment->getText());
      at_.breakPending = comment->getType() == G::LINE_COMMENT || !trailing;
      at_.lastLine = lastLineOf(comment);
      at_.blankAllowed = true;
      at_.justOpened = false;
      at_.tightAfter = false;
    }
    at_.cursor = std::max(at_.cursor, next->getTokenIndex());
  }

  // A blank line before what starts on source line `line`, where the source had one (or
  // the item asked for one) and the place allows it.
  void blankLineBefore(size_t line) {
    if (at_.blankAllowed && at_.lastLine != 0 && (at_.blankFirst || line > at_.lastLine + 1))
      newline();
    at_.blankFirst = false;
  }

  void passed(Token *token) {
    at_.lastLine = lastLineOf(token);
    at_.cursor = token->getTokenIndex() + 1;
    at_.continuation = true;
    at_.blankAllowed = true;
    at_.justOpened = false;
  }

  void write(std::string_view text) {
    if (at_.atLineStart) {
      size_t indent = (static_cast<size_t>(at_.depth) + (at_.continuation ? 1 : 0)) * kIndentWidth;
      out_.append(indent, ' ');
      at_.column = indent;
      at_.atLineStart = false;
    }
    out_ += text;
    size_t newline = text.rfind('\n');
    if (newline == std::string_view::npos)
      at_.column += countCodePoints(text);
    else
      at_.column = countCodePoints(text.substr(newline + 1));
  }

  void newline() {
    out_ += '\n';
    ++lines_;
    at_.column = 0;
    at_.atLineStart = true;
  }

  antlr4::CommonTokenStream *tokens_;
  std::string out_;
  size_t lines_ = 0; // line breaks written
  // Where the layout stands; a fork starts from a copy of it.
  struct {
    size_t column = 0;
    int depth = 0;
    bool atLineStart = true;
    bool continuation = false; // a line that continues an item is indented one more level
    size_t lastLine = 0;       // the source line the last token or comment written ended on
    size_t cursor = 0;         // the index of the next token not yet passed
    bool blankAllowed = false; // no blank line at the top of a file or block
    bool breakPending = false; // a comment ended the line: the next token starts a new one
    bool justOpened = false;   // nothing since the opening brace
    bool tightAfter = false;   // the token written last takes no space after it
    bool blankFirst = false;   // the item being started wants a blank line before it
  } at_;
};

// Walks the parse tree, giving each token its spacing and each item its lines.
class Formatter {
public:
  Formatter(antlr4::CommonTokenStream &tokens, Writer &writer) : tokens_(&tokens), w_(&writer) {}

  // Declarations keep the source's blank lines between them, and get one where a
  // declaration took more than one line or one of another kind follows.
  void program(G::ProgramContext *program) {
    size_t previousKind = 0;
    bool previousSpanned = false;
    for (ParseTree *child : program->children) {
      if (auto *top = dynamic_cast<G::TopLevelContext *>(child)) {
        auto *declaration =
            top->children.empty() ? nullptr : dynamic_cast<ParserRuleContext *>(top->children[0]);
        size_t kind = declaration ? declaration->getRuleIndex() + 1 : 0;
        w_->beginLine(top->getStart(),
                      previousKind != 0 && (previousSpanned || kind != previousKind));
        size_t linesBefore = w_->linesWritten();
        walk(top);
        previousKind = kind;
        previousSpanned = w_->linesWritten() != linesBefore;
      } else if (auto *terminal = dynamic_cast<TerminalNode *>(child)) {
        if (terminal->getSymbol()->getType() == Token::EOF)
          w_->finish(terminal->getSymbol());
      }
    }
  }

private:
  void walk(ParseTree *node) {
    if (measuring_ && !w_->fitsOnLine())
      return; // measured enough: it does not fit
    if (auto *terminal = dynamic_cast<TerminalNode *>(node)) {
      Token *token = terminal->getSymbol();
      if (token->getType() == Token::EOF || token->getTokenIndex() == static_cast<size_t>(-1))
        return;
      if (token->getText() == ";")
        w_->skip(token);
      else
        w_->token(token, spacedBefore(terminal), tightAfter(terminal));
      return;
    }
    auto *rule = dynamic_cast<ParserRuleContext *>(node);
    if (auto *ifStatement = dynamic_cast<G::IfStmtContext *>(rule))
      return ifChain(ifStatement);
    if (dynamic_cast<G::BlockContext *>(rule) || dynamic_cast<G::UpstreamDeclContext *>(rule) ||
        dynamic_cast<G::TestDeclContext *>(rule))
      return itemBlock(rule);
    if (dynamic_cast<G::ListPrimaryContext *>(rule) || dynamic_cast<G::AclDeclContext *>(rule) ||
        dynamic_cast<G::MapDeclContext *>(rule))
      return sequence(rule);
    for (ParseTree *child : node->children)
      walk(child);
  }

  static std::string textOf(TerminalNode *node) { return node->getSymbol()->getText(); }

  static bool spacedBefore(TerminalNode *node) {
    std::string text = textOf(node);
    if (text == ")" || text == "]" || text == "," || text == "." || text == ":")
      return false;
    ParseTree *parent = node->parent;
    if (text == "(")
      return !dynamic_cast<G::CallPrimaryContext *>(parent) &&
             !dynamic_cast<G::FuncDeclContext *>(parent);
    if (text == "[")
      return !dynamic_cast<G::IndexExprContext *>(parent) &&
             !dynamic_cast<G::LvalueContext *>(parent);
    if (text == "<" || text == ">")
      return !dynamic_cast<G::TypeContext *>(parent);
    return true;
  }

  static bool tightAfter(TerminalNode *node) {
    std::string text = textOf(node);
    ParseTree *parent = node->parent;
    return text == "(" || text == "[" || text == "." ||
           (text == "-" && dynamic_cast<G::NegateExprContext *>(parent)) ||
           (text == "<" && dynamic_cast<G::TypeContext *>(parent));
  }

  // `else if` chains are walked in a loop: a long chain is not deep.
  void ifChain(G::IfStmtContext *ifStatement) {
    while (ifStatement) {
      G::IfStmtContext *next = nullptr;
      for (ParseTree *child : ifStatement->children) {
        if (auto *nested = dynamic_cast<G::IfStmtContext *>(child))
          next = nested;
        else
          walk(child);
      }
      ifStatement = next;
    }
  }

  // Upstream bodies, blocks and test bodies: one item per line between the braces.
  void itemBlock(ParserRuleContext *rule) {
    bool inside = false;
    for (ParseTree *child : rule->children) {
      auto *terminal = dynamic_cast<TerminalNode *>(child);
      std::string text = terminal ? textOf(terminal) : "";
      if (terminal && text == "{" && !inside) {
        walk(child);
        w_->open();
        inside = true;
      } else if (terminal && text == "}" && inside) {
        w_->close(terminal->getSymbol());
        inside = false;
      } else if (!terminal && inside) {
        w_->beginLine(static_cast<ParserRuleContext *>(child)->getStart());
        walk(child);
      } else {
        walk(child);
      }
    }
  }

  // Lists, acls and maps: entries separated by commas, on one line or one per line.
  void sequence(ParserRuleContext *rule) {
    auto &children = rule->children;
    size_t open = 0;
    while (open < children.size() && !isBracket(children[open], "[{"))
      ++open;
    size_t close = children.size() - 1;
    if (open >= close || !isBracket(children[close], "]}")) {
      for (ParseTree *child : children) // an error node in place of a bracket
        walk(child);
      return;
    }
    for (size_t i = 0; i < open; ++i)
      walk(children[i]);
    Token *openToken = static_cast<TerminalNode *>(children[open])->getSymbol();
    Token *closeToken = static_cast<TerminalNode *>(children[close])->getSymbol();
    bool empty = close == open + 1;
    bool hasComments = false;
    for (size_t i = openToken->getTokenIndex() + 1; i < closeToken->getTokenIndex(); ++i)
      hasComments |= isComment(tokenAt(i));
    bool writtenBroken =
        !empty && tokenAt(openToken->getTokenIndex() + 1)->getLine() != openToken->getLine() &&
        !isComment(tokenAt(openToken->getTokenIndex() + 1));
    bool broken = hasComments || writtenBroken;
    if (measuring_) {
      // Inside a sequence being measured: if that one fits on its line, so does this one.
      if (broken)
        measureFailed_ = true;
      inlineEntries(children, open, close);
      return;
    }
    if (!broken && !empty) {
      Writer measure = w_->fork();
      Writer *saved = std::exchange(w_, &measure);
      measuring_ = true;
      measureFailed_ = false;
      inlineEntries(children, open, close);
      measuring_ = false;
      w_ = saved;
      broken = measureFailed_ || !measure.fitsOnLine();
    }
    if (!broken) {
      inlineEntries(children, open, close);
      return;
    }
    walk(children[open]);
    w_->open();
    for (size_t i = open + 1; i < close; ++i) {
      if (dynamic_cast<TerminalNode *>(children[i])) { // a comma
        walk(children[i]);
        continue;
      }
      w_->beginLine(static_cast<ParserRuleContext *>(children[i])->getStart());
      walk(children[i]);
      bool commaFollows = i + 1 < close && dynamic_cast<TerminalNode *>(children[i + 1]) &&
                          textOf(static_cast<TerminalNode *>(children[i + 1])) == ",";
      if (!commaFollows)
        w_->text(",");
    }
    w_->close(closeToken);
  }

  // Entries on the bracket's line: `[a, b]`, `{ a, b }`; a trailing comma left out.
  void inlineEntries(std::vector<ParseTree *> &children, size_t open, size_t close) {
    bool braces = textOf(static_cast<TerminalNode *>(children[open])) == "{";
    for (size_t i = open; i <= close; ++i) {
      auto *terminal = dynamic_cast<TerminalNode *>(children[i]);
      if (terminal && i + 1 == close && textOf(terminal) == ",") {
        w_->skip(terminal->getSymbol());
        continue;
      }
      if (braces && i == close && close == open + 1) { // `{}`
        w_->token(terminal->getSymbol(), false, false);
        continue;
      }
      walk(children[i]);
    }
  }

  static bool isBracket(ParseTree *node, std::string_view brackets) {
    auto *terminal = dynamic_cast<TerminalNode *>(node);
    if (!terminal)
      return false;
    std::string text = textOf(terminal);
    return text.size() == 1 && brackets.find(text[0]) != std::string_view::npos;
  }

  Token *tokenAt(size_t index) { return tokens_->get(index); }

  antlr4::CommonTokenStream *tokens_;
  Writer *w_;
  bool measuring_ = false;     // laying out into a fork, to learn whether a sequence fits
  bool measureFailed_ = false; // a sequence inside the measured one must break
};

// The first expression nested deeper than the compiler takes (the walk recurses on
// expressions; everything else is bounded by the bracket depth the lexer checks), or null.
ParserRuleContext *tooDeep(G::ProgramContext *program) {
  std::vector<std::pair<ParseTree *, int>> stack{{program, 0}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (dynamic_cast<G::ExprContext *>(node) && ++depth > kMaxNestingDepth)
      return static_cast<ParserRuleContext *>(node);
    for (ParseTree *child : node->children)
      stack.emplace_back(child, depth);
  }
  return nullptr;
}

// The texts of the tokens that carry meaning (all but semicolons and commas, which the
// layout may drop or add) and of the comments.
std::vector<std::string> substance(antlr4::CommonTokenStream &tokens) {
  std::vector<std::string> texts;
  for (Token *token : tokens.getTokens()) {
    std::string text = token->getText();
    if (token->getType() != Token::EOF && text != ";" && text != ",")
      texts.push_back(std::move(text));
  }
  return texts;
}

} // namespace

std::optional<std::string> formatFile(const SourceManager &sources, FileId file,
                                      DiagnosticEngine &diags) {
  size_t errorsBefore = diags.errorEvents();
  std::unique_ptr<syntax::SyntaxTree> tree = syntax::parseSyntax(sources, file, diags);
  if (!tree || diags.errorEvents() != errorsBefore)
    return std::nullopt;

  if (ParserRuleContext *deep = tooDeep(tree->program)) {
    diags
        .error("too-deep", tree->range(deep->getStart()),
               "expression nests deeper than " + std::to_string(kMaxNestingDepth) + " levels")
        .withHint("split it with `let` bindings or a function");
    return std::nullopt;
  }
  Writer writer(*tree->tokens);
  Formatter formatter(*tree->tokens, writer);
  try {
    formatter.program(tree->program);
  } catch (const std::exception &e) {
    diags.error("internal", {file, 0, 0}, std::string("formatter failure: ") + e.what());
    return std::nullopt;
  }
  std::string formatted = writer.take();

  // Read the result back: it must parse, with the same tokens and comments.
  SourceManager check;
  FileId checkFile = check.add(sources.path(file), formatted);
  DiagnosticEngine checkDiags(check);
  std::unique_ptr<syntax::SyntaxTree> reread = syntax::parseSyntax(check, checkFile, checkDiags);
  if (!reread || checkDiags.hasErrors() || substance(*reread->tokens) != substance(*tree->tokens)) {
    diags.error("internal", {file, 0, 0}, "the formatter would change this policy's meaning")
        .withHint("please report it with the file; the file was left as it was");
    return std::nullopt;
  }
  return formatted;
}

} // namespace route
