#include "Completion.h"

#include "parse/Tokens.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace route::lsp {

namespace {

// The protocol's CompletionItemKind numbers.
enum Kind {
  Function = 3,
  Variable = 6,
  Class = 7,
  Module = 9,
  Property = 10,
  Value = 12,
  Keyword = 14,
  Struct = 22,
  Constant = 21,
  EnumMember = 20,
  Event = 23
};

// Where the cursor is, read from the tokens before it.
struct Place {
  enum class Block { TopLevel, Upstream, Acl, Map, Function, Phase, Test } block = Block::TopLevel;
  std::string blockName;                   // the phase's name, for Phase
  bool lineStart = true;                   // nothing before the cursor on its line
  std::vector<const SourceToken *> before; // comments left out
  std::string chain;                       // "upstream.req" when the cursor follows "upstream.req."
  bool member = false;                     // the cursor follows a '.'

  std::string previous(size_t back) const {
    return before.size() > back ? before[before.size() - 1 - back]->text : "";
  }
};

Place locate(const std::string &text, const std::vector<SourceToken> &tokens,
             uint32_t replaceBegin) {
  Place place;
  for (const SourceToken &token : tokens)
    if (token.end <= replaceBegin && token.kind != TokenKind::Comment)
      place.before.push_back(&token);
  const auto &before = place.before;
  if (!before.empty())
    place.lineStart = text.find('\n', before.back()->end) < replaceBegin;

  if (place.previous(0) == ".") {
    place.member = true;
    for (size_t i = before.size() - 1;
         i >= 1 && before[i]->text == "." && before[i - 1]->kind == TokenKind::Word; i -= 2) {
      place.chain =
          place.chain.empty() ? before[i - 1]->text : before[i - 1]->text + "." + place.chain;
      if (i < 2)
        break;
    }
  }

  std::vector<size_t> open; // the unclosed '{' before the cursor
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i]->text == "{")
      open.push_back(i);
    else if (before[i]->text == "}" && !open.empty())
      open.pop_back();
  }
  if (open.empty())
    return place;
  size_t brace = open.front();
  std::string keyword = brace >= 2 ? before[brace - 2]->text : "";
  using Block = Place::Block;
  if (keyword == "on") {
    place.block = Block::Phase;
    place.blockName = before[brace - 1]->text;
  } else if (keyword == "upstream") {
    place.block = Block::Upstream;
  } else if (keyword == "test") {
    place.block = Block::Test;
  } else if (keyword == "acl") {
    place.block = Block::Acl;
  } else if (keyword == "map") {
    place.block = Block::Map;
  } else {
    for (size_t i = brace; i-- > 0 && before[i]->text != "}";)
      if (before[i]->text == "fn")
        place.block = Block::Function;
  }
  return place;
}

class Collector {
public:
  Collector(const Analysis &analysis, uint32_t offset) : analysis_(analysis), offset_(offset) {}

  void add(std::string label, int kind, std::string detail = "", std::string doc = "") {
    if (seen_.insert(label).second)
      items_.push_back({std::move(label), kind, std::move(detail), std::move(doc)});
  }

  void keywords(std::initializer_list<const char *> words) {
    for (const char *word : words)
      add(word, Keyword);
  }

  // The next segment of every variable under `chain`, readable or writable in `mask`.
  void members(const std::string &chain, schema::PhaseMask mask) {
    std::string prefix = chain + ".";
    for (const schema::VariableInfo &v : schema::variables()) {
      std::string_view name = v.name;
      if (!((v.readable | v.writable) & mask) || name.substr(0, prefix.size()) != prefix)
        continue;
      std::string_view rest = name.substr(prefix.size());
      size_t dot = rest.find('.');
      if (dot == std::string_view::npos)
        add(std::string(rest), Variable, v.name, variableDoc(v));
      else
        add(std::string(rest.substr(0, dot)), Module,
            prefix + std::string(rest.substr(0, dot)) + ".*");
    }
  }

