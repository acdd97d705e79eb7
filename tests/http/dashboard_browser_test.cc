// The dashboard in a real browser (Debian's headless Chromium through chromedriver) against the
// real server: the jobs table lists the jobs, a job's page plots one point per scored entry with
// the entries not scored as marked gaps, its hover shows an entry's details, CSV and JSON
// download what is shown, and an overlay draws one series per job. Screenshots of each page are
// saved under the build tree (AFFSIG_SCREENSHOT_DIR) for people to look at.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/signature_client.h"
#include "tests/api/server_process.h"
#include "tests/http/http_test.h"
#include "tests/http/web_driver.h"
#include "tests/subprocess.h"

namespace affsig::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kPageTimeout = absl::Seconds(60);

class DashboardBrowserTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    downloads_ = dir_ / "downloads";
    std::filesystem::create_directories(downloads_);
    std::filesystem::create_directories(AFFSIG_SCREENSHOT_DIR);
    auto browser = WebDriver::Start(dir_.string(), downloads_.string(), 1400, 1000);
    ASSERT_TRUE(browser.ok()) << browser.status();
    browser_ = *std::move(browser);
  }

  void Shoot(const std::string& name) {
    const std::string path = absl::StrCat(AFFSIG_SCREENSHOT_DIR, "/", name, ".png");
    EXPECT_TRUE(browser_->Screenshot(path).ok());
    std::cout << "screenshot: " << path << std::endl;
  }

  int64_t Count(const std::string& selector) {
    auto count = browser_->Execute(
        absl::StrCat("return document.querySelectorAll('", selector, "').length;"));
    EXPECT_TRUE(count.ok()) << count.status();
    return count.ok() ? static_cast<int64_t>(count->number_value()) : -1;
  }

  std::string Text(const std::string& selector) {
    auto text = browser_->Execute(absl::StrCat("const e = document.querySelector('", selector,
                                               "'); return e ? e.textContent : '';"));
    return text.ok() ? text->string_value() : "";
  }

  // Moves the pointer over the plot at the centre of the element `selector`.
  void HoverPlotAt(const std::string& selector) {
    auto hovered = browser_->Execute(absl::StrCat(
        "const target = document.querySelector('", selector,
        "');"
        "const box = target.getBoundingClientRect();"
        "document.querySelector('svg.plot').dispatchEvent(new MouseEvent('mousemove', {"
        "  clientX: box.x + box.width / 2, clientY: box.y + box.height / 2, bubbles: true}));"
        "return !document.querySelector('.tooltip').hidden;"));
    ASSERT_TRUE(hovered.ok()) << hovered.status();
    EXPECT_TRUE(hovered->bool_value());
  }

  // The downloaded file `name`, once the browser has written it whole.
  std::string Downloaded(const std::string& name) {
    const std::filesystem::path path = downloads_ / name;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline && !std::filesystem::exists(path)) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path downloads_;
  std::unique_ptr<WebDriver> browser_;
};

