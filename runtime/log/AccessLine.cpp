#include "log/AccessLine.h"

#include "exchange/Exchange.h"
#include "policy/Policy.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <ctime>

namespace turnout::log {

namespace {

// What a client or a policy wrote, as a text line's field: bytes outside printable ASCII,
// and the quote and backslash, as \xHH (nginx's escape=default).
void appendEscaped(std::string &out, std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\')
      fmt::format_to(std::back_inserter(out), "\\x{:02X}", u);
    else
      out += c;
  }
}

// The length of the UTF-8 sequence at `text`, or 0 when it is not a well-formed one.
size_t utf8Length(std::string_view text) {
  auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char first = at(0);
  size_t length = first >= 0xF0 && first <= 0xF4 ? 4 : first >= 0xE0 ? 3 : first >= 0xC2 ? 2 : 0;
  if (length == 0 || length > text.size())
    return 0;
  for (size_t i = 1; i < length; ++i)
    if ((at(i) & 0xC0) != 0x80)
      return 0;
  if ((first == 0xE0 && at(1) < 0xA0) || (first == 0xED && at(1) > 0x9F) ||
      (first == 0xF0 && at(1) < 0x90) || (first == 0xF4 && at(1) > 0x8F))
    return 0; // overlong, a surrogate, or past U+10FFFF
  return length;
}

// "2026-12-05T08:40:01.123Z": the second's part made once a second per thread.
void appendTime(std::string &out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto seconds = time_point_cast<std::chrono::seconds>(now);
  thread_local sys_seconds cachedAt{};
  thread_local char cached[32] = {};
  if (seconds != cachedAt) {
    std::time_t t = system_clock::to_time_t(now);
    std::tm utc;
    ::gmtime_r(&t, &utc);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cachedAt = seconds;
  }
  auto ms = duration_cast<milliseconds>(now - seconds).count();
  fmt::format_to(std::back_inserter(out), "\"{}.{:03}Z\"", cached, ms);
}

// The rule whose statement made the exchange's answer: the error phase's, when it made one.
const Policy::Rule *decidingRule(const route::Exchange &x, const Policy *policy) {
  uint32_t rule = x.decision.rule;
  if (!x.errorDecisions.empty() && x.errorDecisions.back().kind != route::Decision::Kind::None)
    rule = x.errorDecisions.back().rule;
  if (!policy || rule >= policy->rules().size())
    return nullptr;
  return &policy->rules()[rule];
}

void appendMilliseconds(std::string &out, int64_t ns) {
  if (ns < 0)
    out += "null";
  else
    fmt::format_to(std::back_inserter(out), "{:.3f}", static_cast<double>(ns) / 1e6);
}

void appendStringOrNull(std::string &out, std::string_view text) {
  if (text.empty())
    out += "null";
  else
    appendJsonString(out, text);
}

} // namespace

std::vector<AccessField> allAccessFields() {
  std::vector<AccessField> all;
  for (size_t i = 0; i < kAccessFieldNames.size(); ++i)
    all.push_back(static_cast<AccessField>(i));
  return all;
}

void appendJsonString(std::string &out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x80) {
      size_t length = utf8Length(text.substr(i));
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    if (u == '"' || u == '\\') {
      out += '\\';
      out += static_cast<char>(u);
    } else if (u < 0x20 || u == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out += static_cast<char>(u);
    }
    ++i;
  }
  out += '"';
}

void appendText(std::string &out, const AccessRecord &record) {
  const route::Exchange &x = record.exchange;
  out += x.clientIp;
  out += " \"";
  appendEscaped(out, x.request.method);
  out += ' ';
  appendEscaped(out, record.target);
  fmt::format_to(std::back_inserter(out), " {}\" {} {} {} {} {:.3f}", x.request.version,
                 x.response.status, x.responseBytes, x.requestId,
                 x.upstreamPeer.empty() ? "-" : x.upstreamPeer,
                 static_cast<double>(x.durationNs) / 1e6);
  if (!x.traceId.empty())
    fmt::format_to(std::back_inserter(out), " trace={}", x.traceId);
  for (const auto &[key, value] : x.logFields.fields()) {
    out += ' ';
    appendEscaped(out, key);
    out += "=\"";
    appendEscaped(out, value);
    out += '"';
  }
  if (!record.relayIp.empty())
    fmt::format_to(std::back_inserter(out), " via {}", record.relayIp);
  if (x.grpcStatus >= 0)
    fmt::format_to(std::back_inserter(out), " grpc-status={}", x.grpcStatus);
  out += '\n';
}

