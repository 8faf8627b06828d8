#include "http1/Parser.h"

#include "exchange/WireSyntax.h"

#include <llhttp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace turnout::http1 {

namespace {

// Header field vectors between messages, shared by a thread's parsers: a connection waiting
// for its next request holds none (each has room for 16 fields: 1 KiB), and a message
// takes one without allocating.
class SpareFields {
public:
  Fields take() {
    if (spare_.empty()) {
      Fields fields;
      fields.reserve(16); // room for most heads at once, not one reallocation per doubling
      return fields;
    }
    Fields fields = std::move(spare_.back());
    spare_.pop_back();
    return fields;
  }
  void give(Fields fields) {
    if (fields.capacity() == 0 || spare_.size() >= kMaxSpare)
      return;
    fields.clear();
    spare_.push_back(std::move(fields));
  }

private:
  static constexpr size_t kMaxSpare = 256;
  std::vector<Fields> spare_;
};
thread_local SpareFields spareFields;
// Letters, digits and the given punctuation, for checking a field's characters; built at
// compile time, so that a lookup is one load.
class CharSet {
public:
  constexpr explicit CharSet(std::string_view punctuation) {
    for (char c : punctuation)
      members_[static_cast<unsigned char>(c)] = true;
    for (int c = 0; c < 256; ++c)
      members_[c] =
          members_[c] || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  constexpr bool has(char c) const { return members_[static_cast<unsigned char>(c)]; }

private:
  std::array<bool, 256> members_{};
};

constexpr CharSet kAuthorityChars("-._~:[]%!$&'()*+,;=");
} // namespace

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c + ('a' - 'A'));
  return out;
}

std::string hostOf(std::string_view authority) {
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return lowercase(host);
}

bool validAuthority(std::string_view authority) {
  return std::all_of(authority.begin(), authority.end(),
                     [](char c) { return kAuthorityChars.has(c); });
}

struct Parser::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;
  Parser *owner;
};

// llhttp's callbacks, with access to the parser's state.
struct Callbacks {
  static Parser &of(llhttp_t *p) { return *static_cast<Parser::Impl *>(p->data)->owner; }

  static int fail(Parser &self, int status, std::string reason) {
    self.errorStatus_ = status;
    self.errorReason_ = std::move(reason);
    return HPE_USER;
  }

  // Counts head bytes against the limits as they arrive, so that a huge head is refused
  // before it is held.
  static int count(Parser &self, size_t length) {
    self.headBytes_ += length;
    if (self.headBytes_ > self.limits_.maxHeaderBytes)
      return fail(self, 431, "request header fields too large");
    return 0;
  }

  static int onMessageBegin(llhttp_t *p) {
    of(p).started_ = true;
    return 0;
  }

  static int onUrl(llhttp_t *p, const char *at, size_t length) {
    Parser &self = of(p);
    self.head_.target.append(at, length);
    if (self.head_.target.size() > self.limits_.maxRequestLine)
      return fail(self, 414, "request target too long");
    return 0;
  }

  static int onMethod(llhttp_t *p, const char *at, size_t length) {
    of(p).head_.method.append(at, length);
    return 0;
  }

  static int onHeaderField(llhttp_t *p, const char *at, size_t length) {
    Parser &self = of(p);
    Fields &fields = self.headComplete_ ? self.trailers_ : self.head_.fields;
    if (self.inValue_ || fields.empty()) {
      if (fields.size() >= self.limits_.maxHeaderCount)
        return fail(self, 431, "too many header fields");
      if (fields.capacity() == 0)
        fields = spareFields.take();
      fields.emplace_back();
      self.inValue_ = false;
    }
    fields.back().first.append(at, length);
    return count(self, length);
  }

  static int onHeaderValue(llhttp_t *p, const char *at, size_t length) {
    Parser &self = of(p);
    Fields &fields = self.headComplete_ ? self.trailers_ : self.head_.fields;
    self.inValue_ = true;
    // llhttp lets an obs-fold (a line starting with a space) continue a value, as one
    // more piece of it: a piece that follows one that did not end at the end of the
    // input. RFC 9112 5.2 lets a proxy refuse folding, and a value that spans lines is
    // how smuggling starts.
    if (self.valuePiece_ == Parser::ValuePiece::EndedInside || std::memchr(at, '\r', length) ||
        std::memchr(at, '\n', length))
      return fail(self, 400, "obsolete line folding in a header field");
    self.valuePiece_ = at + length == self.inputEnd_ ? Parser::ValuePiece::EndedAtInputEnd
                                                     : Parser::ValuePiece::EndedInside;
    fields.back().second.append(at, length);
    return count(self, length);
  }

