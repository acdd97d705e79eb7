#include "server/launchers/child_process.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace affsig::launchers {
namespace {

using ::testing::HasSubstr;

TEST(ChildProcessTest, ABoundChildGetsACleanSignalMaskAndMergedOutput) {
  // The server blocks SIGTERM in every thread; its children must not inherit that.
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  auto child = SpawnBoundChild(
      {"/bin/sh", "-c", "grep SigBlk /proc/self/status; echo to-stderr >&2; sleep 30"});
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ASSERT_TRUE(child.ok()) << child.status();
  FILE* output = fdopen(child->output_fd, "r");
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof(line), output), nullptr);
  EXPECT_THAT(line, HasSubstr("0000000000000000"));  // nothing blocked
  ASSERT_NE(fgets(line, sizeof(line), output), nullptr);
  EXPECT_STREQ(line, "to-stderr\n");
  kill(child->pid, SIGTERM);
  int status = 0;
  waitpid(child->pid, &status, 0);
  fclose(output);
  EXPECT_EQ(DescribeExit(status), "signal 15");
}

// Dead or a zombie: a zombie's parent (init, for an orphan) may reap it late.
bool Gone(pid_t pid) {
  FILE* stat = fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (stat == nullptr) return true;
  char state = '?';
  const int read = fscanf(stat, "%*d (%*[^)]) %c", &state);
  fclose(stat);
  return read == 1 && (state == 'Z' || state == 'X');
}

TEST(ChildProcessTest, ABoundChildDiesWithItsParentHoweverTheParentDies) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {  // a stand-in for the server, which is then killed with SIGKILL
    auto child = SpawnBoundChild({"/bin/sleep", "600"});
    const pid_t pid = child.ok() ? child->pid : -1;
    if (write(fds[1], &pid, sizeof(pid)) != sizeof(pid)) _exit(1);
    pause();
    _exit(0);
  }
  close(fds[1]);
  pid_t child = -1;
  ASSERT_EQ(read(fds[0], &child, sizeof(child)), static_cast<ssize_t>(sizeof(child)));
  close(fds[0]);
  ASSERT_GT(child, 0);
  EXPECT_FALSE(Gone(child));
  kill(parent, SIGKILL);
  waitpid(parent, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = Gone(child);
    if (!gone) usleep(10000);
  }
  EXPECT_TRUE(gone) << "the child " << child << " outlived its parent";
  if (!gone) kill(child, SIGKILL);
}

TEST(ChildProcessTest, ExitsAreDescribedForTheLog) {
  auto child = SpawnBoundChild({"/bin/sh", "-c", "exit 75"});
  ASSERT_TRUE(child.ok());
  int status = 0;
  waitpid(child->pid, &status, 0);
  close(child->output_fd);
  EXPECT_EQ(DescribeExit(status), "exit status 75");
}

}  // namespace
}  // namespace affsig::launchers