  // Every name an expression may start with here.
  void expressionNames(schema::PhaseMask mask, bool pureOnly) {
    std::set<std::string> roots;
    for (const schema::VariableInfo &v : schema::variables())
      if ((v.readable | v.writable) & mask)
        roots.insert(std::string(v.name).substr(0, std::string_view(v.name).find('.')));
    for (const std::string &root : roots)
      add(root, Module, root + ".*", "request variables");
    locals();
    declared({ast::DeclKind::Const, ast::DeclKind::Acl, ast::DeclKind::Map, ast::DeclKind::Func,
              ast::DeclKind::Upstream});
    for (const schema::BuiltinInfo &b : schema::builtins())
      if (b.pure || !pureOnly)
        add(b.name, Function, std::string(b.name) + b.signature, b.doc);
    keywords({"true", "false", "not"});
  }

  void declared(std::initializer_list<ast::DeclKind> kinds) {
    for (const ast::Module *module : analysis_.modules()) {
      for (const ast::DeclPtr &decl : module->decls) {
        if (std::find(kinds.begin(), kinds.end(), decl->kind) == kinds.end() || decl->name.empty())
          continue;
        switch (decl->kind) {
        case ast::DeclKind::Const:
          add(decl->name, Constant, "const");
          break;
        case ast::DeclKind::Acl:
          add(decl->name, Value, "acl");
          break;
        case ast::DeclKind::Map:
          add(decl->name, Struct, "map");
          break;
        case ast::DeclKind::Func:
          add(decl->name, Function, "fn");
          break;
        case ast::DeclKind::Upstream:
          add(decl->name, Class, "upstream");
          break;
        default:
          break;
        }
      }
    }
  }

  std::vector<CompletionItem> take() { return std::move(items_); }

private:
  // Parameters and the `let`s before the cursor in the blocks around it.
  void locals() {
    const ast::Module *module = analysis_.rootModule();
    if (!module)
      return;
    FileId file = module->file;
    auto around = [&](const SourceRange &r) {
      return r.file == file && r.begin <= offset_ && offset_ <= r.end;
    };
    for (const ast::DeclPtr &decl : module->decls) {
      if (!around(decl->range))
        continue;
      if (decl->kind == ast::DeclKind::Func) {
        for (const ast::LocalBinding &p : ast::as<ast::FuncDecl>(*decl).params)
          add(p.name, Variable, p.type ? p.type->str() : "parameter");
        block(ast::as<ast::FuncDecl>(*decl).body, around);
      } else if (decl->kind == ast::DeclKind::Phase) {
        block(ast::as<ast::PhaseDecl>(*decl).body, around);
      }
    }
  }

  template <typename Around> void block(const ast::Block &b, Around &around) {
    for (const ast::StmtPtr &stmt : b.stmts) {
      if (stmt->range.end <= offset_ && stmt->kind == ast::StmtKind::Let) {
        const auto &let = ast::as<ast::LetStmt>(*stmt);
        add(let.binding.name, Variable, let.binding.type ? let.binding.type->str() : "let");
      }
      if (stmt->kind != ast::StmtKind::If || !around(stmt->range))
        continue;
      const auto &s = ast::as<ast::IfStmt>(*stmt);
      for (const ast::IfStmt::Branch &branch : s.branches)
        if (around(branch.body.range))
          block(branch.body, around);
      if (s.elseBlock && around(s.elseBlock->range))
        block(*s.elseBlock, around);
    }
  }

  const Analysis &analysis_;
  uint32_t offset_;
  std::set<std::string> seen_;
  std::vector<CompletionItem> items_;
};

} // namespace

