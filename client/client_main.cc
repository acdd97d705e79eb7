// affsig: the thin command-line client of affsig-server (gRPC only; no LibTorch).
//
//   affsig submit --model=FILE.pt --input=FILE.npy [--activations=modules|all] [--label=k=v ...]
//                 [--name=NAME] [--priority=P] [--wait] [--format=table|json|csv]
//   affsig status JOB [--format=...]      affsig result JOB [--wait] [--format=...]
//   affsig cancel JOB
// --server defaults to $AFFSIG_SERVER, else 127.0.0.1:50051.
// Exit codes: 0 success; 1 the job failed, was cancelled or was not found; 2 usage error;
// 3 server unreachable.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/signature_client.h"
#include "common/command_line.h"
#include "common/signature.h"
#include "common/signature_format.h"

ABSL_FLAG(std::string, server, "", "HOST:PORT of affsig-server (default $AFFSIG_SERVER)");
ABSL_FLAG(std::string, model, "", "submit: TorchScript model file");
ABSL_FLAG(std::string, input, "", "submit: .npy batch, samples first");
ABSL_FLAG(std::string, activations, "modules", "submit: 'modules' (the paper's) or 'all'");
ABSL_FLAG(std::string, name, "", "submit: a name for the job");
ABSL_FLAG(int64_t, priority, 0, "submit: higher runs first");
ABSL_FLAG(bool, wait, false, "submit, result: wait for the job to end");
ABSL_FLAG(std::string, format, "table", "table, json or csv");

namespace affsig::client {
namespace {

enum ExitCode { kOk = 0, kJobNotSucceeded = 1, kUsage = 2, kUnreachable = 3 };

int Report(const absl::Status& status) {
  std::cerr << "affsig: " << status.message();
  if (status.code() == absl::StatusCode::kUnavailable) {
    std::cerr << " (is affsig-server running there? set --server or $AFFSIG_SERVER)\n";
    return kUnreachable;
  }
  std::cerr << "\n";
  return status.code() == absl::StatusCode::kNotFound ? kJobNotSucceeded : kUsage;
}

int Usage(const std::string& message) {
  std::cerr << "affsig: " << message << " (see affsig --help)\n";
  return kUsage;
}

std::string StateName(v1::JobState state) { return v1::JobState_Name(state); }

std::string JobJsonFields(const v1::Job& job) {
  return absl::StrCat("\"job_id\": ", JsonQuote(job.job_id()),
                      ", \"state\": ", JsonQuote(StateName(job.state())),
                      ", \"name\": ", JsonQuote(job.name()), ", \"attempts\": ", job.attempts(),
                      ", \"error\": ", JsonQuote(job.error()));
}

void PrintStatus(const v1::Job& job, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    std::cout << "{" << JobJsonFields(job) << "}\n";
  } else if (format == OutputFormat::kCsv) {
    std::cout << "job_id,state,name,attempts,error\n"
              << job.job_id() << "," << StateName(job.state()) << "," << job.name() << ","
              << job.attempts() << "," << job.error() << "\n";
  } else {
    std::cout << job.job_id() << "  " << StateName(job.state())
              << (job.error().empty() ? "" : "  " + job.error()) << "\n";
  }
}

Signature FromProto(const v1::Signature& proto) {
  Signature signature;
  for (const v1::SignatureEntry& e : proto.entries()) {
    SignatureEntry entry;
    entry.index = e.index();
    entry.module = e.module();
    entry.call = e.call();
    entry.op = e.op();
    entry.d = e.d();
    entry.n = e.n();
    entry.score = e.has_score() ? e.score() : 0.0;
    entry.status = ParseEntryStatus(e.status()).value_or(EntryStatus::kFailed);
    entry.reason = e.reason();
    signature.push_back(std::move(entry));
  }
  return signature;
}

int PrintResult(SignatureClient& client, const v1::Job& job, OutputFormat format) {
  auto signature = client.GetSignature(job.job_id());
  if (!signature.ok()) return Report(signature.status());
  const Signature entries = FromProto(*signature);
  if (format == OutputFormat::kJson) {
    std::cout << "{" << JobJsonFields(signature->job())
              << ", \"signature\": " << FormatSignatureJson(entries) << "}\n";
  } else if (format == OutputFormat::kCsv) {
    std::cout << FormatSignatureCsv(entries);
  } else {
    std::cerr << job.job_id() << "  " << StateName(signature->job().state()) << "\n";
    std::cout << FormatSignatureTable(entries);
  }
  if (signature->job().state() != v1::SUCCEEDED) {
    std::cerr << "affsig: job " << job.job_id() << " is " << StateName(signature->job().state())
              << (signature->job().error().empty() ? "" : ": " + signature->job().error()) << "\n";
    return kJobNotSucceeded;
  }
  return kOk;
}

absl::StatusOr<v1::Job> Wait(SignatureClient& client, const std::string& job_id) {
  const bool terminal = isatty(STDERR_FILENO);
  return client.WaitForEnd(job_id, [&](const v1::Job& job) {
    std::cerr << (terminal ? "\r" : "") << "job " << job.job_id() << ": " << StateName(job.state())
              << (terminal ? "    " : "\n");
    if (terminal && job.state() != v1::QUEUED && job.state() != v1::RUNNING) std::cerr << "\n";
  });
}

int Submit(SignatureClient& client, const std::vector<std::string>& labels, OutputFormat format) {
  if (absl::GetFlag(FLAGS_model).empty() || absl::GetFlag(FLAGS_input).empty()) {
    return Usage("submit needs --model=FILE.pt and --input=FILE.npy");
  }
  v1::SubmitJobRequest request;
  const std::string activations = absl::GetFlag(FLAGS_activations);
  if (activations != "modules" && activations != "all") {
    return Usage("--activations must be 'modules' or 'all'");
  }
  request.set_activations(activations == "all" ? v1::ALL : v1::MODULES);
  for (const std::string& label : labels) {
    const size_t equals = label.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Usage(absl::StrCat("--label wants key=value, got '", label, "'"));
    }
    (*request.mutable_labels())[label.substr(0, equals)] = label.substr(equals + 1);
  }
  auto model = client.UploadModel(absl::GetFlag(FLAGS_model));
  if (!model.ok()) return Report(model.status());
  auto input = client.UploadInput(absl::GetFlag(FLAGS_input));
  if (!input.ok()) return Report(input.status());
  request.set_model_sha256(model->sha256());
  request.set_input_sha256(input->sha256());
  request.set_name(absl::GetFlag(FLAGS_name));
  request.set_priority(absl::GetFlag(FLAGS_priority));
  auto job = client.Submit(request);
  if (!job.ok()) return Report(job.status());
  if (!absl::GetFlag(FLAGS_wait)) {
    if (format == OutputFormat::kJson) {
      std::cout << "{" << JobJsonFields(*job) << "}\n";
    }
    std::cout << job->job_id() << "\n";  // the last line: the job id
    return kOk;
  }
  auto ended = Wait(client, job->job_id());
  if (!ended.ok()) return Report(ended.status());
  return PrintResult(client, *ended, format);
}