  // A field with an empty value gets no on_header_value: the next name must not be
  // appended to this one. The name must be a token (RFC 9110 5.1): llhttp lets a space
  // through, which upstreams read in different ways.
  static int onHeaderValueComplete(llhttp_t *p) {
    of(p).valuePiece_ = Parser::ValuePiece::None;
    return 0;
  }

  static int onHeaderFieldComplete(llhttp_t *p) {
    Parser &self = of(p);
    self.inValue_ = true;
    const Fields &fields = self.headComplete_ ? self.trailers_ : self.head_.fields;
    const std::string &name = fields.back().first;
    if (!route::wire::isToken(name))
      return fail(self, 400, "invalid header field name");
    return 0;
  }

  static int onHeadersComplete(llhttp_t *p) {
    Parser &self = of(p);
    self.headComplete_ = true;
    self.inValue_ = false;
    self.head_.versionMajor = p->http_major;
    self.head_.versionMinor = p->http_minor;
    self.head_.status = p->status_code;
    self.contentLength_ = (p->flags & F_CONTENT_LENGTH) ? p->content_length : 0;
    // RFC 9112 6.3: a request whose last transfer coding is not chunked has no knowable
    // length.
    if (p->type == HTTP_REQUEST && (p->flags & F_TRANSFER_ENCODING) && !(p->flags & F_CHUNKED))
      return fail(self, 400, "a request's transfer coding must end with chunked");
    // Stop before a body, so that the caller chooses where it goes. A message without
    // one (whatever Content-Length a HEAD, 204 or 304 response states) ends here, and
    // on_message_complete stops the parser.
    return self.hasBody() ? HPE_PAUSED : 1;
  }

  // Chunk extensions count against the head's limit with the trailers: nobody needs them,
  // and a body of endless extensions would otherwise be read without bound.
  static int onChunkExtension(llhttp_t *p, const char *, size_t length) {
    return count(of(p), length);
  }

  static int onBody(llhttp_t *p, const char *at, size_t length) {
    of(p).body_.append(at, length);
    return 0;
  }

  static int onMessageComplete(llhttp_t *p) {
    Parser &self = of(p);
    self.messageComplete_ = true;
    // Upgrade (with Connection: upgrade), CONNECT, or any 101: what follows is not HTTP.
    self.switched_ = p->upgrade || (p->type == HTTP_RESPONSE && p->status_code == 101);
    return HPE_PAUSED;
  }
};

Parser::Parser(Kind kind, HeadLimits limits) : impl_(std::make_unique<Impl>()), limits_(limits) {
  llhttp_settings_init(&impl_->settings);
  impl_->settings.on_message_begin = Callbacks::onMessageBegin;
  impl_->settings.on_url = Callbacks::onUrl;
  impl_->settings.on_method = Callbacks::onMethod;
  impl_->settings.on_header_field = Callbacks::onHeaderField;
  impl_->settings.on_header_value = Callbacks::onHeaderValue;
  impl_->settings.on_header_field_complete = Callbacks::onHeaderFieldComplete;
  impl_->settings.on_header_value_complete = Callbacks::onHeaderValueComplete;
  impl_->settings.on_headers_complete = Callbacks::onHeadersComplete;
  impl_->settings.on_chunk_extension_name = Callbacks::onChunkExtension;
  impl_->settings.on_chunk_extension_value = Callbacks::onChunkExtension;
  impl_->settings.on_body = Callbacks::onBody;
  impl_->settings.on_message_complete = Callbacks::onMessageComplete;
  llhttp_init(&impl_->parser, kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              &impl_->settings);
  impl_->parser.data = impl_.get();
  impl_->owner = this;
}

Parser::~Parser() = default;

size_t Parser::feed(const char *data, size_t size) {
  if (failed() || messageComplete_ || size == 0)
    return 0;
  inputEnd_ = data + size;
  llhttp_errno_t err = llhttp_execute(&impl_->parser, data, size);
  if (err == HPE_OK)
    return size;
  size_t taken = static_cast<size_t>(llhttp_get_error_pos(&impl_->parser) - data);
  if (err == HPE_PAUSED) {
    llhttp_resume(&impl_->parser);
    return taken;
  }
  if (err == HPE_PAUSED_UPGRADE) {
    // CONNECT or Upgrade: the message itself is complete; what follows is not HTTP, and
    // the proxy does not tunnel, so the connection ends after the answer.
    messageComplete_ = true;
    switched_ = true;
    return taken;
  }
  if (errorStatus_ == 0) {
    errorStatus_ = impl_->parser.type == HTTP_REQUEST ? 400 : 502;
    errorReason_ =
        std::string(llhttp_errno_name(err)) + ": " + llhttp_get_error_reason(&impl_->parser);
  }
  return taken;
}