Completions complete(const std::string &text, uint32_t offset, const Analysis &analysis) {
  Completions out;
  out.replaceBegin = offset;
  std::vector<SourceToken> tokens = tokenize(text);
  for (const SourceToken &token : tokens) {
    if (token.begin >= offset || token.end < offset)
      continue;
    // A line comment and an unterminated string go on to the end of the line.
    bool open =
        token.text.starts_with("//") ||
        (token.kind == TokenKind::String && (token.text.size() < 2 || token.text.back() != '"'));
    bool inside = token.end > offset || open;
    if (inside && (token.kind == TokenKind::String || token.kind == TokenKind::Comment))
      return out;
    if (token.kind == TokenKind::Word)
      out.replaceBegin = token.begin;
  }
  Place place = locate(text, tokens, out.replaceBegin);
  Collector collect(analysis, offset);
  using Block = Place::Block;

  schema::PhaseMask mask = schema::kNoPhase;
  if (place.block == Block::Phase) {
    const schema::PhaseInfo *phase = schema::findPhase(place.blockName);
    mask = phase ? schema::maskOf(phase->id) : schema::kAllPhases;
  } else if (place.block == Block::Test) {
    mask = schema::kAllPhases;
  } else if (place.block == Block::Upstream) {
    mask = schema::kRequest; // balance keys are evaluated in the request phase
  }

  if (place.member) {
    if (place.chain != "match")
      collect.members(place.chain, mask);
    out.items = collect.take();
    return out;
  }
  std::string previous = place.previous(0);
  bool statementStart = place.lineStart || previous == "{" || previous == "}";

  switch (place.block) {
  case Block::TopLevel:
    if (previous == "on") {
      for (const schema::PhaseInfo &p : schema::phases())
        collect.add(p.name, Event, "phase", p.doc);
    } else if (statementStart) {
      collect.keywords({"import", "upstream", "acl", "map", "const", "fn", "on", "test"});
    } else {
      collect.expressionNames(schema::kNoPhase, true);
    }
    break;
  case Block::Upstream:
    if (statementStart) {
      for (const schema::UpstreamSettingInfo &s : schema::upstreamSettings())
        collect.add(s.name, Property, s.type,
                    fmt::format("{}  \ndefault: {}", s.doc, s.defaultValue));
    } else if (previous == "=" && place.previous(1) == "protocol") {
      for (const char *protocol : ast::kProtocolNames)
        collect.add(protocol, EnumMember, "protocol");
    } else if (previous == "=" && place.previous(1) == "balance") {
      for (const char *balance : ast::kBalanceNames)
        collect.add(balance, EnumMember, "balance");
    } else if (previous == "=" && place.previous(1) == "health") {
      collect.add("http", Function, "http(path = \"/\", interval = 5s, ...)");
      collect.add("tcp", Function, "tcp(interval = 5s, ...)");
    } else {
      collect.expressionNames(mask, false);
    }
    break;
  case Block::Acl:
    collect.declared({ast::DeclKind::Acl, ast::DeclKind::Const});
    break;
  case Block::Map:
    collect.expressionNames(schema::kNoPhase, true);
    break;
  case Block::Test:
    if (previous == "route" && place.previous(1) == "expect") {
      collect.declared({ast::DeclKind::Upstream});
    } else if (previous == "request") {
      for (const char *method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
        collect.add(method, EnumMember, "method");
    } else if (previous == "tls" && place.previous(1) != ".") {
      for (const schema::VariableInfo &v : schema::variables())
        if (std::string_view(v.name).starts_with("tls."))
          collect.add(v.name + 4, Property, v.doc);
    } else if (statementStart) {
      collect.keywords({"request", "header", "origin", "tls", "expect"});
    } else {
      if (previous == "expect")
        collect.keywords({"status", "route", "redirect", "body"});
      collect.expressionNames(mask, false);
    }
    break;
  case Block::Function:
  case Block::Phase:
    if (previous == "route") {
      collect.declared({ast::DeclKind::Upstream});
      break;
    }
    if (statementStart) {
      collect.keywords({"let", "if", "else"});
      if (place.block == Block::Function) {
        collect.keywords({"return"});
      } else {
        collect.keywords({"delete", "return"});
        for (const schema::ActionInfo &a : schema::actions())
          if (a.allowed & mask)
            collect.add(a.keyword, Keyword, "allowed in: " + schema::phaseNames(a.allowed), a.doc);
      }
    }
    collect.expressionNames(mask, place.block == Block::Function);
    break;
  }
  out.items = collect.take();
  return out;
}

} // namespace route::lsp