int Run(int argc, char** argv) {
  // --label may repeat; Abseil keeps only the last, so they are taken out first.
  std::vector<std::string> labels;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (absl::StartsWith(argv[i], "--label=")) {
      labels.emplace_back(argv[i] + 8);
    } else {
      rest.push_back(argv[i]);
    }
  }
  DashesToUnderscoresInFlagNames(static_cast<int>(rest.size()), rest.data());
  absl::SetProgramUsageMessage(
      "affsig submit|status|result|cancel: signature jobs on an affsig-server");
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(rest.size()), rest.data());
  if (positional.size() < 2) return Usage("a command is needed: submit, status, result, cancel");
  const std::string command = positional[1];
  auto format = ParseOutputFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return Usage(std::string(format.status().message()));
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    const char* env = std::getenv("AFFSIG_SERVER");
    server = env != nullptr && *env != '\0' ? env : "127.0.0.1:50051";
  }
  SignatureClient client(server);

  if (command == "submit") return Submit(client, labels, *format);
  if (command != "status" && command != "result" && command != "cancel") {
    return Usage(absl::StrCat("unknown command '", command, "'"));
  }
  if (positional.size() != 3) return Usage(absl::StrCat(command, " needs one JOB id"));
  const std::string job_id = positional[2];
  if (command == "cancel") {
    auto job = client.CancelJob(job_id);
    if (!job.ok()) return Report(job.status());
    PrintStatus(*job, *format);
    return kOk;
  }
  auto job = command == "result" && absl::GetFlag(FLAGS_wait) ? Wait(client, job_id)
                                                              : client.GetJob(job_id);
  if (!job.ok()) return Report(job.status());
  if (command == "status") {
    PrintStatus(*job, *format);
    return kOk;
  }
  return PrintResult(client, *job, *format);
}

}  // namespace
}  // namespace affsig::client

int main(int argc, char** argv) { return affsig::client::Run(argc, argv); }
