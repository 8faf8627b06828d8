#include "parse/Parser.h"

#include "parse/SyntaxTree.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace route {
namespace {

using antlr4::ParserRuleContext;
using antlr4::Token;
using G = RouteParser;

class AstBuilder {
public:
  AstBuilder(DiagnosticEngine &diags, FileId file, const syntax::Utf8Index &index)
      : diags_(diags), file_(file), index_(index) {}

  std::unique_ptr<ast::Module> program(G::ProgramContext *ctx) {
    auto module = std::make_unique<ast::Module>();
    module->file = file_;
    for (G::TopLevelContext *top : ctx->topLevel())
      if (ast::DeclPtr decl = topLevel(top))
        module->decls.push_back(std::move(decl));
    return module;
  }

private:
  // ---------------------------------------------------------------------------- ranges
  SourceRange range(Token *start, Token *stop) const {
    if (!start)
      return {file_, 0, 0};
    uint32_t begin = index_.byteOffset(start->getStartIndex());
    uint32_t end = begin;
    if (stop && stop->getType() != Token::EOF && stop->getStopIndex() + 1 > start->getStartIndex())
      end = index_.byteOffset(stop->getStopIndex() + 1);
    else if (start->getType() != Token::EOF)
      end = index_.byteOffset(start->getStopIndex() + 1);
    return {file_, begin, end};
  }
  SourceRange range(ParserRuleContext *ctx) const {
    return ctx ? range(ctx->getStart(), ctx->getStop()) : SourceRange{file_, 0, 0};
  }
  SourceRange range(Token *token) const { return range(token, token); }
  SourceRange range(antlr4::tree::TerminalNode *node) const {
    return node ? range(node->getSymbol()) : SourceRange{file_, 0, 0};
  }

  static std::string text(G::NameContext *name) { return name ? name->getText() : ""; }

  // ---------------------------------------------------------------------- declarations
  ast::DeclPtr topLevel(G::TopLevelContext *ctx) {
    if (auto *c = ctx->importDecl()) {
      auto decl = std::make_unique<ast::ImportDecl>(range(c));
      if (c->STRING()) {
        decl->path = decodeString(c->STRING()->getSymbol());
        decl->nameRange = range(c->STRING());
      }
      return decl;
    }
    if (auto *c = ctx->upstreamDecl()) {
      auto decl = std::make_unique<ast::UpstreamDecl>(range(c));
      named(*decl, c->name());
      for (G::PropertyContext *p : c->property())
        decl->properties.push_back({text(p->name()), range(p->name()), expr(p->expr())});
      return decl;
    }
    if (auto *c = ctx->aclDecl()) {
      auto decl = std::make_unique<ast::AclDecl>(range(c));
      named(*decl, c->name());
      for (G::AclEntryContext *e : c->aclEntry())
        decl->entries.push_back(expr(e->expr()));
      return decl;
    }
    if (auto *c = ctx->mapDecl()) {
      auto decl = std::make_unique<ast::MapDecl>(range(c));
      named(*decl, c->name());
      for (G::MapEntryContext *e : c->mapEntry())
        decl->entries.push_back({e->isDefault ? nullptr : expr(e->key), expr(e->value), range(e)});
      return decl;
    }
    if (auto *c = ctx->constDecl()) {
      auto decl = std::make_unique<ast::ConstDecl>(range(c));
      named(*decl, c->name());
      if (c->type())
        decl->declaredType = type(c->type());
      decl->value = expr(c->expr());
      return decl;
    }
    if (auto *c = ctx->funcDecl()) {
      auto decl = std::make_unique<ast::FuncDecl>(range(c));
      named(*decl, c->name());
      for (G::ParamContext *p : c->param()) {
        decl->params.push_back({text(p->name()), range(p->name()), nullptr, false});
        decl->paramTypes.push_back(type(p->type()));
      }
      decl->returnTypeSyntax = type(c->type());
      decl->body = block(c->block());
      return decl;
    }
    if (auto *c = ctx->phaseDecl()) {
      auto decl = std::make_unique<ast::PhaseDecl>(range(c));
      named(*decl, c->name());
      decl->body = block(c->block());
      return decl;
    }
    if (auto *c = ctx->testDecl()) {
      auto decl = std::make_unique<ast::TestDecl>(range(c));
      if (c->STRING()) {
        decl->name = decodeString(c->STRING()->getSymbol());
        decl->nameRange = range(c->STRING());
      }
      for (G::TestStmtContext *s : c->testStmt())
        decl->steps.push_back(testStep(s));
      return decl;
    }
    return nullptr;
  }