void Parser::finish() {
  if (failed() || messageComplete_)
    return;
  llhttp_errno_t err = llhttp_finish(&impl_->parser);
  if (err == HPE_OK || err == HPE_PAUSED) {
    if (headComplete_ && bodyUntilClose())
      messageComplete_ = true;
    else if (started_ && !messageComplete_) {
      errorStatus_ = impl_->parser.type == HTTP_REQUEST ? 400 : 502;
      errorReason_ = "connection closed before the message ended";
    }
    return;
  }
  errorStatus_ = impl_->parser.type == HTTP_REQUEST ? 400 : 502;
  errorReason_ = "connection closed before the message ended";
}

void Parser::next() {
  // After a switch of protocols, whatever follows is not HTTP: the connection carries no
  // other message, and a parser that went on would take no byte of it.
  if (switched_ && errorStatus_ == 0) {
    errorStatus_ = impl_->parser.type == HTTP_REQUEST ? 400 : 502;
    errorReason_ = "the connection switched protocols";
  }
  spareFields.give(std::move(head_.fields));
  head_ = Head{};
  body_.clear();
  trailers_.clear();
  contentLength_ = 0;
  headBytes_ = 0;
  started_ = headComplete_ = messageComplete_ = noBody_ = inValue_ = false;
  valuePiece_ = ValuePiece::None;
  if (failed())
    return; // a connection whose parser failed carries nothing more
  llhttp_resume(&impl_->parser);
}

void Parser::recycle(Fields fields) {
  spareFields.give(std::move(fields));
}

void Parser::reset() {
  switched_ = false;
  errorStatus_ = 0;
  errorReason_.clear();
  llhttp_reset(&impl_->parser);
  next();
}

bool Parser::chunked() const {
  return impl_->parser.flags & F_CHUNKED;
}
bool Parser::hasContentLength() const {
  return impl_->parser.flags & F_CONTENT_LENGTH;
}

bool Parser::bodyUntilClose() const {
  return impl_->parser.type == HTTP_RESPONSE && !noBody_ && !chunked() && !hasContentLength() &&
         head_.status >= 200 && head_.status != 204 && head_.status != 304;
}

bool Parser::hasBody() const {
  if (noBody_)
    return false;
  if (impl_->parser.type == HTTP_RESPONSE &&
      (head_.status < 200 || head_.status == 204 || head_.status == 304))
    return false;
  return chunked() || contentLength_ > 0 || bodyUntilClose();
}

bool Parser::keepAlive() const {
  return !failed() && llhttp_should_keep_alive(&impl_->parser);
}
bool Parser::upgrade() const {
  return impl_->parser.upgrade;
}

namespace {
// Calls `visit` with each item of a comma-separated list, spaces trimmed, until it returns
// true; whether it did.
template <typename Visit> bool forEachListItem(std::string_view list, Visit visit) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (visit(item))
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Whether the comma-separated list `list` holds `token`, ignoring case and spaces.
bool listHas(std::string_view list, std::string_view token) {
  return forEachListItem(list,
                         [&](std::string_view item) { return route::sameFieldName(item, token); });
}
} // namespace

HopByHop::HopByHop(const Fields &fields) : fields_(fields) {
  // Connection: close and keep-alive, the usual values, name no field to drop.
  for (const auto &[name, value] : fields)
    if (route::sameFieldName(name, "connection"))
      forEachListItem(value, [&](std::string_view item) {
        connection_ = connection_ || !(route::sameFieldName(item, "close") ||
                                       route::sameFieldName(item, "keep-alive"));
        return false;
      });
}

bool HopByHop::operator()(std::string_view name) const {
  // The fixed names, told apart by length first: this runs for every field forwarded.
  switch (name.size()) {
  case 2:
    if (route::sameFieldName(name, "te"))
      return true;
    break;
  case 7:
    if (route::sameFieldName(name, "trailer") || route::sameFieldName(name, "upgrade"))
      return true;
    break;
  case 10:
    if (route::sameFieldName(name, "connection") || route::sameFieldName(name, "keep-alive"))
      return true;
    break;
  case 17:
    if (route::sameFieldName(name, "transfer-encoding"))
      return true;
    break;
  default:
    break;
  }
  if (name.size() > 6 && route::sameFieldName(name.substr(0, 6), "proxy-"))
    return true;
  if (connection_)
    for (const auto &[n, v] : fields_)
      if (route::sameFieldName(n, "connection") && listHas(v, name))
        return true;
  return false;
}

} // namespace turnout::http1
