#include "tls/ServerContext.h"

#include "exchange/Exchange.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_map>

namespace turnout::tls {

namespace {

struct Free {
  void operator()(X509 *x) const { X509_free(x); }
  void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
  void operator()(BIO *b) const { BIO_free(b); }
  void operator()(SSL_CTX *c) const { SSL_CTX_free(c); }
};
template <typename T> using Owned = std::unique_ptr<T, Free>;

// OpenSSL's reason for the last failure, its error queue emptied.
std::string reason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (!code)
    return "unknown error";
  const char *text = ERR_reason_error_string(code);
  return text ? text : fmt::format("OpenSSL error {:x}", code);
}

Owned<BIO> openFile(const std::string &path, std::string &error) {
  errno = 0;
  Owned<BIO> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    error = fmt::format("{}: {}", path, errno ? std::strerror(errno) : "cannot be read");
  }
  return bio;
}

// A certificate with its chain and key, read and checked.
struct Certificate {
  const TlsSettings::Certificate *files = nullptr;
  Owned<X509> leaf;
  std::vector<Owned<X509>> chain;
  Owned<EVP_PKEY> key;
  std::vector<std::string> names; // lower case, sorted
  bool ecdsa = false;
  std::string ocsp; // a DER OCSP response to staple; "" for none
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The DNS names of the subjectAltName; the subject's common name when there are none.
std::vector<std::string> namesOf(X509 *certificate) {
  std::vector<std::string> names;
  auto *alternatives = static_cast<GENERAL_NAMES *>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; alternatives && i < sk_GENERAL_NAME_num(alternatives); ++i) {
    const GENERAL_NAME *name = sk_GENERAL_NAME_value(alternatives, i);
    if (name->type != GEN_DNS)
      continue;
    const ASN1_IA5STRING *dns = name->d.dNSName;
    names.push_back(lower(std::string(reinterpret_cast<const char *>(ASN1_STRING_get0_data(dns)),
                                      static_cast<size_t>(ASN1_STRING_length(dns)))));
  }
  GENERAL_NAMES_free(alternatives);
  if (names.empty()) {
    char common[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, common,
                                  sizeof common) > 0)
      names.push_back(lower(common));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// The OCSP response in `path` (DER): it must parse, be successful and speak of this
// certificate; one whose next update has passed loads with a warning (clients will not
// trust it: it should be fetched again).
bool readOcsp(const std::string &path, Certificate &out, std::string &error,
              std::vector<std::string> &warnings) {
  Owned<BIO> file = openFile(path, error);
  if (!file)
    return false;
  std::unique_ptr<OCSP_RESPONSE, void (*)(OCSP_RESPONSE *)> response(
      d2i_OCSP_RESPONSE_bio(file.get(), nullptr), OCSP_RESPONSE_free);
  if (!response || OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    ERR_clear_error();
    error = fmt::format("{}: not a successful OCSP response", path);
    return false;
  }
  std::unique_ptr<OCSP_BASICRESP, void (*)(OCSP_BASICRESP *)> basic(
      OCSP_response_get1_basic(response.get()), OCSP_BASICRESP_free);
  bool ours = false;
  for (int i = 0; basic && i < OCSP_resp_count(basic.get()); ++i) {
    const OCSP_CERTID *id = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic.get(), i));
    const ASN1_INTEGER *serial = nullptr;
    OCSP_id_get0_info(nullptr, nullptr, nullptr, const_cast<ASN1_INTEGER **>(&serial),
                      const_cast<OCSP_CERTID *>(id));
    ASN1_GENERALIZEDTIME *next = nullptr;
    OCSP_single_get0_status(OCSP_resp_get0(basic.get(), i), nullptr, nullptr, nullptr, &next);
    if (serial && ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(out.leaf.get())) == 0) {
      ours = true;
      if (next && X509_cmp_current_time(next) < 0)
        warnings.push_back(fmt::format("{}: the OCSP response is out of date", path));
    }
  }
  ERR_clear_error();
  if (!ours) {
    error =
        fmt::format("{}: an OCSP response for another certificate than {}", path, out.files->cert);
    return false;
  }
  unsigned char *der = nullptr;
  int size = i2d_OCSP_RESPONSE(response.get(), &der);
  out.ocsp.assign(reinterpret_cast<char *>(der), static_cast<size_t>(std::max(size, 0)));
  OPENSSL_free(der);
  return true;
}

