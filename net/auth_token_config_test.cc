// Tests of the --auth-token parser against what etcd 3.4 accepts and refuses (auth/store.go, auth/options.go).
#include "net/auth_token_config.h"

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

TEST(AuthTokenConfigTest, Simple) {
  absl::StatusOr<AuthTokenConfig> c = ParseAuthTokenConfig("simple");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, AuthTokenConfig::kSimple);
  // Options after "simple" are checked for their form only, then ignored.
  EXPECT_EQ(ParseAuthTokenConfig("simple,anything=goes")->kind, AuthTokenConfig::kSimple);
  EXPECT_EQ(ParseAuthTokenConfig("simple,broken").status().message(), kErrInvalidAuthOpts);
}

TEST(AuthTokenConfigTest, EmptyIsNop) {
  EXPECT_EQ(ParseAuthTokenConfig("")->kind, AuthTokenConfig::kNop);
}

TEST(AuthTokenConfigTest, FullJwt) {
  std::vector<std::string> notes;
  absl::StatusOr<AuthTokenConfig> c =
      ParseAuthTokenConfig("jwt,pub-key=/k/pub.pem,priv-key=/k/priv.pem,sign-method=RS256,ttl=10m", &notes);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, AuthTokenConfig::kJwt);
  EXPECT_EQ(c->pub_key_path, "/k/pub.pem");
  EXPECT_EQ(c->priv_key_path, "/k/priv.pem");
  EXPECT_EQ(c->sign_method, "RS256");
  EXPECT_EQ(c->ttl_us, int64_t{600} * 1'000'000);
  EXPECT_TRUE(notes.empty());
}

TEST(AuthTokenConfigTest, TtlDefaultsAndGoDurations) {
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256")->ttl_us, kJwtDefaultTtlUs);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=")->ttl_us, kJwtDefaultTtlUs);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=300s")->ttl_us, 300'000'000);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=1h30m")->ttl_us, int64_t{5400} * 1'000'000);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=0")->ttl_us, 0);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=1.5s")->ttl_us, 1'500'000);
  std::vector<std::string> notes;
  absl::StatusOr<AuthTokenConfig> bad = ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=5d", &notes);
  EXPECT_EQ(bad.status().message(), kErrInvalidAuthOpts);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "ttl: time: unknown unit \"d\" in duration \"5d\"");
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=ES256,ttl=5").status().message(), kErrInvalidAuthOpts);
}

TEST(AuthTokenConfigTest, GoDurationParser) {
  EXPECT_EQ(*ParseGoDurationUs("5m"), 300'000'000);
  EXPECT_EQ(*ParseGoDurationUs("-1.5h"), int64_t{-5400} * 1'000'000);
  EXPECT_EQ(*ParseGoDurationUs("+2s500ms"), 2'500'000);
  EXPECT_EQ(*ParseGoDurationUs("1500us"), 1500);
  EXPECT_EQ(*ParseGoDurationUs("1500\xc2\xb5s"), 1500);
  EXPECT_EQ(*ParseGoDurationUs(".5s"), 500'000);
  EXPECT_EQ(*ParseGoDurationUs("2562047h"), int64_t{2562047} * 3600 * 1'000'000);
  EXPECT_EQ(ParseGoDurationUs("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDurationUs("5").status().message(), "time: missing unit in duration \"5\"");
  EXPECT_EQ(ParseGoDurationUs("1x").status().message(), "time: unknown unit \"x\" in duration \"1x\"");
  EXPECT_EQ(ParseGoDurationUs(".s").status().message(), "time: invalid duration \".s\"");
  EXPECT_EQ(ParseGoDurationUs("s").status().message(), "time: invalid duration \"s\"");
  EXPECT_EQ(ParseGoDurationUs("2562048h").status().message(), "time: invalid duration \"2562048h\"");
  EXPECT_EQ(ParseGoDurationUs("99999999999999999999s").status().message(),
            "time: invalid duration \"99999999999999999999s\"");
}

TEST(AuthTokenConfigTest, SignMethods) {
  for (const char* m : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}) {
    absl::StatusOr<AuthTokenConfig> c = ParseAuthTokenConfig(std::string("jwt,pub-key=p,sign-method=") + m);
    ASSERT_TRUE(c.ok()) << m << " " << c.status();
    EXPECT_EQ(c->sign_method, m);
  }
  for (const char* m : {"HS256", "HS384", "HS512"}) {
    EXPECT_TRUE(ParseAuthTokenConfig(std::string("jwt,priv-key=secret,sign-method=") + m).ok()) << m;
  }
  // Required, and matched as golang-jwt registers them (case matters).
  std::vector<std::string> notes;
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p", &notes).status().message(), kErrInvalidAuthOpts);
  EXPECT_EQ(notes.back(), "auth: invalid auth signature method: \"\"");
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=rs256").status().message(), kErrInvalidAuthOpts);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=RS1024").status().message(), kErrInvalidAuthOpts);
  // golang-jwt knows these, etcd's key loader does not.
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=none").status().message(),
            "unsupported signing method: *jwt.signingMethodNone");
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=EdDSA").status().message(),
            "unsupported signing method: *jwt.SigningMethodEd25519");
}

TEST(AuthTokenConfigTest, Keys) {
  // A verify-only member has only the public key; a private key alone is enough to sign and verify.
  EXPECT_TRUE(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=RS256").ok());
  EXPECT_TRUE(ParseAuthTokenConfig("jwt,priv-key=k,sign-method=RS256").ok());
  EXPECT_EQ(ParseAuthTokenConfig("jwt,sign-method=RS256").status().message(), kErrMissingKey);
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=,sign-method=ES384").status().message(), kErrMissingKey);
  // HMAC: the secret is the priv-key file; a pub-key does not stand in for it.
  EXPECT_EQ(ParseAuthTokenConfig("jwt,pub-key=p,sign-method=HS256").status().message(), kErrMissingKey);
}

TEST(AuthTokenConfigTest, MalformedOptions) {
  for (const char* v : {"jwt,", "jwt,,sign-method=RS256,pub-key=p", "jwt,pub-key", "jwt,pub-key=a=b,sign-method=RS256",
                        "jwt,pub-key=p,pub-key=q,sign-method=RS256", "JWT,pub-key=p,sign-method=RS256", "Simple",
                        "bogus", ",simple"}) {
    absl::StatusOr<AuthTokenConfig> c = ParseAuthTokenConfig(v);
    EXPECT_EQ(c.status().message(), kErrInvalidAuthOpts) << v;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << v;
  }
  std::vector<std::string> notes;
  EXPECT_FALSE(ParseAuthTokenConfig("bogus", &notes).ok());
  EXPECT_EQ(notes.back(), "unknown token type \"bogus\"");
}

TEST(AuthTokenConfigTest, UnknownJwtOptionsAreAWarning) {
  std::vector<std::string> notes;
  absl::StatusOr<AuthTokenConfig> c = ParseAuthTokenConfig("jwt,pub-key=p,sign-method=RS256,zz=1,aa=2", &notes);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0], "unknown JWT options: [aa zz]");
}

}  // namespace
}  // namespace detcd::net
