// Shows a job's progress on stderr while `watch` or `submit --wait` follow it, so that stdout
// carries only the result: on a terminal one line redrawn in place with a bar; otherwise plain
// lines, one per state change and per tenth of the activations.
#ifndef AFFSIG_CLIENT_PROGRESS_DISPLAY_H_
#define AFFSIG_CLIENT_PROGRESS_DISPLAY_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "affsig/v1/signature_service.pb.h"

namespace affsig::client {

class ProgressDisplay {
 public:
  ProgressDisplay(std::ostream& out, bool terminal, int width = 30)
      : out_(out), terminal_(terminal), width_(width) {}
  ~ProgressDisplay() { Finish(); }

  void Update(const v1::Job& job);
  // Ends the redrawn line (a terminal), once.
  void Finish();

 private:
  std::string Bar(int64_t done, int64_t total) const;

  std::ostream& out_;
  bool terminal_;
  int width_;
  v1::JobState last_state_ = v1::JOB_STATE_UNSPECIFIED;
  int64_t last_tenth_ = -1;
  size_t drawn_ = 0;  // characters of the line on the terminal
};

}  // namespace affsig::client

#endif  // AFFSIG_CLIENT_PROGRESS_DISPLAY_H_