TEST_F(DashboardBrowserTest, JobsTableJobPageWithItsPlotAndAnOverlay) {
  StartHttpServer();
  const std::string fixtures = CommittedFixtureDir();
  const std::string mlp = RunMlpJob("mlp-a", {{"arch", "mlp"}, {"width", "32"}});
  const std::string mlp_b =
      RunJob(mlp_->model_path, mlp_->input_path, "mlp-b", {{"arch", "mlp"}, {"width", "32"}}, 16);
  const std::string cnn = RunJob(fixtures + "/cnn_reused_relu_scripted.pt",
                                 fixtures + "/cnn_reused_relu_scripted.input.npy", "small-cnn",
                                 {{"arch", "cnn"}}, 0, v1::ALL);
  const std::string control =
      RunJob(fixtures + "/control_flow.pt", fixtures + "/control_flow.input.npy", "control-flow",
             {{"arch", "control"}}, 0, v1::ALL);
  // One that fails (not TorchScript), and one running while the table is looked at.
  const std::string broken =
      SubmitOrDie(WriteFile("broken.pt", "not a model"), mlp_->input_path, {{"arch", "none"}});
  EXPECT_EQ(WaitForEnd(broken).state(), v1::FAILED);
  const std::string running = SubmitOrDie(DeepModel(), DeepInput(512), {{"arch", "deep"}});
  WaitUntilScored(running, 1);

  // The jobs: every job listed, the finished ones with their state, the running one live.
  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/").ok());
  ASSERT_TRUE(browser_
                  ->WaitFor("return document.querySelectorAll("
                            "'tr[data-state=\"SUCCEEDED\"] td.spark svg').length === 4;",
                            kPageTimeout)
                  .ok());
  for (const std::string& id : {mlp, mlp_b, cnn, control}) {
    EXPECT_EQ(Count(absl::StrCat("tr[data-job-id=\"", id, "\"][data-state=\"SUCCEEDED\"]")), 1);
  }
  EXPECT_EQ(Count("tr[data-state=\"FAILED\"]"), 1);
  EXPECT_EQ(Count(absl::StrCat("tr[data-job-id=\"", running, "\"] .progress")), 1);
  Shoot("dashboard_jobs");

  // A filter by label, from the URL.
  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/?label=arch=mlp").ok());
  ASSERT_TRUE(
      browser_->WaitFor("return document.querySelectorAll('tbody tr').length === 2;", kPageTimeout)
          .ok());

  // A job's page, opened from the table: one point per scored entry, the GLU a marked gap.
  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/").ok());
  ASSERT_TRUE(
      browser_->WaitFor("return !!document.querySelector('a.job-link');", kPageTimeout).ok());
  ASSERT_TRUE(browser_->Click(absl::StrCat("tr[data-job-id=\"", mlp, "\"] a.job-link")).ok());
  ASSERT_TRUE(
      browser_
          ->WaitFor("return document.querySelectorAll('circle.point').length > 0;", kPageTimeout)
          .ok());
  auto path = browser_->Execute("return location.pathname;");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->string_value(), "/jobs/" + mlp);
  auto signature = client_->GetSignature(mlp);
  ASSERT_TRUE(signature.ok()) << signature.status();
  int64_t scored = 0;
  for (const v1::SignatureEntry& entry : signature->entries()) scored += entry.status() == "ok";
  EXPECT_EQ(scored, 10);
  EXPECT_EQ(Count(absl::StrCat("g.series[data-job-id=\"", mlp, "\"] circle.point")), scored);
  EXPECT_EQ(Count("path.gap-marker"), signature->entries_size() - scored);
  EXPECT_GE(Count("polygon.band"), 1);  // two batches: a ± std band
  EXPECT_EQ(Count("table.entries tbody tr"), signature->entries_size());
  EXPECT_EQ(Count("table.entries tr.not-ok"), 1);
  EXPECT_THAT(Text(".stats"), HasSubstr("scored"));

  HoverPlotAt("circle.point[data-index=\"3\"]");
  const std::string tip = Text(".tooltip");
  EXPECT_THAT(tip, HasSubstr("acts.3"));
  EXPECT_THAT(tip, HasSubstr("Sigmoid"));
  EXPECT_THAT(tip, HasSubstr("score"));
  EXPECT_THAT(tip, HasSubstr("±"));
  EXPECT_EQ(Count("table.entries tr.hovered"), 1);
  Shoot("dashboard_job");
  HoverPlotAt("path.gap-marker");
  EXPECT_THAT(Text(".tooltip"), HasSubstr("dim_mismatch"));
  Shoot("dashboard_job_gap");

  // What is shown, downloaded: one CSV row per entry, and the Signature message as JSON.
  ASSERT_TRUE(browser_->Click(".downloads button:nth-child(1)").ok());
  const std::string csv = Downloaded("signature-mlp-a.csv");
  const std::vector<std::string> rows = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(rows.size(), 1 + signature->entries_size()) << csv;
  EXPECT_EQ(rows[0],
            "job_id,name,index,depth,module,call,op,n,d,score,std,min,max,batches,"
            "status,reason");
  EXPECT_THAT(rows[10], HasSubstr("dim_mismatch"));
  ASSERT_TRUE(browser_->Click(".downloads button:nth-child(2)").ok());
  v1::Signature downloaded;
  ASSERT_TRUE(ParseJson(Downloaded("signature-mlp-a.json"), downloaded).ok());
  ExpectSameMessage(downloaded, *signature);

  // An overlay of two jobs: two series, a legend entry and a distance for each.
  ASSERT_TRUE(
      browser_->Navigate(absl::StrCat(HttpUrl(), "/overlay?job_ids=", mlp, "&job_ids=", cnn)).ok());
  ASSERT_TRUE(browser_
                  ->WaitFor("return document.querySelectorAll('g.series').length === 2 && "
                            "!!document.querySelector('table.distances');",
                            kPageTimeout)
                  .ok());
  EXPECT_EQ(Count(absl::StrCat("g.series[data-job-id=\"", mlp, "\"] circle.point")), scored);
  EXPECT_EQ(Count(absl::StrCat("g.series[data-job-id=\"", cnn, "\"]")), 1);
  EXPECT_EQ(Count(".legend-item"), 2);
  EXPECT_EQ(Count("table.distances tbody tr"), 2);
  HoverPlotAt("g.series circle.point");
  Shoot("dashboard_overlay");

  // By label: every signature carrying it.
  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/overlay?labels=arch=mlp").ok());
  ASSERT_TRUE(
      browser_->WaitFor("return document.querySelectorAll('g.series').length === 2;", kPageTimeout)
          .ok());
  EXPECT_EQ(Count(absl::StrCat("g.series[data-job-id=\"", mlp_b, "\"]")), 1);
}

