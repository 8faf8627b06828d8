// What a compiled policy needs at run time besides its machine code, as plain data: the
// phases its code defines, its upstreams' settings, and the tables the code refers to
// (regexes, ACLs, map and prefix indexes), each by the data it is built from. The JIT
// makes one from a checked program; an artifact carries it encoded, so that the proxy links
// the artifact's code without parsing or checking its sources.
#pragma once

#include "ast/AST.h"
#include "schema/Schema.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace route::image {

// One host object the code names by its position (jit::objectSymbol), by what builds it.
struct Table {
  enum class Kind : uint8_t { Regex, RegexSet, Acl, Map, Prefixes };
  Kind kind = Kind::Regex;
  // Regex: {pattern, 0}; RegexSet: {pattern, its index}; Map: {string key, position};
  // Prefixes: {prefix, rule}; Acl: {an address's 16 bytes and its v6 flag, prefix length}.
  std::vector<std::pair<std::string, int64_t>> texts;
  std::vector<std::pair<int64_t, int64_t>> numbers; // Map: {int key, position}
};

struct Upstream {
  std::string name;
  ast::UpstreamConfig config; // its balanceKey is null: `keyed` says whether it has one
  bool keyed = false;         // hashes on a key, which the code computes
};

// A rule the code counts (route_rule_hit), by number: where it is in the sources.
struct Rule {
  SourceRange range;
  std::string action; // Program::Rule's
};

struct PolicyImage {
  std::vector<schema::Phase> phases; // the phases the policy handles
  std::vector<Upstream> upstreams;   // by index, as decisions name them
  std::vector<Table> tables;         // by object index
  std::vector<Rule> rules;           // by number
};

// The upstreams of a checked program, by index.
std::vector<Upstream> upstreamsOf(const std::vector<const ast::UpstreamDecl *> &upstreams);

std::string encode(const PolicyImage &image);
// Nothing, with `error` set, when `bytes` are not an encoded image.
std::optional<PolicyImage> decode(std::string_view bytes, std::string &error);

} // namespace route::image
