#include "common/reload_signal.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace affsig {
namespace {

bool AwaitCount(const std::atomic<int>& count, int expected) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (count.load() < expected) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(ReloadSignalTest, CallsAtEverySighupUntilTheSubscriptionIsGone) {
  BlockReloadSignal();  // before the subscription's thread starts, as main does.
  std::atomic<int> reloads{0};
  auto subscription = std::make_unique<ReloadSubscription>([&reloads] { ++reloads; });
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(AwaitCount(reloads, 1));
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(AwaitCount(reloads, 2));

  subscription.reset();
  // The signal is still taken (blocked, waited for), and calls nothing: the process lives on.
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(reloads.load(), 2);
}

}  // namespace
}  // namespace affsig
