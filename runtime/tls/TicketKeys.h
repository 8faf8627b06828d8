// A TLS listener's session ticket keys, shared by every context it builds (a certificate
// reload keeps tickets valid) and so by every worker: the first key encrypts new tickets,
// every key decrypts (a ticket under an older one is answered with a new ticket). From
// `ticket_key_file` (keys of 80 bytes, as nginx's ssl_session_ticket_key: 16 of name, 32 of
// HMAC secret, 32 of AES-256 key; the first in the file encrypts; a fleet sharing the file
// resumes each other's sessions), or made at start and rotated every 12 hours, the one
// before kept to decrypt (a ticket lives at most a day).
#pragma once

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace turnout::tls {

class TicketKeys {
public:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> hmac, aes;
  };
  static constexpr size_t kKeyFileBytes = 80;
  static constexpr size_t kKeptRandomKeys = 2;

  // A random key.
  TicketKeys();
  // Reads `path`; false with `error` (the file and why) when it holds no whole keys.
  bool readFile(const std::string &path, std::string &error);
  // The keys in the file's layout, the one that encrypts first: what a binary upgrade hands
  // the new process, so that tickets of the old one still resume.
  std::string exported() const;
  // Takes keys exported() gave (random ones: they go on rotating); false, and none taken,
  // when `bytes` holds no whole keys.
  bool adopt(std::string_view bytes);
  // A new random key encrypts from now on; the one before still decrypts. Keys from a file
  // are left as they are (the fleet rotates the file).
  void rotate();

  // The key new tickets are encrypted with.
  Key current() const;
  // The key named `name`, and whether it is an older one; false when none is.
  bool find(const unsigned char *name, Key &key, bool &older) const;

private:
  mutable std::shared_mutex mutex_;
  std::vector<Key> keys_; // the first encrypts
  bool fromFile_ = false;
};

} // namespace turnout::tls