bool readCertificate(const TlsSettings::Certificate &files, Certificate &out, std::string &error,
                     std::vector<std::string> &warnings) {
  out.files = &files;
  Owned<BIO> pem = openFile(files.cert, error);
  if (!pem)
    return false;
  out.leaf.reset(PEM_read_bio_X509(pem.get(), nullptr, nullptr, nullptr));
  if (!out.leaf) {
    error = fmt::format("{}: no certificate in it ({})", files.cert, reason());
    return false;
  }
  while (Owned<X509> next{PEM_read_bio_X509(pem.get(), nullptr, nullptr, nullptr)})
    out.chain.push_back(std::move(next));
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) != ERR_LIB_PEM || ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    error = fmt::format("{}: a certificate of its chain does not parse ({})", files.cert, reason());
    return false;
  }
  ERR_clear_error();
  Owned<BIO> keyPem = openFile(files.key, error);
  if (!keyPem)
    return false;
  out.key.reset(PEM_read_bio_PrivateKey(keyPem.get(), nullptr, nullptr, nullptr));
  if (!out.key) {
    error = fmt::format("{}: no private key in it ({})", files.key, reason());
    return false;
  }
  if (X509_check_private_key(out.leaf.get(), out.key.get()) != 1) {
    ERR_clear_error();
    error = fmt::format("{}: not the key of the certificate in {}", files.key, files.cert);
    return false;
  }
  int type = EVP_PKEY_get_base_id(out.key.get());
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
    error = fmt::format("{}: an RSA or ECDSA key is needed", files.key);
    return false;
  }
  out.ecdsa = type == EVP_PKEY_EC;
  out.names = namesOf(out.leaf.get());
  if (X509_cmp_current_time(X509_get0_notAfter(out.leaf.get())) < 0)
    warnings.push_back(fmt::format("{}: the certificate has expired", files.cert));
  return files.ocsp.empty() || readOcsp(files.ocsp, out, error, warnings);
}

int protocolVersion(const std::string &name) {
  return name == "TLSv1.3" ? TLS1_3_VERSION : name == "TLSv1.2" ? TLS1_2_VERSION : 0;
}

// Where a context keeps its listener's ticket keys, for the ticket callback.
int ticketKeysIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Seals a new session ticket with the current key, or opens one with the key it names.
int onTicketKey(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cipher,
                EVP_MAC_CTX *mac, int encrypt) {
  const auto *keys =
      static_cast<const TicketKeys *>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticketKeysIndex()));
  if (!keys)
    return -1;
  TicketKeys::Key key;
  bool older = false;
  if (encrypt) {
    key = keys->current();
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1)
      return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1)
      return -1;
  } else {
    if (!keys->find(name, key, older))
      return 0; // a key gone (rotated out, or another fleet's): a full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1)
      return -1;
  }
  char digest[] = "sha256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac.data(), key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1)
    return -1;
  return encrypt || !older ? 1 : 2; // 2: valid, and a new ticket replaces it
}

} // namespace

struct ServerContext::Impl {
  std::shared_ptr<const TicketKeys> ticketKeys;
  std::unordered_map<const X509 *, std::string> ocsp; // by leaf certificate, to staple
  std::vector<Owned<SSL_CTX>> contexts;               // one per set of names
  SSL_CTX *fallback = nullptr;                        // the first certificate's
  std::unordered_map<std::string, SSL_CTX *> exact;
  std::unordered_map<std::string, SSL_CTX *> wildcard; // "*.example.com" as "example.com"
  std::string alpn;                                    // the protocols, in ALPN's wire form

  SSL_CTX *contextFor(std::string_view name) const {
    std::string key = lower(std::string(name));
    if (!key.empty() && key.back() == '.')
      key.pop_back();
    if (auto it = exact.find(key); it != exact.end())
      return it->second;
    size_t dot = key.find('.');
    if (dot != std::string::npos && dot > 0)
      if (auto it = wildcard.find(key.substr(dot + 1)); it != wildcard.end())
        return it->second;
    return fallback;
  }

