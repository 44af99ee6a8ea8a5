// net/tls: the --auto-tls certificate is generated once, reused afterwards, names the hosts as SANs and matches its
// key; unreadable files and mismatched pairs get Go's wording.
#include "net/tls.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

std::string TmpDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

TEST(SelfSignedCertTest, GeneratesReloadsAndNamesTheHosts) {
  const std::string dir = TmpDir("gen/fixtures/client");  // parents are created too
  absl::StatusOr<CertKeyFiles> files =
      SelfSignedCert({"127.0.0.1", "localhost", "::1", "127.0.0.1", "", "node1.example"}, dir);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->cert_file, dir + "/cert.pem");
  EXPECT_EQ(files->key_file, dir + "/key.pem");
  absl::StatusOr<std::string> cert = ReadFile(files->cert_file);
  absl::StatusOr<std::string> key = ReadFile(files->key_file);
  ASSERT_TRUE(cert.ok() && key.ok());
  EXPECT_NE(cert->find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(key->find("-----BEGIN EC PRIVATE KEY-----"), std::string::npos);
  EXPECT_TRUE(CheckKeyPair(*cert, *key).ok()) << CheckKeyPair(*cert, *key);

  absl::StatusOr<std::vector<std::string>> sans = CertificateSans(*cert);
  ASSERT_TRUE(sans.ok()) << sans.status();
  EXPECT_EQ(*sans, (std::vector<std::string>{"IP:127.0.0.1", "DNS:localhost", "IP:::1", "DNS:node1.example"}));

  struct stat st;
  ASSERT_EQ(stat(files->key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the private key must not be readable by others";

  // A second start reuses both files byte for byte, even with other hosts.
  absl::StatusOr<CertKeyFiles> again = SelfSignedCert({"10.0.0.1"}, dir);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*ReadFile(again->cert_file), *cert);
  EXPECT_EQ(*ReadFile(again->key_file), *key);
}

TEST(SelfSignedCertTest, RegeneratesWhenOneFileIsMissing) {
  const std::string dir = TmpDir("half");
  absl::StatusOr<CertKeyFiles> files = SelfSignedCert({"127.0.0.1"}, dir);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::string first = *ReadFile(files->cert_file);
  ASSERT_EQ(unlink(files->key_file.c_str()), 0);
  ASSERT_TRUE(SelfSignedCert({"127.0.0.1"}, dir).ok());
  const std::string second = *ReadFile(files->cert_file);
  EXPECT_NE(first, second);
  EXPECT_TRUE(CheckKeyPair(second, *ReadFile(files->key_file)).ok());
}

TEST(CheckKeyPairTest, RefusesAKeyOfAnotherCertificateAndGarbage) {
  absl::StatusOr<CertKeyFiles> a = SelfSignedCert({"127.0.0.1"}, TmpDir("a"));
  absl::StatusOr<CertKeyFiles> b = SelfSignedCert({"127.0.0.1"}, TmpDir("b"));
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string cert_a = *ReadFile(a->cert_file);
  const std::string key_b = *ReadFile(b->key_file);
  EXPECT_EQ(CheckKeyPair(cert_a, key_b).message(), "tls: private key does not match public key");
  EXPECT_EQ(CheckKeyPair("garbage", key_b).message(), "tls: failed to find any PEM data in certificate input");
  EXPECT_EQ(CheckKeyPair(cert_a, "garbage").message(), "tls: failed to find any PEM data in key input");
  // A certificate where the key belongs (a common mix-up of --cert-file and --key-file).
  EXPECT_FALSE(CheckKeyPair(key_b, cert_a).ok());
}

TEST(ReadFileTest, GoWording) {
  const std::string missing = TmpDir("nope/cert.pem");
  EXPECT_EQ(ReadFile(missing).status().message(), "open " + missing + ": no such file or directory");
  const std::string dir = TmpDir("");
  EXPECT_EQ(ReadFile(dir).status().message(), "read " + dir + ": is a directory");
}

}  // namespace
}  // namespace detcd::net
