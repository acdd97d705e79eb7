// Headless Chromium driven over WebDriver (W3C, JSON over HTTP) by Debian's chromedriver: the
// dashboard tests load pages in a real browser, read its DOM through scripts, click, and take
// screenshots.
#ifndef AFFSIG_TESTS_HTTP_WEB_DRIVER_H_
#define AFFSIG_TESTS_HTTP_WEB_DRIVER_H_

#include <google/protobuf/struct.pb.h>
#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/api/logged_process.h"

namespace affsig::testing {

class WebDriver {
 public:
  // Starts chromedriver on a free port and a headless Chromium session in a `width` x `height`
  // window; downloads go to `download_dir`. Logs go to `log_dir`.
  static absl::StatusOr<std::unique_ptr<WebDriver>> Start(const std::string& log_dir,
                                                          const std::string& download_dir,
                                                          int width, int height);
  ~WebDriver();

  absl::Status Navigate(const std::string& url);
  // Runs `script` (a function body: `return ...;`) in the page; its value.
  absl::StatusOr<google::protobuf::Value> Execute(const std::string& script);
  // Runs `script` until it returns true, up to `timeout`.
  absl::Status WaitFor(const std::string& script, absl::Duration timeout);
  // Clicks the first element matching the CSS `selector`, as a user would.
  absl::Status Click(const std::string& selector);
  // Saves the visible page as a PNG.
  absl::Status Screenshot(const std::string& path);

 private:
  WebDriver(LoggedProcess driver, std::string address)
      : driver_(std::move(driver)), http_(address) {}
  // A WebDriver command: `body` (JSON) to the session's `path`; the answer's "value".
  absl::StatusOr<google::protobuf::Value> Command(const std::string& method,
                                                  const std::string& path,
                                                  const google::protobuf::Struct& body);

  LoggedProcess driver_;
  httplib::Client http_;
  std::string session_;
};

}  // namespace affsig::testing

#endif  // AFFSIG_TESTS_HTTP_WEB_DRIVER_H_