  // A context with every setting but the certificates.
  Owned<SSL_CTX> newContext(const TlsSettings &settings, std::string &error) {
    Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
      error = "cannot make a TLS context: " + reason();
      return nullptr;
    }
    int low = TLS1_3_VERSION, high = TLS1_2_VERSION;
    for (const std::string &protocol : settings.protocols) {
      low = std::min(low, protocolVersion(protocol));
      high = std::max(high, protocolVersion(protocol));
    }
    SSL_CTX_set_min_proto_version(ctx.get(), low);
    SSL_CTX_set_max_proto_version(ctx.get(), high);
    if (SSL_CTX_set_cipher_list(ctx.get(), settings.ciphers.c_str()) != 1) {
      error = fmt::format("ciphers: none of '{}' is known ({})", settings.ciphers, reason());
      return nullptr;
    }
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                       (settings.sessionTickets ? 0 : SSL_OP_NO_TICKET));
    // OpenSSL's buffers go back while a connection is idle; a write may end part way and
    // continue from a buffer that moved.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_max_early_data(ctx.get(), 0);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
    static const unsigned char kSessionContext[] = "turnout";
    SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
    if (settings.sessionTickets) {
      SSL_CTX_set_ex_data(ctx.get(), ticketKeysIndex(), const_cast<TicketKeys *>(ticketKeys.get()));
      SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx.get(), &onTicketKey);
    }
    SSL_CTX_set_tlsext_servername_callback(ctx.get(), &Impl::onServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx.get(), this);
    SSL_CTX_set_alpn_select_cb(ctx.get(), &Impl::onAlpn, this);
    SSL_CTX_set_tlsext_status_cb(ctx.get(), &Impl::onStatusRequest);
    SSL_CTX_set_tlsext_status_arg(ctx.get(), this);
    if (!settings.clientCa.empty()) {
      if (SSL_CTX_load_verify_locations(ctx.get(), settings.clientCa.c_str(), nullptr) != 1) {
        error = fmt::format("{}: no CA certificate in it ({})", settings.clientCa, reason());
        return nullptr;
      }
      STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(settings.clientCa.c_str());
      if (names)
        SSL_CTX_set_client_CA_list(ctx.get(), names);
      ERR_clear_error();
    }
    int verify = settings.clientAuth == TlsSettings::ClientAuth::None ? SSL_VERIFY_NONE
                 : settings.clientAuth == TlsSettings::ClientAuth::Optional
                     ? SSL_VERIFY_PEER
                     : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx.get(), verify, nullptr);
    return ctx;
  }

  // SNI: the connection moves to the context of the certificates for its name.
  static int onServerName(SSL *ssl, int *, void *arg) {
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
      return SSL_TLSEXT_ERR_OK;
    SSL_CTX *chosen = static_cast<Impl *>(arg)->contextFor(name);
    if (chosen != SSL_get_SSL_CTX(ssl))
      SSL_set_SSL_CTX(ssl, chosen);
    return SSL_TLSEXT_ERR_OK;
  }

  // A client asked for the certificate's status: the OCSP response of the certificate
  // chosen for it, if there is one.
  static int onStatusRequest(SSL *ssl, void *arg) {
    const auto &responses = static_cast<Impl *>(arg)->ocsp;
    auto it = responses.find(SSL_get_certificate(ssl));
    if (it == responses.end())
      return SSL_TLSEXT_ERR_NOACK;
    auto *copy = static_cast<unsigned char *>(OPENSSL_memdup(it->second.data(), it->second.size()));
    if (!copy)
      return SSL_TLSEXT_ERR_NOACK;
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(it->second.size()));
    return SSL_TLSEXT_ERR_OK;
  }

  static int onAlpn(SSL *, const unsigned char **out, unsigned char *outLength,
                    const unsigned char *in, unsigned inLength, void *arg) {
    const std::string &ours = static_cast<Impl *>(arg)->alpn;
    unsigned char *selected = nullptr;
    if (SSL_select_next_proto(
            &selected, outLength, reinterpret_cast<const unsigned char *>(ours.data()),
            static_cast<unsigned>(ours.size()), in, inLength) != OPENSSL_NPN_NEGOTIATED)
      return SSL_TLSEXT_ERR_NOACK; // no protocol in common: none is named
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
};

