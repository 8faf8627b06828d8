// A message body as it leaves over HTTP/2, a piece at a time: a coroutine lends a piece
// (bytes it keeps alive) and waits until nghttp2 has copied it into DATA frames, which it
// does as the peer's window lets it; the last piece ends the stream, or its trailers do.
// Requests upstream and responses downstream go out this way.
#pragma once

#include "io/Io.h"

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turnout::http2 {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// A field as nghttp2 takes it (it copies name and value).
inline nghttp2_nv fieldOf(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t *>(const_cast<char *>(name.data())),
          reinterpret_cast<uint8_t *>(const_cast<char *>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

inline std::vector<nghttp2_nv> fieldsOf(const FieldList &fields) {
  std::vector<nghttp2_nv> list;
  list.reserve(fields.size());
  for (const auto &[name, value] : fields)
    list.push_back(fieldOf(name, value));
  return list;
}

class OutgoingBody {
public:
  explicit OutgoingBody(Signal &copied) : copied_(copied) {}

  // The data provider of a stream whose body this is.
  nghttp2_data_provider provider() {
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &OutgoingBody::read;
    return provider;
  }
  // Lends `bytes`; `last` ends the body, with `trailers` (lowercase names) if any.
  void lend(nghttp2_session *session, int32_t id, std::string_view bytes, bool last,
            FieldList trailers = {}) {
    lent_ = bytes;
    last_ = last;
    trailers_ = std::move(trailers);
    if (deferred_) {
      deferred_ = false;
      nghttp2_session_resume_data(session, id);
    }
  }
  // Whether nghttp2 has yet to copy some of the piece lent.
  bool lent() const { return !lent_.empty(); }
  // Whether nghttp2 has taken the whole body, its end included: the stream may close at
  // once, which is then no failure.
  bool whole() const { return whole_; }
  // The piece is taken back (its lender gave up): nothing more goes, and the body does not
  // end as if it were whole.
  void withdraw() {
    lent_ = {};
    last_ = false;
  }

private:
  static ssize_t read(nghttp2_session *session, int32_t id, uint8_t *buffer, size_t length,
                      uint32_t *flags, nghttp2_data_source *source, void *) {
    auto &body = *static_cast<OutgoingBody *>(source->ptr);
    size_t n = std::min(length, body.lent_.size());
    if (n > 0)
      std::memcpy(buffer, body.lent_.data(), n);
    body.lent_.remove_prefix(n);
    if (!body.lent_.empty())
      return static_cast<ssize_t>(n);
    body.copied_.notify(); // the piece is nghttp2's now
    if (body.last_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      body.whole_ = true;
      if (!body.trailers_.empty()) {
        std::vector<nghttp2_nv> list = fieldsOf(body.trailers_);
        if (nghttp2_submit_trailer(session, id, list.data(), list.size()) == 0)
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      body.deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }

  Signal &copied_;
  std::string_view lent_;
  bool last_ = false, deferred_ = false, whole_ = false;
  FieldList trailers_;
};

} // namespace turnout::http2
