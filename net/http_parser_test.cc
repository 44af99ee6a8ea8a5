// HttpParser: pipelined requests, Content-Length and chunked bodies, every split of the input gives the same
// requests, limits answer 413/431, malformed input answers 400/501/505, and random bytes never crash it.
#include "net/http_parser.h"

#include <cstdint>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace detcd::net {
namespace {

std::vector<HttpRequest> FeedAll(HttpParser& p, std::string_view bytes) {
  p.Feed(bytes);
  std::vector<HttpRequest> out;
  while (std::optional<HttpRequest> r = p.Next()) out.push_back(std::move(*r));
  return out;
}

std::vector<HttpRequest> Parse(std::string_view bytes, HttpParserLimits limits = {}) {
  HttpParser p(limits);
  return FeedAll(p, bytes);
}

// One request as text, for comparisons.
std::string Describe(const HttpRequest& r) {
  std::string s = absl::StrCat(r.method, " ", r.path, "?", r.query, " 1.", r.version_minor,
                               r.keep_alive ? " keep" : " close", "\n");
  for (const auto& [n, v] : r.headers) absl::StrAppend(&s, n, "=", v, "\n");
  absl::StrAppend(&s, "body[", r.body.size(), "]=", r.body);
  return s;
}

const char kPipelined[] =
    "POST /v3/kv/range HTTP/1.1\r\nHost: localhost:2379\r\nContent-Length: 14\r\n"
    "Content-Type: application/json\r\n\r\n{\"key\":\"Zm9v\"}"
    "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    "POST /v3/kv/put HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\n{\"key\r\n18;ext=1\r\n\":\"Zm9v\",\"value\":\"YmFy\"}\r\n0\r\nX-Trailer: t\r\n\r\n"
    "GET /version HTTP/1.1\r\nConnection: close\r\n\r\n";

TEST(HttpParserTest, PipelinedRequestsWithBodies) {
  const std::vector<HttpRequest> rs = Parse(kPipelined);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].method, "POST");
  EXPECT_EQ(rs[0].path, "/v3/kv/range");
  EXPECT_EQ(rs[0].body, "{\"key\":\"Zm9v\"}");
  ASSERT_NE(rs[0].Header("content-TYPE"), nullptr);
  EXPECT_EQ(*rs[0].Header("content-TYPE"), "application/json");
  EXPECT_EQ(rs[0].Header("Accept"), nullptr);
  EXPECT_TRUE(rs[0].keep_alive);
  EXPECT_EQ(rs[1].method, "GET");
  EXPECT_EQ(rs[1].path, "/health");
  EXPECT_EQ(rs[1].body, "");
  EXPECT_EQ(rs[2].body, "{\"key\":\"Zm9v\",\"value\":\"YmFy\"}");
  EXPECT_EQ(rs[3].path, "/version");
  EXPECT_FALSE(rs[3].keep_alive);
}

TEST(HttpParserTest, EverySplitGivesTheSameRequests) {
  const std::string all(kPipelined);
  std::string expected;
  for (const HttpRequest& r : Parse(all)) absl::StrAppend(&expected, Describe(r), "\n--\n");
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    HttpParser p;
    std::string got;
    for (const HttpRequest& r : FeedAll(p, all.substr(0, cut))) absl::StrAppend(&got, Describe(r), "\n--\n");
    for (const HttpRequest& r : FeedAll(p, all.substr(cut))) absl::StrAppend(&got, Describe(r), "\n--\n");
    ASSERT_EQ(got, expected) << "cut at " << cut;
    EXPECT_FALSE(p.failed());
  }
  // One byte at a time.
  HttpParser p;
  std::string got;
  for (char c : all) {
    for (const HttpRequest& r : FeedAll(p, std::string_view(&c, 1))) absl::StrAppend(&got, Describe(r), "\n--\n");
  }
  EXPECT_EQ(got, expected);
}

TEST(HttpParserTest, RandomSplitsOfValidRequests) {
  const std::string all = absl::StrCat(kPipelined);
  std::string expected;
  for (const HttpRequest& r : Parse(all)) absl::StrAppend(&expected, Describe(r), "\n--\n");
  std::mt19937_64 rng(20240501);
  for (int round = 0; round < 300; ++round) {
    HttpParser p;
    std::string got;
    size_t at = 0;
    while (at < all.size()) {
      const size_t n = std::min<size_t>(all.size() - at, 1 + rng() % 40);
      for (const HttpRequest& r : FeedAll(p, std::string_view(all).substr(at, n))) {
        absl::StrAppend(&got, Describe(r), "\n--\n");
      }
      at += n;
    }
    ASSERT_EQ(got, expected) << "round " << round;
  }
}

