#include "tls/TicketKeys.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>

namespace turnout::tls {

namespace {

TicketKeys::Key randomKey() {
  TicketKeys::Key key;
  RAND_bytes(key.name.data(), static_cast<int>(key.name.size()));
  RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size()));
  RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size()));
  return key;
}

// Keys in the file's layout; none when `bytes` is not whole keys.
std::vector<TicketKeys::Key> parse(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % TicketKeys::kKeyFileBytes != 0)
    return {};
  std::vector<TicketKeys::Key> keys(bytes.size() / TicketKeys::kKeyFileBytes);
  for (size_t i = 0; i < keys.size(); ++i) {
    const char *at = bytes.data() + i * TicketKeys::kKeyFileBytes;
    std::memcpy(keys[i].name.data(), at, 16);
    std::memcpy(keys[i].hmac.data(), at + 16, 32);
    std::memcpy(keys[i].aes.data(), at + 48, 32);
  }
  return keys;
}

} // namespace

TicketKeys::TicketKeys() : keys_{randomKey()} {
}

std::string TicketKeys::exported() const {
  std::shared_lock lock(mutex_);
  std::string bytes;
  for (const Key &key : keys_) {
    bytes.append(reinterpret_cast<const char *>(key.name.data()), key.name.size());
    bytes.append(reinterpret_cast<const char *>(key.hmac.data()), key.hmac.size());
    bytes.append(reinterpret_cast<const char *>(key.aes.data()), key.aes.size());
  }
  return bytes;
}

bool TicketKeys::adopt(std::string_view bytes) {
  std::vector<Key> keys = parse(bytes);
  if (keys.empty())
    return false;
  std::unique_lock lock(mutex_);
  keys_ = std::move(keys);
  fromFile_ = false;
  return true;
}

bool TicketKeys::readFile(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("{}: {}", path, std::strerror(errno));
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Key> keys = parse(bytes);
  if (keys.empty()) {
    error = fmt::format("{}: {} bytes; a ticket key file holds keys of {} bytes", path,
                        bytes.size(), kKeyFileBytes);
    return false;
  }
  std::unique_lock lock(mutex_);
  keys_ = std::move(keys);
  fromFile_ = true;
  return true;
}

void TicketKeys::rotate() {
  Key fresh = randomKey();
  std::unique_lock lock(mutex_);
  if (fromFile_)
    return;
  keys_.insert(keys_.begin(), fresh);
  if (keys_.size() > kKeptRandomKeys)
    keys_.resize(kKeptRandomKeys);
}

TicketKeys::Key TicketKeys::current() const {
  std::shared_lock lock(mutex_);
  return keys_.front();
}

bool TicketKeys::find(const unsigned char *name, Key &key, bool &older) const {
  std::shared_lock lock(mutex_);
  for (size_t i = 0; i < keys_.size(); ++i)
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      key = keys_[i];
      older = i > 0;
      return true;
    }
  return false;
}

} // namespace turnout::tls
