#include "proto/channel_credentials.h"

#include <gmock/gmock.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "tests/scratch_dir.h"

namespace affsig {
namespace {

using ::testing::HasSubstr;

class ChannelCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* variable :
         {"AFFSIG_TLS", "AFFSIG_TLS_CA", "AFFSIG_TLS_CERT", "AFFSIG_TLS_KEY"}) {
      unsetenv(variable);
    }
  }
};

TEST_F(ChannelCredentialsTest, FlagsWinOverVariablesAndACaOrACertificateMeansTls) {
  EXPECT_FALSE(ChannelSecurityFromFlags(false, "", "", "").tls);
  EXPECT_TRUE(ChannelSecurityFromFlags(true, "", "", "").tls);
  EXPECT_TRUE(ChannelSecurityFromFlags(false, "", "cert.pem", "key.pem").tls);

  setenv("AFFSIG_TLS_CA", "env-ca.pem", 1);
  setenv("AFFSIG_TLS_KEY", "env-key.pem", 1);
  const ChannelSecurity from_variables = ChannelSecurityFromFlags(false, "", "cert.pem", "");
  EXPECT_TRUE(from_variables.tls);
  EXPECT_EQ(from_variables.ca_file, "env-ca.pem");
  EXPECT_EQ(from_variables.cert_file, "cert.pem");
  EXPECT_EQ(from_variables.key_file, "env-key.pem");
  EXPECT_EQ(ChannelSecurityFromFlags(false, "ca.pem", "", "").ca_file, "ca.pem");

  unsetenv("AFFSIG_TLS_CA");
  setenv("AFFSIG_TLS", "1", 1);
  EXPECT_TRUE(ChannelSecurityFromFlags(false, "", "", "").tls);
  setenv("AFFSIG_TLS", "0", 1);
  EXPECT_FALSE(ChannelSecurityFromFlags(false, "", "", "").tls);
}

TEST_F(ChannelCredentialsTest, FilesAreReadNowAndTheirErrorsNameTheirFlag) {
  const std::string dir = testing::FreshScratchDir().string();
  std::ofstream(dir + "/not.pem") << "not a certificate";
  ChannelSecurity security{true, dir + "/missing.pem", "", ""};
  auto missing = GrpcChannelCredentials(security, "127.0.0.1:1");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("--tls-ca=" + dir + "/missing.pem"));

  security.ca_file = dir + "/not.pem";
  auto not_pem = GrpcChannelCredentials(security, "127.0.0.1:1");
  ASSERT_FALSE(not_pem.ok());
  EXPECT_THAT(not_pem.status().message(), HasSubstr("not a PEM file"));

  security.ca_file = "";
  security.cert_file = dir + "/cert.pem";
  auto half = GrpcChannelCredentials(security, "127.0.0.1:1");
  ASSERT_FALSE(half.ok());
  EXPECT_THAT(half.status().message(), HasSubstr("--tls-cert and --tls-key go together"));

  // The system's roots need no file; a Unix socket is plaintext whatever the flags say.
  EXPECT_TRUE(GrpcChannelCredentials({true, "", "", ""}, "127.0.0.1:1").ok());
  EXPECT_TRUE(GrpcChannelCredentials(security, "unix:/run/affsig/workers.sock").ok());
  EXPECT_TRUE(GrpcChannelCredentials(security, "unix-abstract:affsig-server/1/2").ok());
}

}  // namespace
}  // namespace affsig