TEST(HttpParserTest, KeepAliveRules) {
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\n\r\n").at(0).keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").at(0).keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").at(0).keep_alive);
  EXPECT_TRUE(Parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").at(0).keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n").at(0).keep_alive);
  // After a request that closes the connection, nothing more is parsed.
  HttpParser p;
  EXPECT_EQ(FeedAll(p, "GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n").size(), 1u);
  EXPECT_FALSE(p.failed());
  EXPECT_TRUE(p.idle());
}

TEST(HttpParserTest, TargetsAndLenientLineEndings) {
  const std::vector<HttpRequest> rs = Parse(
      "\r\nGET /metrics?name=x HTTP/1.1\nHost: a\n\n"
      "GET http://localhost:2379/version?q HTTP/1.1\r\n\r\n"
      "OPTIONS * HTTP/1.1\r\n\r\n");
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].path, "/metrics");
  EXPECT_EQ(rs[0].query, "name=x");
  EXPECT_EQ(rs[1].path, "/version");
  EXPECT_EQ(rs[1].query, "q");
  EXPECT_EQ(rs[2].path, "*");
}

TEST(HttpParserTest, ExpectContinue) {
  HttpParser p;
  p.Feed("POST /v3/kv/put HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_TRUE(p.TakeContinueExpected());
  EXPECT_FALSE(p.TakeContinueExpected());
  p.Feed("abcd");
  ASSERT_TRUE(p.Next().has_value());
  EXPECT_TRUE(p.idle());
}

int ErrorOf(std::string_view bytes, HttpParserLimits limits = {}) {
  HttpParser p(limits);
  p.Feed(bytes);
  return p.error_status();
}

TEST(HttpParserTest, MalformedRequestsAreRefusedWithTheRightStatus) {
  EXPECT_EQ(ErrorOf("GET\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET  / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1 \r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("G(T / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET relative HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(ErrorOf("GET / HTTQ/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nName : v\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: \x01\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"), 0);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n"), 400);
  HttpParser p;
  p.Feed("GET / HTTP/1.1\r\n\r\nBAD\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.error().empty());
  EXPECT_TRUE(p.Next().has_value()) << "the request before the error is still served";
  EXPECT_FALSE(p.Next().has_value());
}

TEST(HttpParserTest, Limits) {
  HttpParserLimits limits;
  limits.header_bytes_max = 100;
  limits.body_bytes_max = 10;
  EXPECT_EQ(ErrorOf(absl::StrCat("GET / HTTP/1.1\r\nA: ", std::string(200, 'a'), "\r\n\r\n"), limits), 431);
  EXPECT_EQ(ErrorOf(absl::StrCat("GET / HTTP/1.1\r\nA: ", std::string(200, 'a')), limits), 431)
      << "refused before the head ends";
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits), 413);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", limits), 413);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits), 0);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n", limits), 413);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n", limits), 413);
  EXPECT_EQ(
      ErrorOf(absl::StrCat("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: ", std::string(200, 'a')),
              limits),
      431);
  EXPECT_EQ(ErrorOf(absl::StrCat("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;", std::string(5000, 'a'))),
            400);
}

// Garbage of every kind: never a crash, and either requests, a wait for more bytes, or an error.
TEST(HttpParserTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  std::string alphabet = "GETPOST /HTP1.0\r\n:;,-chunkedContent-LengthTransfer-Encoding0123456789abcdef";
  alphabet.push_back('\0');
  alphabet.push_back('\xff');
  HttpParserLimits limits;
  limits.header_bytes_max = 512;
  limits.body_bytes_max = 256;
  for (int round = 0; round < 2000; ++round) {
    HttpParser p(limits);
    const int pieces = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < pieces; ++k) {
      std::string bytes(rng() % 200, '\0');
      for (char& c : bytes) {
        c = (round % 2 == 0) ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
      }
      p.Feed(bytes);
      while (p.Next()) {
      }
      p.TakeContinueExpected();
    }
    if (p.failed()) {
      EXPECT_TRUE(p.error_status() == 400 || p.error_status() == 413 || p.error_status() == 431 ||
                  p.error_status() == 501 || p.error_status() == 505)
          << p.error_status();
    }
  }
  // Valid requests with random bytes spliced in.
  const std::string valid(kPipelined);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = valid;
    for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    HttpParser p(limits);
    size_t at = 0;
    while (at < bytes.size()) {
      const size_t n = std::min<size_t>(bytes.size() - at, 1 + rng() % 30);
      p.Feed(std::string_view(bytes).substr(at, n));
      at += n;
      while (p.Next()) {
      }
    }
  }
}

}  // namespace
}  // namespace detcd::net