  void named(ast::Decl &decl, G::NameContext *name) {
    decl.name = text(name);
    decl.nameRange = name ? range(name) : decl.range;
  }

  ast::TypeSyntax type(G::TypeContext *ctx) {
    ast::TypeSyntax out;
    if (!ctx)
      return out;
    out.range = range(ctx);
    out.name = ctx->name() ? ctx->name()->getText() : ctx->getStart()->getText();
    for (G::TypeContext *arg : ctx->type())
      out.args.push_back(type(arg));
    return out;
  }

  ast::TestStep testStep(G::TestStmtContext *ctx) {
    ast::TestStep step{ast::TestStepKind::Request, range(ctx), {}, {}, nullptr, nullptr, nullptr};
    if (auto *c = dynamic_cast<G::TestRequestContext *>(ctx)) {
      step.word = text(c->method);
      step.wordRange = range(c->method);
      step.first = expr(c->url);
      if (c->client)
        step.second = expr(c->client);
    } else if (auto *c = dynamic_cast<G::TestHeaderContext *>(ctx)) {
      step.kind = ast::TestStepKind::Header;
      step.first = expr(c->key);
      step.second = expr(c->value);
    } else if (auto *c = dynamic_cast<G::TestOriginHeaderContext *>(ctx)) {
      step.kind = ast::TestStepKind::OriginHeader;
      step.first = expr(c->key);
      step.second = expr(c->value);
    } else if (auto *c = dynamic_cast<G::TestTlsContext *>(ctx)) {
      step.kind = ast::TestStepKind::Tls;
      std::vector<G::NameContext *> names = c->name();
      for (G::NameContext *n : names)
        step.word += (step.word.empty() ? "" : ".") + text(n);
      step.wordRange =
          names.empty() ? range(ctx) : range(names.front()->getStart(), names.back()->getStop());
      step.first = expr(c->value);
    } else if (auto *c = dynamic_cast<G::TestOriginContext *>(ctx)) {
      step.kind = ast::TestStepKind::Origin;
      step.first = statusCode(c->status);
      if (c->body) {
        auto body = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::String, range(c->body));
        body->stringValue = decodeString(c->body);
        step.second = std::move(body);
      }
    } else if (auto *c = dynamic_cast<G::TestExpectContext *>(ctx)) {
      G::ExpectationContext *e = c->expectation();
      if (auto *s = dynamic_cast<G::ExpectStatusContext *>(e)) {
        step.kind = ast::TestStepKind::ExpectStatus;
        step.first = expr(s->expr());
      } else if (auto *r = dynamic_cast<G::ExpectRouteContext *>(e)) {
        step.kind = ast::TestStepKind::ExpectRoute;
        step.word = text(r->name());
        step.wordRange = range(r->name());
      } else if (auto *d = dynamic_cast<G::ExpectRedirectContext *>(e)) {
        step.kind = ast::TestStepKind::ExpectRedirect;
        step.first = expr(d->expr());
      } else if (auto *b = dynamic_cast<G::ExpectBodyContext *>(e)) {
        step.kind = ast::TestStepKind::ExpectBody;
        step.first = expr(b->expr());
      } else {
        step.kind = ast::TestStepKind::ExpectCondition;
        auto *cond = dynamic_cast<G::ExpectConditionContext *>(e);
        step.first = expr(cond ? cond->expr() : nullptr);
      }
    }
    if (!step.first)
      step.first = std::make_unique<ast::ErrorExpr>(step.range);
    return step;
  }

  // ------------------------------------------------------------------------ statements
  ast::Block block(G::BlockContext *ctx) {
    ast::Block out;
    if (!ctx)
      return out;
    out.range = range(ctx);
    for (G::StmtContext *s : ctx->stmt())
      if (ast::StmtPtr stmt = statement(s))
        out.stmts.push_back(std::move(stmt));
    return out;
  }

