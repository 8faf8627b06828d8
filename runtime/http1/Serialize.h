// Writing HTTP/1.1 message heads and chunked framing into a buffer.
#pragma once

#include "http1/Parser.h"

#include <string>
#include <string_view>

namespace turnout::http1 {

std::string_view reasonPhrase(int status);

// "METHOD path?query HTTP/1.1" (no "?" when the query is empty).
void appendRequestLine(std::string &out, std::string_view method, std::string_view path,
                       std::string_view query);
void appendStatusLine(std::string &out, int status);
void appendField(std::string &out, std::string_view name, std::string_view value);
void appendFieldsEnd(std::string &out);
// The bytes `fields` take in a head, for reserving room before appending them.
size_t fieldsSize(const Fields &fields);

// One chunk of a chunked body; an empty `data` writes nothing (the last chunk is separate).
void appendChunk(std::string &out, std::string_view data);
void appendLastChunk(std::string &out, const Fields &trailers);

// A complete response of the proxy's own (an error, a policy's respond or redirect):
// `fields` less hop-by-hop ones and Content-Length, a plain-text Content-Type when they
// name none and there is a body, the body's Content-Length, Connection: close when
// `close`, then the body. 1xx, 204 and 304 carry neither; an answer to HEAD states the
// length and leaves the body out.
std::string localResponse(int status, std::string_view body, bool close, const Fields &fields = {},
                          bool toHead = false);

} // namespace turnout::http1
