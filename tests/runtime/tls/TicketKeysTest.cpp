// Session ticket keys: rotation keeps the key before it for decryption only, and drops
// older ones; keys from a file are the fleet's and do not rotate; a bad file is refused.
#include "tls/TicketKeys.h"

#include <gtest/gtest.h>

#include <fstream>

namespace turnout::tls {
namespace {

TEST(TicketKeys, RotationKeepsThePreviousKeyToDecryptOnly) {
  TicketKeys keys;
  TicketKeys::Key first = keys.current();
  keys.rotate();
  TicketKeys::Key second = keys.current();
  EXPECT_NE(first.name, second.name);
  TicketKeys::Key found;
  bool older = false;
  ASSERT_TRUE(keys.find(first.name.data(), found, older));
  EXPECT_TRUE(older);
  EXPECT_EQ(found.aes, first.aes);
  ASSERT_TRUE(keys.find(second.name.data(), found, older));
  EXPECT_FALSE(older);
  keys.rotate();
  EXPECT_FALSE(keys.find(first.name.data(), found, older)); // two rotations: gone
}

TEST(TicketKeys, AFileGivesTheFleetsKeysInItsOrderAndTheyDoNotRotate) {
  std::string path = ::testing::TempDir() + "ticket.keys";
  std::string bytes;
  for (int k = 0; k < 2; ++k)
    for (size_t i = 0; i < TicketKeys::kKeyFileBytes; ++i)
      bytes += static_cast<char>(k * 100 + i);
  std::ofstream(path, std::ios::binary) << bytes;
  TicketKeys keys;
  std::string error;
  ASSERT_TRUE(keys.readFile(path, error)) << error;
  TicketKeys::Key current = keys.current();
  EXPECT_EQ(current.name[0], 0);
  EXPECT_EQ(current.hmac[0], 16); // name, then HMAC secret, then AES key, as nginx's
  EXPECT_EQ(current.aes[0], 48);
  keys.rotate();
  EXPECT_EQ(keys.current().name, current.name);
  TicketKeys::Key second;
  bool older = false;
  unsigned char name[16];
  for (int i = 0; i < 16; ++i)
    name[i] = static_cast<unsigned char>(100 + i);
  ASSERT_TRUE(keys.find(name, second, older));
  EXPECT_TRUE(older);

  std::ofstream(path, std::ios::binary) << "short";
  EXPECT_FALSE(keys.readFile(path, error));
  EXPECT_NE(error.find("keys of 80 bytes"), std::string::npos);
  EXPECT_FALSE(keys.readFile(path + ".missing", error));
  EXPECT_NE(error.find("No such file"), std::string::npos);
}

} // namespace
} // namespace turnout::tls
