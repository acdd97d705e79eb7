#include "tests/http/web_driver.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/http/http_test.h"

namespace affsig::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

Value Text(const std::string& text) {
  Value value;
  value.set_string_value(text);
  return value;
}

Value List(const std::vector<std::string>& items) {
  Value value;
  for (const std::string& item : items) *value.mutable_list_value()->add_values() = Text(item);
  return value;
}

Value Object(Struct fields) {
  Value value;
  *value.mutable_struct_value() = std::move(fields);
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebDriver>> WebDriver::Start(const std::string& log_dir,
                                                            const std::string& download_dir,
                                                            int width, int height) {
  const int port = FreePort();
  auto driver = LoggedProcess::Start({"/usr/bin/chromedriver", absl::StrCat("--port=", port)},
                                     log_dir + "/chromedriver.log");
  if (!driver.ok()) return driver.status();
  if (!driver->WaitForLog("started successfully", absl::Seconds(30))) {
    return absl::UnavailableError("chromedriver did not start: " + driver->Log());
  }
  std::unique_ptr<WebDriver> web(
      new WebDriver(*std::move(driver), absl::StrCat("http://127.0.0.1:", port)));
  web->http_.set_read_timeout(120);

  // Headless Chromium as root in a container: no sandbox, no GPU, /tmp for shared memory.
  Struct chrome;
  (*chrome.mutable_fields())["binary"] = Text("/usr/bin/chromium");
  (*chrome.mutable_fields())["args"] =
      List({"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--hide-scrollbars", "--force-device-scale-factor=1",
            absl::StrCat("--window-size=", width, ",", height),
            "--user-data-dir=" + log_dir + "/chromium-profile"});
  Struct preferences;
  (*preferences.mutable_fields())["download.default_directory"] = Text(download_dir);
  (*preferences.mutable_fields())["download.prompt_for_download"].set_bool_value(false);
  (*chrome.mutable_fields())["prefs"] = Object(preferences);
  Struct always;
  (*always.mutable_fields())["browserName"] = Text("chrome");
  (*always.mutable_fields())["goog:chromeOptions"] = Object(chrome);
  Struct capabilities;
  (*capabilities.mutable_fields())["alwaysMatch"] = Object(always);
  Struct request;
  (*request.mutable_fields())["capabilities"] = Object(capabilities);
  auto session = web->Command("POST", "/session", request);
  if (!session.ok()) return session.status();
  web->session_ = session->struct_value().fields().at("sessionId").string_value();
  return web;
}

WebDriver::~WebDriver() {
  if (!session_.empty()) (void)Command("DELETE", "", Struct());
}

absl::StatusOr<Value> WebDriver::Command(const std::string& method, const std::string& path,
                                         const Struct& body) {
  const std::string url = session_.empty() ? path : "/session/" + session_ + path;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(body, &json);
  httplib::Request request;
  request.method = method;
  request.path = url;
  if (method == "POST") {
    request.body = json;
    request.set_header("Content-Type", "application/json");
  }
  httplib::Result result = http_.send(request);
  if (!result) {
    return absl::UnavailableError(
        absl::StrCat("chromedriver: ", httplib::to_string(result.error())));
  }
  Struct answer;
  if (absl::Status parsed = ParseJson(result->body, answer); !parsed.ok()) return parsed;
  if (result->status != 200) {
    return absl::InternalError(absl::StrCat(method, " ", url, ": ", result->body));
  }
  return answer.fields().at("value");
}

absl::Status WebDriver::Navigate(const std::string& url) {
  Struct body;
  (*body.mutable_fields())["url"] = Text(url);
  return Command("POST", "/url", body).status();
}

absl::StatusOr<Value> WebDriver::Execute(const std::string& script) {
  Struct body;
  (*body.mutable_fields())["script"] = Text(script);
  (*body.mutable_fields())["args"].mutable_list_value();
  return Command("POST", "/execute/sync", body);
}

absl::Status WebDriver::WaitFor(const std::string& script, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    auto value = Execute(script);
    if (!value.ok()) return value.status();
    if (value->bool_value()) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("the page never satisfied: " + script);
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status WebDriver::Click(const std::string& selector) {
  Struct find;
  (*find.mutable_fields())["using"] = Text("css selector");
  (*find.mutable_fields())["value"] = Text(selector);
  auto element = Command("POST", "/element", find);
  if (!element.ok()) return element.status();
  // The W3C element reference's key.
  const std::string id =
      element->struct_value().fields().at("element-6066-11e4-a52e-4f735466cecf").string_value();
  return Command("POST", "/element/" + id + "/click", Struct()).status();
}

absl::Status WebDriver::Screenshot(const std::string& path) {
  auto png = Command("GET", "/screenshot", Struct());
  if (!png.ok()) return png.status();
  std::string bytes;
  if (!absl::Base64Unescape(png->string_value(), &bytes)) {
    return absl::InternalError("the screenshot is not base64");
  }
  std::ofstream(path, std::ios::binary) << bytes;
  return absl::OkStatus();
}

}  // namespace affsig::testing
