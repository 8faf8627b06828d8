// What routec's subcommands share: loading one policy, and describing what it did.
#pragma once

#include "driver/Compilation.h"
#include "exchange/Exchange.h"

#include <string>

namespace routec {

// Loads and checks the policy in `path` (a source, or the sources an artifact carries) for a
// command that needs it whole, printing its diagnostics. Returns null when it cannot be used, with
// the exit code in `exitCode`.
route::LoadedPolicy *loadPolicy(route::Compilation &compilation, const std::string &path,
                                int &exitCode);

// An IPv4 or IPv6 address, without brackets.
bool isAddress(const std::string &text);

// The TLS connection of a simulated https:// request, before the options or test steps that
// change it: what curl and turnout settle with no options (TLS 1.3, the request's host as SNI
// unless it is an address, ALPN http/1.1, a full handshake, no client certificate).
route::TlsFacts simulatedTls(const route::HttpRequest &request);

// "route web", "respond 403", "redirect 301 to https://...", "no route (404)".
std::string describeDecision(const route::Exchange &exchange, const route::Program &program);
// "policy.route:12:5" and the first line of the source the range covers.
std::string describeSource(const route::SourceManager &sources, route::SourceRange range);

} // namespace routec
