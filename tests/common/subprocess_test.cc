#include "common/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

namespace affsig {
namespace {

TEST(SubprocessTest, ACommandRunsToItsEndWithItsOutputsApart) {
  auto result = RunCommand({"sh", "-c", "echo out; echo \"$GREETING\" >&2; exit 3"},
                           {"GREETING=err"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
  EXPECT_EQ(RunCommand({"/no/such/program"}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(SubprocessTest, TheCommandStartsWithNoSignalBlocked) {
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  auto result = RunCommand({"grep", "SigBlk", "/proc/self/status"});
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->out, ::testing::HasSubstr("0000000000000000"));
}

}  // namespace
}  // namespace affsig