  ast::StmtPtr statement(G::StmtContext *ctx) {
    SourceRange r = range(ctx);
    if (auto *c = dynamic_cast<G::IfStatementContext *>(ctx))
      return ifStatement(c->ifStmt());
    if (auto *c = dynamic_cast<G::LetStatementContext *>(ctx)) {
      auto let = std::make_unique<ast::LetStmt>(r);
      let->binding = {text(c->name()), range(c->name()), nullptr, false};
      if (c->type())
        let->declaredType = type(c->type());
      let->value = expr(c->expr());
      return let;
    }
    if (auto *c = dynamic_cast<G::DeleteStatementContext *>(ctx))
      return std::make_unique<ast::DeleteStmt>(lvalue(c->lvalue()), r);
    if (auto *c = dynamic_cast<G::RespondStatementContext *>(ctx)) {
      auto respond = std::make_unique<ast::RespondStmt>(r);
      respond->status = statusCode(c->status);
      if (c->body)
        respond->body = expr(c->body);
      return respond;
    }
    if (auto *c = dynamic_cast<G::RedirectStatementContext *>(ctx)) {
      auto redirect = std::make_unique<ast::RedirectStmt>(r);
      if (c->status)
        redirect->status = statusCode(c->status);
      redirect->location = expr(c->location);
      return redirect;
    }
    if (auto *c = dynamic_cast<G::RouteStatementContext *>(ctx))
      return std::make_unique<ast::RouteStmt>(expr(c->expr()), r);
    if (dynamic_cast<G::RetryStatementContext *>(ctx))
      return std::make_unique<ast::RetryStmt>(r);
    if (auto *c = dynamic_cast<G::ReturnStatementContext *>(ctx))
      return std::make_unique<ast::ReturnStmt>(c->expr() ? expr(c->expr()) : nullptr, r);
    if (auto *c = dynamic_cast<G::AssignStatementContext *>(ctx))
      return std::make_unique<ast::AssignStmt>(lvalue(c->target), expr(c->value), r);
    return nullptr;
  }