// A server with --auth-tokens: the dashboard asks for a token, keeps it for the tab's session,
// sends it with every call and says who is signed in; a wrong one brings the form back.
TEST_F(DashboardBrowserTest, ASignInFormAsksForTheTokenWhereTheServerWantsOne) {
  const std::string tokens = (dir_ / "tokens").string();
  const ProcessResult added =
      RunProcess({ServerBinary(), "add-user", "--auth-tokens=" + tokens, "alice"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::vector<std::string> lines = absl::StrSplit(added.out, '\n', absl::SkipEmpty());
  const std::string token = lines.back();
  StartHttpServer({"--auth-tokens=" + tokens});
  client::ClientOptions options;
  options.token = token;
  client_ = std::make_unique<client::SignatureClient>(server_->address(), options);
  const std::string mlp = RunMlpJob("alices-mlp", {{"arch", "mlp"}});

  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/").ok());
  ASSERT_TRUE(browser_->WaitFor("return !!document.querySelector('#sign-in');", kPageTimeout).ok());
  EXPECT_EQ(Count("tbody tr"), 0);  // nothing read without a token
  Shoot("dashboard_sign_in");
  ASSERT_TRUE(browser_
                  ->Execute(absl::StrCat("document.querySelector('#token').value = '", token,
                                         "'; document.querySelector('#sign-in').requestSubmit();"
                                         " return true;"))
                  .ok());
  ASSERT_TRUE(browser_
                  ->WaitFor(absl::StrCat("return !!document.querySelector('tr[data-job-id=\"", mlp,
                                         "\"][data-state=\"SUCCEEDED\"]');"),
                            kPageTimeout)
                  .ok());
  ASSERT_TRUE(browser_
                  ->WaitFor("const c = document.querySelector('.server-status .caller');"
                            "return !!c && c.textContent.includes('alice (user)');",
                            kPageTimeout)
                  .ok());
  // A job's page reads with the same token, after a navigation (the token outlives it).
  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/jobs/" + mlp).ok());
  ASSERT_TRUE(
      browser_
          ->WaitFor("return document.querySelectorAll('circle.point').length > 0;", kPageTimeout)
          .ok());

  // A token the server does not know: the form again, saying so.
  ASSERT_TRUE(browser_
                  ->Execute("sessionStorage.setItem('affsig.token', 'affsig_wrong');"
                            " return true;")
                  .ok());
  ASSERT_TRUE(browser_->Navigate(HttpUrl() + "/").ok());
  ASSERT_TRUE(browser_->WaitFor("return !!document.querySelector('#sign-in');", kPageTimeout).ok());
  EXPECT_THAT(Text("#sign-in p"), HasSubstr("The server refused the token: unknown token"));
}

}  // namespace
}  // namespace affsig::testing