std::shared_ptr<const ServerContext>
ServerContext::load(const TlsSettings &settings, std::shared_ptr<const TicketKeys> ticketKeys,
                    std::string &error, std::vector<std::string> &warnings) {
  ERR_clear_error();
  if (settings.certificates.empty()) {
    error = "a TLS listener needs a certificate and its key";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->ticketKeys = std::move(ticketKeys);
  for (const std::string &protocol : settings.alpn) {
    impl->alpn.push_back(static_cast<char>(protocol.size()));
    impl->alpn += protocol;
  }
  std::vector<Certificate> certificates(settings.certificates.size());
  for (size_t i = 0; i < certificates.size(); ++i)
    if (!readCertificate(settings.certificates[i], certificates[i], error, warnings))
      return nullptr;
  // Certificates for the same names share a context, one of each key type.
  std::map<std::vector<std::string>, std::pair<SSL_CTX *, std::vector<const Certificate *>>>
      byNames;
  for (const Certificate &certificate : certificates) {
    auto &[ctx, members] = byNames[certificate.names];
    for (const Certificate *other : members)
      if (other->ecdsa == certificate.ecdsa) {
        error =
            fmt::format("{}: a second {} certificate for the names of {}", certificate.files->cert,
                        certificate.ecdsa ? "ECDSA" : "RSA", other->files->cert);
        return nullptr;
      }
    if (!ctx) {
      Owned<SSL_CTX> made = impl->newContext(settings, error);
      if (!made)
        return nullptr;
      ctx = made.get();
      impl->contexts.push_back(std::move(made));
      for (const std::string &name : certificate.names) {
        if (name.starts_with("*.") && name.size() > 2)
          impl->wildcard.emplace(name.substr(2), ctx);
        else
          impl->exact.emplace(name, ctx);
      }
    }
    members.push_back(&certificate);
    if (!certificate.ocsp.empty()) // the context keeps the certificate, and so the key
      impl->ocsp.emplace(certificate.leaf.get(), certificate.ocsp);
    // OpenSSL keeps one certificate per key type: its chain goes with the last one set.
    if (SSL_CTX_use_certificate(ctx, certificate.leaf.get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, certificate.key.get()) != 1) {
      error = fmt::format("{}: cannot be used ({})", certificate.files->cert, reason());
      return nullptr;
    }
    for (const Owned<X509> &link : certificate.chain)
      if (SSL_CTX_add1_chain_cert(ctx, link.get()) != 1) {
        error = fmt::format("{}: its chain cannot be used ({})", certificate.files->cert, reason());
        return nullptr;
      }
    if (!impl->fallback)
      impl->fallback = ctx;
  }
  return std::shared_ptr<const ServerContext>(
      new ServerContext(std::move(impl), settings.handshakeTimeout));
}

ServerContext::ServerContext(std::unique_ptr<Impl> impl, std::chrono::milliseconds timeout)
    : impl_(std::move(impl)), handshakeTimeout_(timeout) {
}
ServerContext::~ServerContext() = default;

ssl_st *ServerContext::newConnection() const {
  return SSL_new(impl_->fallback);
}

void settled(SSL *ssl, route::TlsFacts &facts) {
  facts.version = SSL_get_version(ssl);
  facts.cipher = SSL_get_cipher_name(ssl);
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  facts.sni = name ? lower(name) : "";
  const unsigned char *alpn = nullptr;
  unsigned alpnLength = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpnLength);
  facts.alpn.assign(reinterpret_cast<const char *>(alpn), alpn ? alpnLength : 0);
  facts.resumed = SSL_session_reused(ssl) == 1;
  Owned<X509> client(SSL_get1_peer_certificate(ssl));
  facts.clientVerified = client && SSL_get_verify_result(ssl) == X509_V_OK;
  facts.clientSubject = facts.clientIssuer = facts.clientFingerprint = "";
  if (!client)
    return;
  auto text = [](const X509_NAME *name) {
    Owned<BIO> out(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
    char *data = nullptr;
    long size = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  };
  facts.clientSubject = text(X509_get_subject_name(client.get()));
  facts.clientIssuer = text(X509_get_issuer_name(client.get()));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  X509_digest(client.get(), EVP_sha256(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < length; ++i) {
    facts.clientFingerprint += kHex[digest[i] >> 4];
    facts.clientFingerprint += kHex[digest[i] & 15];
  }
}

bool ListenerContext::reload(std::string &error, std::vector<std::string> &warnings) {
  std::shared_ptr<const ServerContext> loaded =
      ServerContext::load(settings_, ticketKeys_, error, warnings);
  if (!loaded ||
      (!settings_.ticketKeyFile.empty() && !ticketKeys_->readFile(settings_.ticketKeyFile, error)))
    return false;
  current_.store(std::move(loaded));
  return true;
}

} // namespace turnout::tls
