// An access log line: text (the default: client, quoted request line, status, bytes,
// request id, peer, milliseconds, then key=value extras) or a JSON object with the fields
// `log.access_fields` names, and the `log` phase's log.field entries after them. Whatever
// bytes a client, an upstream or a policy chose are escaped: a value never ends its field
// or its line.
#pragma once

#include "log/AccessFields.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace route {
class Exchange;
}

namespace turnout {
class Policy;
}

namespace turnout::log {

// Every field, in the order a line has them by default.
std::vector<AccessField> allAccessFields();

// What a line says beside the exchange.
struct AccessRecord {
  const route::Exchange &exchange;
  std::string_view target;        // as the request named it
  std::string_view relayIp;       // the immediate peer, when a PROXY header named the client
  const Policy *policy = nullptr; // the version that served it
};

void appendText(std::string &out, const AccessRecord &record);
void appendJson(std::string &out, const AccessRecord &record,
                const std::vector<AccessField> &fields);
// `text` as a JSON string, quotes included: control characters, quote and backslash
// escaped, and bytes that are not UTF-8 as U+FFFD.
void appendJsonString(std::string &out, std::string_view text);

} // namespace turnout::log
