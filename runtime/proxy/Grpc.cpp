#include "proxy/Grpc.h"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>

namespace turnout::proxy {

namespace {

constexpr char kEndOfMessages = static_cast<char>(0x80); // the trailers frame's flag

bool isBase64(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

// One quantum of four characters, padded or not: false when it is not base64 (OpenSSL's
// decoder lets a misplaced '=' pass).
bool decodeQuantum(std::string_view q, std::string &out) {
  if (!isBase64(q[0]) || !isBase64(q[1]) || !(isBase64(q[2]) || q[2] == '=') ||
      !(isBase64(q[3]) || q[3] == '=') || (q[2] == '=' && q[3] != '='))
    return false;
  unsigned char bytes[3];
  if (EVP_DecodeBlock(bytes, reinterpret_cast<const unsigned char *>(q.data()), 4) != 3)
    return false;
  size_t padding = q[3] == '=' ? (q[2] == '=' ? 2 : 1) : 0;
  out.append(reinterpret_cast<const char *>(bytes), 3 - padding);
  return true;
}

} // namespace

int64_t grpcStatusIn(const route::HeaderFields &fields) {
  for (const auto &[name, value] : fields)
    if (route::sameFieldName(name, "grpc-status")) {
      int64_t status = 0;
      auto [end, failed] = std::from_chars(value.data(), value.data() + value.size(), status);
      return failed == std::errc() && end == value.data() + value.size() ? status : -1;
    }
  return -1;
}

void answerAsCall(route::Exchange &x) {
  namespace grpc = route::grpc;
  int64_t own = grpcStatusIn(x.response.headers().fields());
  if (own >= 0) {
    x.grpcStatus = own;
    return;
  }
  grpc::Status status = grpc::statusOfHttp(x.response.status);
  std::string_view message = x.response.body;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
    message.remove_suffix(1);
  route::EditedHeaders &fields = x.response.changeHeaders();
  fields.set("content-type", x.grpc == grpc::Wire::Grpc      ? "application/grpc"
                             : x.grpc == grpc::Wire::WebText ? "application/grpc-web-text+proto"
                                                             : "application/grpc-web+proto");
  fields.set("grpc-status", std::to_string(status));
  if (!message.empty())
    fields.set("grpc-message", grpc::encodeMessage(message));
  x.response.status = 200;
  x.response.body.clear();
  x.grpcStatus = status;
}

std::string GrpcWebCall::responseType(std::string_view grpc) const {
  // "application/grpc" + its suffix ("+proto"), as the web form of the request.
  constexpr std::string_view kGrpc = "application/grpc";
  std::string_view suffix = grpc.size() > kGrpc.size() ? grpc.substr(kGrpc.size()) : "";
  if (suffix.empty() || suffix.front() != '+')
    suffix = "+proto";
  return std::string(text_ ? "application/grpc-web-text" : "application/grpc-web") +
         std::string(suffix);
}

bool GrpcWebCall::decodeRequest(std::string &piece, bool last) {
  if (!text_)
    return true;
  std::string decoded;
  decoded.reserve((quantum_.size() + piece.size()) / 4 * 3 + 3);
  for (char c : piece) {
    if (std::isspace(static_cast<unsigned char>(c)))
      continue;
    quantum_ += c;
    if (quantum_.size() == 4) {
      if (!decodeQuantum(quantum_, decoded))
        return false;
      quantum_.clear();
    }
  }
  piece.swap(decoded);
  return !last || quantum_.empty();
}

void GrpcWebCall::encode(std::string_view bytes, bool last, std::string &out) {
  if (!text_) {
    out.append(bytes);
    return;
  }
  // Whole groups of three now; the rest waits for the next piece, or is padded at the end.
  std::string whole = std::move(pending_);
  pending_.clear();
  whole.append(bytes);
  size_t take = last ? whole.size() : whole.size() / 3 * 3;
  pending_.assign(whole, take, std::string::npos);
  if (take == 0)
    return;
  size_t start = out.size();
  out.resize(start + (take + 2) / 3 * 4);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data() + start),
                          reinterpret_cast<const unsigned char *>(whole.data()),
                          static_cast<int>(take));
  out.resize(start + static_cast<size_t>(n));
}

void GrpcWebCall::encodeResponse(std::string_view piece, bool last,
                                 const route::HeaderFields &trailers, std::string &out) {
  if (!last) {
    encode(piece, false, out);
    return;
  }
  // The messages end here: what is left of them, padded, then the trailers' frame, encoded
  // on its own (gRPC-Web clients decode padded chunks one after another).
  encode(piece, true, out);
  std::string lines;
  for (const auto &[name, value] : trailers) {
    for (char c : name)
      lines += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lines.append(":").append(value).append("\r\n");
  }
  std::string frame;
  frame += kEndOfMessages;
  auto length = static_cast<uint32_t>(lines.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    frame += static_cast<char>((length >> shift) & 0xff);
  frame += lines;
  encode(frame, true, out);
}

} // namespace turnout::proxy