void appendJson(std::string &out, const AccessRecord &record,
                const std::vector<AccessField> &fields) {
  const route::Exchange &x = record.exchange;
  out += '{';
  bool first = true;
  for (AccessField field : fields) {
    if (!first)
      out += ',';
    first = false;
    out += '"';
    out += name(field);
    out += "\":";
    switch (field) {
    case AccessField::Time:
      appendTime(out);
      break;
    case AccessField::RequestId:
      appendJsonString(out, x.requestId);
      break;
    case AccessField::ClientIp:
      appendJsonString(out, x.clientIp);
      break;
    case AccessField::ClientPort:
      fmt::format_to(std::back_inserter(out), "{}", x.clientPort);
      break;
    case AccessField::RemoteIp:
      appendJsonString(out, record.relayIp.empty() ? std::string_view(x.clientIp) : record.relayIp);
      break;
    case AccessField::Protocol:
      appendJsonString(out, x.request.version);
      break;
    case AccessField::TlsVersion:
      appendStringOrNull(out, x.tls ? std::string_view(x.tls->version) : "");
      break;
    case AccessField::Sni:
      appendStringOrNull(out, x.tls ? std::string_view(x.tls->sni) : "");
      break;
    case AccessField::Method:
      appendJsonString(out, x.request.method);
      break;
    case AccessField::Host:
      appendJsonString(out, x.request.host);
      break;
    case AccessField::Path:
      appendJsonString(out, x.request.path);
      break;
    case AccessField::Query:
      appendJsonString(out, x.request.query);
      break;
    case AccessField::Status:
      fmt::format_to(std::back_inserter(out), "{}", x.response.status);
      break;
    case AccessField::BytesIn:
      fmt::format_to(std::back_inserter(out), "{}", x.requestBytes);
      break;
    case AccessField::BytesOut:
      fmt::format_to(std::back_inserter(out), "{}", x.responseBytes);
      break;
    case AccessField::DurationMs:
      appendMilliseconds(out, x.durationNs);
      break;
    case AccessField::Upstream:
      appendStringOrNull(out, x.upstreamName);
      break;
    case AccessField::Peer:
      appendStringOrNull(out, x.upstreamPeer);
      break;
    case AccessField::Attempts:
      fmt::format_to(std::back_inserter(out), "{}", x.upstreamAttempt);
      break;
    case AccessField::UpstreamFirstByteMs:
      appendMilliseconds(out, x.upstreamFirstByteNs);
      break;
    case AccessField::PolicyVersion:
      appendStringOrNull(out, record.policy ? std::string_view(record.policy->id()) : "");
      break;
    case AccessField::Rule:
      if (const Policy::Rule *rule = decidingRule(x, record.policy)) {
        const route::SourceManager *sources = record.policy->sources();
        std::string place = fmt::format(
            "{}:{}", sources && rule->file < sources->fileCount() ? sources->path(rule->file) : "",
            rule->line);
        appendJsonString(out, place);
      } else {
        out += "null";
      }
      break;
    case AccessField::Error:
      appendStringOrNull(out, x.errorKind);
      break;
    case AccessField::TraceId:
      appendStringOrNull(out, x.traceId);
      break;
    case AccessField::GrpcStatus:
      if (x.grpcStatus >= 0)
        fmt::format_to(std::back_inserter(out), "{}", x.grpcStatus);
      else
        out += "null";
      break;
    }
  }
  for (const auto &[key, value] : x.logFields.fields()) {
    if (!first)
      out += ',';
    first = false;
    // A key of the line's own fields is the policy's under "log.": a line never has a key
    // twice.
    appendJsonString(out, accessField(key) ? "log." + key : key);
    out += ':';
    appendJsonString(out, value);
  }
  out += "}\n";
}

} // namespace turnout::log