  ast::ExprPtr statusCode(G::StatusCodeContext *ctx) {
    if (!ctx)
      return std::make_unique<ast::ErrorExpr>(SourceRange{file_, 0, 0});
    if (ctx->INT()) {
      auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::Int, range(ctx));
      std::string spelled = ctx->INT()->getText();
      auto [end, ec] =
          std::from_chars(spelled.data(), spelled.data() + spelled.size(), lit->intValue);
      if (ec != std::errc())
        diags_.error("literal-range", lit->range, "integer literal is too large");
      return lit;
    }
    std::vector<G::NameContext *> names = ctx->name();
    if (names.empty()) // the parser recovered from an error here; it has been reported
      return std::make_unique<ast::ErrorExpr>(range(ctx));
    ast::ExprPtr out = std::make_unique<ast::NameExpr>(text(names[0]), range(names[0]));
    for (size_t i = 1; i < names.size(); ++i)
      out = std::make_unique<ast::MemberExpr>(std::move(out), text(names[i]), range(names[i]),
                                              range(ctx->getStart(), names[i]->getStop()));
    return out;
  }

  // name ('.' name | '[' expr ']')*, built into the same Member and Index nodes as in
  // expressions.
  ast::ExprPtr lvalue(G::LvalueContext *ctx) {
    if (!ctx)
      return std::make_unique<ast::ErrorExpr>(SourceRange{file_, 0, 0});
    std::vector<G::NameContext *> names = ctx->name();
    std::vector<G::ExprContext *> indexes = ctx->expr();
    if (names.empty())
      return std::make_unique<ast::ErrorExpr>(range(ctx));
    size_t nextName = 1, nextIndex = 0;
    Token *start = ctx->getStart();
    ast::ExprPtr out = std::make_unique<ast::NameExpr>(text(names[0]), range(names[0]));
    for (antlr4::tree::ParseTree *child : ctx->children) {
      auto *terminal = dynamic_cast<antlr4::tree::TerminalNode *>(child);
      if (!terminal)
        continue;
      std::string symbol = terminal->getText();
      if (symbol == "." && nextName < names.size()) {
        G::NameContext *member = names[nextName++];
        out = std::make_unique<ast::MemberExpr>(std::move(out), text(member), range(member),
                                                range(start, member->getStop()));
      } else if (symbol == "]" && nextIndex < indexes.size()) {
        out = std::make_unique<ast::IndexExpr>(std::move(out), expr(indexes[nextIndex++]),
                                               range(start, terminal->getSymbol()));
      }
    }
    return out;
  }

  ast::StmtPtr ifStatement(G::IfStmtContext *ctx) {
    auto stmt = std::make_unique<ast::IfStmt>(range(ctx));
    // `else if` chains are flattened into branches, iteratively: a long chain is not deep.
    while (ctx) {
      std::vector<G::BlockContext *> blocks = ctx->block();
      ast::IfStmt::Branch branch;
      branch.condition = expr(ctx->expr());
      branch.body = block(blocks.empty() ? nullptr : blocks[0]);
      stmt->branches.push_back(std::move(branch));
      if (blocks.size() > 1)
        stmt->elseBlock = block(blocks[1]);
      ctx = ctx->ifStmt();
    }
    return stmt;
  }

  // ----------------------------------------------------------------------- expressions
  struct DepthGuard {
    int &depth;
    explicit DepthGuard(int &d) : depth(d) { ++depth; }
    ~DepthGuard() { --depth; }
  };

  ast::ExprPtr expr(G::ExprContext *ctx) {
    if (!ctx)
      return std::make_unique<ast::ErrorExpr>(SourceRange{file_, 0, 0});
    SourceRange r = range(ctx);
    DepthGuard guard(depth_);
    // Long operator chains nest without brackets; bound them here, as brackets are bounded
    // before parsing, so that every later recursive pass is bounded too.
    if (depth_ > kMaxNestingDepth) {
      if (!reportedDepth_)
        diags_
            .error("too-deep", r,
                   fmt::format("expression nests deeper than {} levels", kMaxNestingDepth))
            .withHint("split it with `let` bindings or a function");
      reportedDepth_ = true;
      return std::make_unique<ast::ErrorExpr>(r);
    }
    if (auto *c = dynamic_cast<G::PrimaryExprContext *>(ctx))
      return primary(c->primary());
    if (auto *c = dynamic_cast<G::MemberExprContext *>(ctx))
      return std::make_unique<ast::MemberExpr>(expr(c->expr()), text(c->name()), range(c->name()),
                                               r);
    if (auto *c = dynamic_cast<G::IndexExprContext *>(ctx)) {
      auto parts = c->expr();
      return std::make_unique<ast::IndexExpr>(expr(parts.size() > 0 ? parts[0] : nullptr),
                                              expr(parts.size() > 1 ? parts[1] : nullptr), r);
    }
    if (auto *c = dynamic_cast<G::NegateExprContext *>(ctx))
      return std::make_unique<ast::UnaryExpr>(ast::UnaryOp::Negate, expr(c->expr()), r);
    if (auto *c = dynamic_cast<G::NotExprContext *>(ctx))
      return std::make_unique<ast::UnaryExpr>(ast::UnaryOp::Not, expr(c->expr()), r);
    if (auto *c = dynamic_cast<G::BinaryExprContext *>(ctx)) {
      auto parts = c->expr();
      return std::make_unique<ast::BinaryExpr>(binaryOp(c->op ? c->op->getText() : ""),
                                               range(c->op),
                                               expr(parts.size() > 0 ? parts[0] : nullptr),
                                               expr(parts.size() > 1 ? parts[1] : nullptr), r);
    }
    return std::make_unique<ast::ErrorExpr>(r);
  }

  static ast::BinaryOp binaryOp(const std::string &op) {
    static const std::pair<const char *, ast::BinaryOp> table[] = {
        {"*", ast::BinaryOp::Mul},
        {"/", ast::BinaryOp::Div},
        {"%", ast::BinaryOp::Mod},
        {"+", ast::BinaryOp::Add},
        {"-", ast::BinaryOp::Sub},
        {"==", ast::BinaryOp::Eq},
        {"!=", ast::BinaryOp::Ne},
        {"<", ast::BinaryOp::Lt},
        {"<=", ast::BinaryOp::Le},
        {">", ast::BinaryOp::Gt},
        {">=", ast::BinaryOp::Ge},
        {"~", ast::BinaryOp::Match},
        {"!~", ast::BinaryOp::NotMatch},
        {"in", ast::BinaryOp::In},
        {"starts_with", ast::BinaryOp::StartsWith},
        {"ends_with", ast::BinaryOp::EndsWith},
        {"contains", ast::BinaryOp::Contains},
        {"and", ast::BinaryOp::And},
        {"or", ast::BinaryOp::Or},
    };
    for (const auto &[spelling, value] : table)
      if (op == spelling)
        return value;
    return ast::BinaryOp::Or;
  }

  ast::ExprPtr primary(G::PrimaryContext *ctx) {
    SourceRange r = range(ctx);
    if (auto *c = dynamic_cast<G::LiteralPrimaryContext *>(ctx))
      return literal(c->literal());
    if (auto *c = dynamic_cast<G::CallPrimaryContext *>(ctx)) {
      auto call = std::make_unique<ast::CallExpr>(text(c->name()), range(c->name()), r);
      for (G::ArgumentContext *a : c->argument())
        call->args.push_back({a->name() ? text(a->name()) : "",
                              a->name() ? range(a->name()) : SourceRange{}, expr(a->expr()),
                              a->percent != nullptr});
      return call;
    }
    if (auto *c = dynamic_cast<G::NamePrimaryContext *>(ctx))
      return std::make_unique<ast::NameExpr>(text(c->name()), r);
    if (auto *c = dynamic_cast<G::ParenPrimaryContext *>(ctx)) {
      ast::ExprPtr inner = expr(c->expr());
      inner->range = r; // the parentheses belong to the operand, for diagnostics
      return inner;
    }
    if (auto *c = dynamic_cast<G::ListPrimaryContext *>(ctx)) {
      auto list = std::make_unique<ast::ListExpr>(r);
      for (G::ListElementContext *e : c->listElement())
        list->elements.push_back({expr(e->expr(0)), e->weight ? expr(e->weight) : nullptr});
      return list;
    }
    return std::make_unique<ast::ErrorExpr>(r);
  }

  // -------------------------------------------------------------------------- literals
  ast::ExprPtr literal(G::LiteralContext *ctx) {
    SourceRange r = range(ctx);
    Token *token = ctx ? ctx->getStart() : nullptr;
    if (!token)
      return std::make_unique<ast::ErrorExpr>(r);
    std::string spelled = token->getText();
    switch (token->getType()) {
    case G::STRING: {
      auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::String, r);
      lit->stringValue = decodeString(token);
      return lit;
    }
    case G::RAW_STRING: {
      auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::String, r);
      lit->stringValue = spelled.substr(2, spelled.size() - 3);
      lit->raw = true;
      return lit;
    }
    case G::INT: {
      auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::Int, r);
      auto [end, ec] =
          std::from_chars(spelled.data(), spelled.data() + spelled.size(), lit->intValue);
      if (ec != std::errc())
        diags_.error("literal-range", r, "integer literal is too large")
            .withHint(
                fmt::format("ints are 64-bit: at most {}", std::numeric_limits<int64_t>::max()));
      return lit;
    }
    case G::DURATION:
      return duration(spelled, r);
    case G::IPV4:
    case G::IPV6:
      return address(spelled, token->getType() == G::IPV6, r);
    default: {
      auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::Bool, r);
      lit->boolValue = spelled == "true";
      return lit;
    }
    }
  }

  ast::ExprPtr duration(const std::string &spelled, SourceRange r) {
    auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::Duration, r);
    __int128 total = 0;
    size_t i = 0;
    while (i < spelled.size()) {
      __int128 amount = 0;
      while (i < spelled.size() && std::isdigit(static_cast<unsigned char>(spelled[i]))) {
        amount = amount * 10 + (spelled[i++] - '0');
        if (amount > std::numeric_limits<int64_t>::max())
          break;
      }
      while (i < spelled.size() && std::isdigit(static_cast<unsigned char>(spelled[i])))
        ++i;
      std::string unit;
      while (i < spelled.size() && std::isalpha(static_cast<unsigned char>(spelled[i])))
        unit += spelled[i++];
      // "ms" and "us" are lexed greedily; a following "s" unit is never ambiguous.
      int64_t scale = unit == "us"   ? 1'000
                      : unit == "ms" ? 1'000'000
                      : unit == "s"  ? 1'000'000'000
                      : unit == "m"  ? 60'000'000'000
                      : unit == "h"  ? 3'600'000'000'000
                                     : 86'400'000'000'000;
      total += amount * scale;
      if (total > std::numeric_limits<int64_t>::max()) {
        diags_.error("literal-range", r, "duration literal is too large")
            .withHint("durations are kept in nanoseconds and reach about 292 years");
        return lit;
      }
    }
    lit->intValue = static_cast<int64_t>(total);
    return lit;
  }

  ast::ExprPtr address(const std::string &spelled, bool v6, SourceRange r) {
    auto lit = std::make_unique<ast::LiteralExpr>(ast::LiteralKind::Ip, r);
    lit->ip.v6 = v6;
    std::string host = spelled;
    auto slash = spelled.find('/');
    if (slash != std::string::npos) {
      host = spelled.substr(0, slash);
      std::string bits = spelled.substr(slash + 1);
      int prefix = -1;
      auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      int maxBits = v6 ? 128 : 32;
      if (ec != std::errc() || prefix > maxBits) {
        diags_
            .error("bad-address", r,
                   fmt::format("prefix length /{} is out of range for an IPv{} network", bits,
                               v6 ? 6 : 4))
            .withHint(fmt::format("use /0 to /{}", maxBits));
        prefix = maxBits;
      }
      lit->ip.prefix = prefix;
    }
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), lit->ip.bytes.data()) != 1) {
      diags_.error("bad-address", r,
                   fmt::format("'{}' is not a valid IPv{} address", host, v6 ? 6 : 4));
      return lit;
    }
    if (lit->ip.prefix >= 0 && hasHostBits(lit->ip)) {
      ast::IpValue network = lit->ip;
      clearHostBits(network);
      diags_
          .warning("host-bits", r,
                   fmt::format("network {} has host bits set; it means {}", spelled, network.str()))
          .withHint(fmt::format("write {}", network.str()));
      lit->ip = network;
    }
    return lit;
  }

  static bool hasHostBits(const ast::IpValue &ip) {
    ast::IpValue copy = ip;
    clearHostBits(copy);
    return copy.bytes != ip.bytes;
  }

  static void clearHostBits(ast::IpValue &ip) {
    int total = ip.v6 ? 128 : 32;
    for (int bit = ip.prefix; bit < total; ++bit)
      ip.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }

  // Decodes a "..." literal; reports each bad escape at its own position.
  std::string decodeString(Token *token) {
    std::string spelled = token->getText();
    SourceRange whole = range(token);
    if (spelled.size() < 2)
      return {};
    std::string out;
    for (size_t i = 1; i + 1 < spelled.size(); ++i) {
      char c = spelled[i];
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = spelled[++i];
      SourceRange at{file_, whole.begin + static_cast<uint32_t>(i - 1),
                     whole.begin + static_cast<uint32_t>(i + 1)};
      switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '0':
        out += '\0';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x': {
        unsigned value = 0;
        auto [end, ec] =
            std::from_chars(spelled.data() + i + 1,
                            spelled.data() + std::min(i + 3, spelled.size() - 1), value, 16);
        if (ec != std::errc() || end != spelled.data() + i + 3) {
          at.end = whole.begin + static_cast<uint32_t>(std::min(i + 3, spelled.size() - 1));
          diags_.error("bad-escape", at, "\\x needs exactly two hex digits");
          break;
        }
        out += static_cast<char>(value);
        i += 2;
        break;
      }
      default: {
        // The escaped character may be a multi-byte code point: cover all of it.
        size_t width = 1;
        while (i + width < spelled.size() &&
               (static_cast<unsigned char>(spelled[i + width]) & 0xC0) == 0x80)
          ++width;
        at.end = whole.begin + static_cast<uint32_t>(i + width);
        diags_
            .error("bad-escape", at,
                   fmt::format("unknown escape sequence '\\{}'", spelled.substr(i, width)))
            .withHint("escapes are \\n \\t \\r \\0 \\\\ \\\" and \\xHH; for regexes use r\"...\"");
        i += width - 1;
      }
      }
    }
    return out;
  }

  DiagnosticEngine &diags_;
  FileId file_;
  const syntax::Utf8Index &index_;
  int depth_ = 0;
  bool reportedDepth_ = false;
};

} // namespace

std::unique_ptr<ast::Module> parseModule(const SourceManager &sources, FileId file,
                                         DiagnosticEngine &diags) {
  std::unique_ptr<syntax::SyntaxTree> tree = syntax::parseSyntax(sources, file, diags);
  if (!tree) {
    auto empty = std::make_unique<ast::Module>();
    empty->file = file;
    return empty;
  }
  AstBuilder builder(diags, file, tree->index);
  return builder.program(tree->program);
}

} // namespace route
