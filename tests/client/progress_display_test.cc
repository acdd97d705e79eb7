#include "client/progress_display.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace affsig::client {
namespace {

v1::Job Running(int64_t done, int64_t total) {
  v1::Job job;
  job.set_job_id("job-1");
  job.set_state(v1::RUNNING);
  job.mutable_progress()->set_done(done);
  job.mutable_progress()->set_total(total);
  job.mutable_progress()->set_activation("act");
  return job;
}

TEST(ProgressDisplayTest, PlainLinesAtStateChangesAndEveryTenth) {
  std::ostringstream out;
  {
    ProgressDisplay display(out, /*terminal=*/false);
    v1::Job queued;
    queued.set_job_id("job-1");
    queued.set_state(v1::QUEUED);
    display.Update(queued);
    for (int done = 0; done <= 100; ++done) display.Update(Running(done, 100));
    v1::Job ended = Running(100, 100);
    ended.set_state(v1::SUCCEEDED);
    ended.clear_progress();
    display.Update(ended);
  }
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 11 + 1);
  EXPECT_THAT(text, ::testing::HasSubstr("job job-1 RUNNING 50/100 activations (act)\n"));
  EXPECT_THAT(text, ::testing::EndsWith("job job-1 SUCCEEDED\n"));
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(ProgressDisplayTest, OneRedrawnBarOnATerminal) {
  std::ostringstream out;
  {
    ProgressDisplay display(out, /*terminal=*/true, /*width=*/10);
    display.Update(Running(3, 10));
    display.Update(Running(10, 10));
  }
  const std::string text = out.str();
  EXPECT_THAT(text, ::testing::HasSubstr("\rjob job-1 [###.......] 3/10 act"));
  EXPECT_THAT(text, ::testing::HasSubstr("\rjob job-1 [##########] 10/10 act"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);  // only when it ends
}

}  // namespace
}  // namespace affsig::client
