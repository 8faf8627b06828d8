#include "route/abi.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <string>

namespace {

RouteStr S(const char *text) {
  return {text, std::char_traits<char>::length(text)};
}
std::string str(RouteStr s) {
  return std::string(s.data ? s.data : "", s.size);
}

RouteIp ip(const char *text) {
  return route_ParseIp(S(text));
}

class Stdlib : public testing::Test {
protected:
  void SetUp() override { arena = route_arena_create(); }
  void TearDown() override { route_arena_destroy(arena); }
  RouteArena *arena = nullptr;
};

TEST_F(Stdlib, CaseAndLength) {
  EXPECT_EQ(str(route_Lower(arena, S("MiXed-É"))), "mixed-É");
  EXPECT_EQ(str(route_Upper(arena, S("MiXed"))), "MIXED");
  EXPECT_EQ(route_LenString(S("héllo")), 6);
}

TEST_F(Stdlib, SubstrClipsInsteadOfFailing) {
  EXPECT_EQ(str(route_Substr(S("abcdef"), 1, 3)), "bcd");
  EXPECT_EQ(str(route_Substr(S("abcdef"), 4, 100)), "ef");
  EXPECT_EQ(str(route_Substr(S("abcdef"), -5, 2)), "ab");
  EXPECT_EQ(str(route_Substr(S("abcdef"), 99, 2)), "");
  EXPECT_EQ(str(route_Substr(S("abcdef"), 2, -1)), "");
}

TEST_F(Stdlib, SplitJoinTrimReplace) {
  RouteStrList parts = route_Split(arena, S("a,b,,c"), S(","));
  ASSERT_EQ(parts.size, 4u);
  EXPECT_EQ(str(parts.items[2]), "");
  EXPECT_EQ(str(route_Join(arena, parts, S("-"))), "a-b--c");
  EXPECT_EQ(route_LenList(route_Split(arena, S("abc"), S(""))), 3);
  EXPECT_EQ(str(route_Trim(S(" \t x y \t"))), "x y");
  EXPECT_EQ(str(route_Trim(S("   "))), "");
  EXPECT_EQ(str(route_Replace(arena, S("a-b-c"), S("-"), S("/"))), "a/b/c");
  EXPECT_EQ(str(route_Replace(arena, S("abc"), S(""), S("x"))), "abc");
}

TEST_F(Stdlib, RegexMatchAndReplace) {
  RouteRegex *re = route_regex_compile(S(R"(^/v(\d+)/(?P<rest>.*)$)"));
  ASSERT_NE(re, nullptr);
  EXPECT_EQ(route_regex_groups(re), 2u);
  RouteStr groups[3];
  ASSERT_EQ(route_regex_match(re, S("/v12/users"), groups, 3), 1);
  EXPECT_EQ(str(groups[1]), "12");
  EXPECT_EQ(str(groups[2]), "users");
  EXPECT_EQ(route_regex_match(re, S("/x"), groups, 3), 0);
  EXPECT_EQ(str(route_RegexReplace(arena, S("/v1/users"), re, S("/api/$1/${rest}\\"))),
            "/api/1/users\\");
  EXPECT_EQ(str(route_RegexReplace(arena, S("/v1/users"), re, S("[$7]"))), "[]");
  route_regex_free(re);
  EXPECT_EQ(route_regex_compile(S("(unclosed")), nullptr);
}

TEST_F(Stdlib, UrlAndQuery) {
  EXPECT_EQ(str(route_UrlDecode(arena, S("a%20b+c%zz%4"))), "a b+c%zz%4");
  EXPECT_EQ(str(route_UrlEncode(arena, S("a b/c~"))), "a%20b%2Fc~");
  EXPECT_EQ(str(route_QueryParam(arena, S("a=1&b=x%20y+z&b=2"), S("b"))), "x y z");
  EXPECT_EQ(str(route_QueryParam(arena, S("flag&a=1"), S("flag"))), "");
  EXPECT_EQ(str(route_QueryParam(arena, S("a=1"), S("missing"))), "");
}

TEST_F(Stdlib, Base64AndHash) {
  EXPECT_EQ(str(route_Base64Encode(arena, S("hi"))), "aGk=");
  EXPECT_EQ(str(route_Base64Encode(arena, S(""))), "");
  EXPECT_EQ(str(route_Base64Decode(arena, S("aGk="))), "hi");
  EXPECT_EQ(str(route_Base64Decode(arena, S("aGk"))), "hi");
  EXPECT_EQ(str(route_Base64Decode(arena, S("-_8"))), "\xfb\xff");
  EXPECT_EQ(str(route_Base64Decode(arena, S("a$b="))), "");
  // Stable across builds: the FNV-1a value of "" and of "a", high bit cleared.
  EXPECT_EQ(route_Hash64(S("")),
            static_cast<int64_t>(14695981039346656037ull & 0x7FFFFFFFFFFFFFFFull));
  EXPECT_EQ(route_Hash64(S("a")),
            static_cast<int64_t>(0xaf63dc4c8601ec8cull & 0x7FFFFFFFFFFFFFFFull));
  EXPECT_GE(route_Hash64(S("anything")), 0);
}

TEST_F(Stdlib, Conversions) {
  EXPECT_EQ(str(route_StrInt(arena, -42)), "-42");
  EXPECT_EQ(route_ParseInt(S(" 17 "), 0), 17);
  EXPECT_EQ(route_ParseInt(S("+5"), 0), 5);
  EXPECT_EQ(route_ParseInt(S("12x"), -1), -1);
  EXPECT_EQ(route_ParseInt(S("99999999999999999999"), -1), -1);
  EXPECT_EQ(str(route_StrIp(arena, ip("2001:db8::1"))), "2001:db8::1");
  EXPECT_EQ(str(route_StrIp(arena, ip("not an ip"))), "0.0.0.0");
  EXPECT_EQ(route_Seconds(90'500'000'000), 90);
}

TEST_F(Stdlib, AclMatchesV4V6AndMappedAddresses) {
  RouteIp nets[] = {ip("10.0.0.0"), ip("10.1.0.0"), ip("2001:db8::"), ip("192.0.2.7"),
                    ip("10.0.128.0")};
  uint8_t prefixes[] = {16, 16, 32, 32, 17};
  RouteAcl *acl = route_acl_create(nets, prefixes, 5);
  EXPECT_TRUE(route_acl_contains(acl, ip("10.0.255.255")));
  EXPECT_TRUE(route_acl_contains(acl, ip("10.1.0.1")));
  EXPECT_FALSE(route_acl_contains(acl, ip("10.2.0.0")));
  EXPECT_TRUE(route_acl_contains(acl, ip("192.0.2.7")));
  EXPECT_FALSE(route_acl_contains(acl, ip("192.0.2.8")));
  EXPECT_TRUE(route_acl_contains(acl, ip("::ffff:10.0.0.1"))) << "v4-mapped client";
  EXPECT_TRUE(route_acl_contains(acl, ip("2001:db8:ffff::1")));
  EXPECT_FALSE(route_acl_contains(acl, ip("2001:db9::1")));
  route_acl_free(acl);

  RouteIp all[] = {ip("::")};
  uint8_t zero[] = {0};
  RouteAcl *everything = route_acl_create(all, zero, 1);
  EXPECT_TRUE(route_acl_contains(everything, ip("8.8.8.8")));
  route_acl_free(everything);
  EXPECT_TRUE(route_cidr_contains(ip("10.0.0.0"), 8, ip("10.9.9.9")));
  EXPECT_FALSE(route_cidr_contains(ip("10.0.0.0"), 8, ip("11.0.0.0")));
}

TEST_F(Stdlib, RandomStaysInRange) {
  for (int i = 0; i < 1000; ++i) {
    int64_t r = route_Random(7);
    EXPECT_GE(r, 0);
    EXPECT_LT(r, 7);
  }
  EXPECT_EQ(route_Random(0), 0);
  EXPECT_EQ(route_Random(-3), 0);
  EXPECT_GT(route_Now(), 1'700'000'000);
}

TEST_F(Stdlib, ArenaServesLargeAndManyAllocations) {
  char *big = route_arena_alloc(arena, 1 << 20);
  big[(1 << 20) - 1] = 'x';
  for (int i = 0; i < 10000; ++i)
    route_arena_alloc(arena, 100)[99] = 'y';
  route_arena_reset(arena);
  EXPECT_NE(route_arena_alloc(arena, 10), nullptr);
}

} // namespace
