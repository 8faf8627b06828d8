// The checker: names, types, phase rules and lints over the modules of one policy.
#pragma once

#include "ast/AST.h"
#include "diagnostics/Diagnostics.h"

#include <array>
#include <memory>
#include <string_view>
#include <vector>

namespace route {

// One policy: its root file and every file it imports, parsed.
struct Program {
  FileId root = kNoFile;
  // Every module of the policy, the root first; imported files follow in load order.
  std::vector<ast::Module *> modules;
  // The files each file imports directly, by FileId.
  std::vector<std::vector<FileId>> imports;
  TypeContext types;

  // Filled by the checker.
  std::array<const ast::PhaseDecl *, schema::kPhaseCount> phases{};
  std::vector<const ast::UpstreamDecl *> upstreams;
  std::vector<const ast::TestDecl *> tests;
  // The rules (ast::kNoRule), by number: where each is and what it does.
  struct Rule {
    SourceRange range;
    std::string_view action; // "if", "set", "delete", "respond", "redirect", "route", "retry"
  };
  std::vector<Rule> rules;
};

// Checks a parsed program, annotating its AST. Returns true when no error was reported.
bool check(Program &program, DiagnosticEngine &diags);

// Whether every path through a checked block ends the phase (respond, redirect, route,
// retry, return).
bool alwaysEnds(const ast::Block &block);

} // namespace route
