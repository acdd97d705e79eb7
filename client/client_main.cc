// affsig: the thin command-line client of affsig-server (gRPC only; no LibTorch).
//
//   affsig submit --model=FILE.pt --input=FILE.npy [--activations=modules|all] [--label=k=v ...]
//                 [--name=NAME] [--priority=P] [--timeout=SECONDS] [--wait]
//                 [--measures=shrinkage,cka,sparsity,entropy,norm,r2|all]
//   affsig status JOB | watch JOB | result JOB [--wait] | cancel JOB | delete JOB
//   affsig list [--state=STATE] [--label=k=v|k ...] [--name=NAME] [--model=SHA256|FILE]
//               [--limit=N]
//   affsig models upload FILE... | models list [--limit=N]
//   affsig info | health
// Every command takes --server (default $AFFSIG_SERVER, else 127.0.0.1:50051) and
// --format=table|json|csv. Progress goes to stderr, results to stdout.
// Exit codes: 0 success; 1 the job failed, was cancelled or was not found; 2 usage error, a
// request the server refused, or a TLS handshake that failed (no retry mends it); 3 server
// unreachable.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/analysis_format.h"
#include "client/output_format.h"
#include "client/progress_display.h"
#include "client/signature_client.h"
#include "common/analysis_options.h"
#include "common/auth_token.h"
#include "common/command_line.h"
#include "common/sha256.h"
#include "common/signature_format.h"
#include "common/status_macros.h"
#include "proto/channel_credentials.h"
#include "proto/proto_types.h"

ABSL_FLAG(std::string, server, "", "HOST:PORT of affsig-server (default $AFFSIG_SERVER)");
ABSL_FLAG(std::string, format, "table", "table, json or csv");
ABSL_FLAG(std::string, token, "",
          "the token for a server with --auth-tokens (default $AFFSIG_TOKEN, else the first line "
          "of ~/.config/affsig/token, which must be mode 0600)");
ABSL_FLAG(bool, mine, false, "list: only the jobs I submitted");
ABSL_FLAG(std::string, owner, "", "list: only the jobs this user submitted");
ABSL_FLAG(bool, tls, false, "speak TLS, verifying the server with the system's roots");
ABSL_FLAG(std::string, tls_ca, "",
          "speak TLS, verifying the server with this PEM file's authority (default "
          "$AFFSIG_TLS_CA)");
ABSL_FLAG(std::string, tls_cert, "",
          "a client certificate to present, PEM, with --tls-key (default $AFFSIG_TLS_CERT)");
ABSL_FLAG(std::string, tls_key, "", "the key of --tls-cert, PEM (default $AFFSIG_TLS_KEY)");
ABSL_FLAG(int64_t, connect_timeout, 20,
          "seconds to wait for the server to be reachable (it may be busy or restarting)");
ABSL_FLAG(std::string, request_id, "",
          "submit: an id for this submission (a UUID); submitting again with the same id returns "
          "the job it made instead of making a second one (default: a random id)");
ABSL_FLAG(std::string, model, "",
          "submit: TorchScript model file; list: only jobs of this model (sha256 or file)");
ABSL_FLAG(std::string, input, "",
          "submit: a local .npy or torch.save'd .pt tensor, samples first (uploaded)");
ABSL_FLAG(std::string, data, "",
          "submit: a data source instead of --input: server:/path/x.npy, "
          "random:3x224x224,count=512,seed=0, imagefolder:/path, cifar10:/path, cifar100:/path, "
          "mnist:/path (paths on the server, under its --data-root)");
ABSL_FLAG(int64_t, batch_size, 0, "submit: samples per batch (0: all in one batch)");
ABSL_FLAG(int64_t, batches, 0, "submit: how many batches (0: every full batch)");
ABSL_FLAG(std::string, shuffle_seed, "", "submit: shuffle the samples with this seed");
ABSL_FLAG(std::string, resize, "",
          "submit: resize the shorter side to this (0: no resize; default 256 for images)");
ABSL_FLAG(std::string, crop, "",
          "submit: center-crop to this (0: no crop; default 224 for images)");
ABSL_FLAG(std::string, mean, "",
          "submit: per-channel mean to normalize with, comma-separated (default ImageNet's for "
          "images)");
ABSL_FLAG(std::string, std, "", "submit: per-channel std to normalize with, comma-separated");
ABSL_FLAG(bool, grayscale_to_rgb, false, "submit: repeat a single channel three times");
ABSL_FLAG(std::string, activations, "modules", "submit: 'modules' (the paper's) or 'all'");
ABSL_FLAG(std::string, optimize, "auto",
          "submit: 'auto' runs the forward frozen and channels_last where LibTorch can (scores "
          "differ by rounding only), 'off' the model's own forward");
ABSL_FLAG(std::string, measures, "",
          "submit: companion measures of every scored entry, comma-separated: shrinkage, cka, "
          "sparsity, entropy, norm, r2, or all (default none: they cost time)");
ABSL_FLAG(std::string, name, "", "submit: a name for the job; list: only jobs of this name");
ABSL_FLAG(int64_t, priority, 0, "submit: higher runs first");
ABSL_FLAG(int64_t, timeout, 0,
          "submit: seconds the job may run before it ends FAILED, not retried (0: the server's "
          "--job-timeout)");
ABSL_FLAG(bool, wait, false, "submit, result: wait for the job to end, progress on stderr");
ABSL_FLAG(std::string, state, "",
          "list: only jobs in this state (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)");
ABSL_FLAG(int, limit, 50, "list, models list: at most this many rows, newest first (0: all)");
ABSL_FLAG(bool, stats, false,
          "list: the statistics of each SUCCEEDED job's signature (mean, median, std, min, max, "
          "range, depth of the lowest score)");
ABSL_FLAG(std::string, distance, "dtw",
          "compare, cluster: dtw (any lengths), euclidean or correlation (1 - Pearson r; equal "
          "lengths, or --resample)");
ABSL_FLAG(std::string, value, "score",
          "compare, cluster: what is compared per entry: score, or a measure the jobs were "
          "submitted with (shrinkage_score, cka, sparsity_before, sparsity_after, "
          "entropy_before, entropy_after, norm, r2)");
ABSL_FLAG(int64_t, resample, 0,
          "compare, cluster: resample every signature to this many points over relative depth");
ABSL_FLAG(std::string, linkage, "average", "cluster: average, complete, single or ward");
ABSL_FLAG(int64_t, k, 0, "cluster: cut the tree into at most K flat clusters");
ABSL_FLAG(std::string, threshold, "",
          "cluster: cut the tree at this distance (jobs closer share a flat cluster)");
ABSL_FLAG(std::string, stat, "mean",
          "correlate: the statistic of each signature: mean, median, std, min, max or range");
ABSL_FLAG(std::string, group_by, "", "correlate: one correlation per value of this label");

namespace affsig::client {
namespace {

constexpr char kHelp[] =
    "affsig COMMAND [flags]: signature jobs on an affsig-server.\n"
    "  submit --model=FILE.pt (--input=FILE.npy|.pt | --data=SOURCE) [--activations=modules|all]\n"
    "         [--label=k=v ...] [--name=NAME] [--priority=P] [--timeout=SECONDS] [--wait]\n"
    "         [--request-id=ID] [--optimize=auto|off]\n"
    "         [--measures=shrinkage,cka,sparsity,entropy,norm,r2|all]\n"
    "         [--batch-size=B] [--batches=K] [--shuffle-seed=S] [--resize=R] [--crop=C]\n"
    "         [--mean=a,b,c] [--std=a,b,c] [--grayscale-to-rgb]\n"
    "  SOURCE: server:/path/x.npy | random:3x224x224,count=512,seed=0 | imagefolder:/path |\n"
    "          cifar10:/path | cifar100:/path | mnist:/path (paths on the server)\n"
    "  status JOB | watch JOB | result JOB [--wait] | cancel JOB | delete JOB\n"
    "  list [--state=STATE] [--label=k=v|k ...] [--name=NAME] [--model=SHA256|FILE] [--limit=N]\n"
    "       [--mine | --owner=USER] [--stats]\n"
    "  compare JOB... | --label=k=v ... [--distance=dtw|euclidean|correlation] [--resample=L]\n"
    "          [--value=score|cka|r2|...]\n"
    "  cluster JOB... | --label=k=v ... [--distance=...] [--linkage=average|complete|single|ward]\n"
    "          [--k=K | --threshold=T]\n"
    "  correlate --label=KEY [--stat=mean|median|std|min|max|range] [--filter=k=v ...]\n"
    "            [--group-by=KEY]\n"
    "  models upload FILE... | models list [--limit=N]\n"
    "  info | health\n"
    "Flags everywhere: --server=HOST:PORT (default $AFFSIG_SERVER, else 127.0.0.1:50051),\n"
    "--token=TOKEN (default $AFFSIG_TOKEN, else ~/.config/affsig/token, mode 0600),\n"
    "--tls-ca=PEM (default $AFFSIG_TLS_CA) or --tls (the system's roots) for a TLS server,\n"
    "--format=table|json|csv, --connect-timeout=SECONDS (default 20). Exit codes: 0 ok;\n"
    "1 job failed, cancelled or not found; 2 usage error, request refused or TLS handshake\n"
    "failed; 3 server unreachable.";

enum ExitCode { kOk = 0, kJobNotSucceeded = 1, kUsage = 2, kUnreachable = 3 };

struct Invocation {
  std::vector<std::string> args;     // after the command
  std::vector<std::string> labels;   // every --label
  std::vector<std::string> filters;  // every --filter (correlate)
  OutputFormat format = OutputFormat::kTable;
};

int Report(const absl::Status& status) {
  std::cerr << "affsig: " << status.message();
  if (status.code() == absl::StatusCode::kUnavailable) {
    std::cerr << " (is affsig-server running there? set --server or $AFFSIG_SERVER)\n";
    return kUnreachable;
  }
  if (status.code() == absl::StatusCode::kNotFound) {
    std::cerr << " (affsig list shows the jobs)\n";
    return kJobNotSucceeded;
  }
  std::cerr << "\n";
  return kUsage;
}

int Usage(const std::string& message) {
  std::cerr << "affsig: " << message << " (see affsig --help)\n";
  return kUsage;
}

// Fetches pages until `limit` rows (0: all); `fetch_page` sends the request and appends the rows,
// returning how many and the next page's token. Returns whether rows were left over.
template <typename Request, typename FetchPage>
absl::StatusOr<bool> FetchRows(Request request, int limit, FetchPage fetch_page) {
  int rows = 0;
  do {
    request.set_page_size(limit == 0 ? 1000 : std::min(1000, limit - rows));
    ASSIGN_OR_RETURN(auto page, fetch_page(request));
    rows += page.first;
    request.set_page_token(page.second);
  } while (!request.page_token().empty() && (limit == 0 || rows < limit));
  return !request.page_token().empty();
}

// Follows the job to its end with progress on stderr.
absl::StatusOr<v1::Job> Follow(SignatureClient& client, const std::string& job_id) {
  ProgressDisplay display(std::cerr, isatty(STDERR_FILENO));
  auto job = client.Watch(job_id, [&](const v1::Job& update) { display.Update(update); });
  display.Finish();
  return job;
}

int PrintResult(SignatureClient& client, const std::string& job_id, OutputFormat format) {
  auto signature = client.GetSignature(job_id);
  if (!signature.ok()) return Report(signature.status());
  const v1::Job& job = signature->job();
  if (job.state() == v1::SUCCEEDED || format == OutputFormat::kJson) {
    std::cout << FormatResult(*signature, format);
  }
  if (job.state() != v1::SUCCEEDED) {
    std::cerr << "affsig: job " << job_id << " is " << v1::JobState_Name(job.state())
              << (job.error().empty() ? "" : ": " + job.error()) << "\n";
    return kJobNotSucceeded;
  }
  return kOk;
}

// --resize and --crop: "" unset (the server's default), else a size (0: off).
absl::Status SetSize(const std::string& flag, const std::string& text,
                     void (v1::DataOptions::*set)(int64_t), v1::DataOptions& options) {
  if (text.empty()) return absl::OkStatus();
  int64_t size = 0;
  if (!absl::SimpleAtoi(text, &size) || size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be a size, got '", text, "'"));
  }
  (options.*set)(size);
  return absl::OkStatus();
}

absl::Status SetValues(const std::string& flag, const std::string& text,
                       google::protobuf::RepeatedField<double>* values) {
  if (text.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    double value = 0.0;
    if (!absl::SimpleAtod(part, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " wants numbers separated by commas, got '", text, "'"));
    }
    values->Add(value);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DataOptions> DataOptionsFromFlags() {
  v1::DataOptions options;
  options.set_batch_size(absl::GetFlag(FLAGS_batch_size));
  options.set_batches(absl::GetFlag(FLAGS_batches));
  if (options.batch_size() < 0 || options.batches() < 0) {
    return absl::InvalidArgumentError("--batch-size and --batches must not be negative");
  }
  if (const std::string seed = absl::GetFlag(FLAGS_shuffle_seed); !seed.empty()) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(seed, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--shuffle-seed must be a whole number, got '", seed, "'"));
    }
    options.set_shuffle_seed(value);
  }
  for (absl::Status status :
       {SetSize("resize", absl::GetFlag(FLAGS_resize), &v1::DataOptions::set_resize, options),
        SetSize("crop", absl::GetFlag(FLAGS_crop), &v1::DataOptions::set_crop, options),
        SetValues("mean", absl::GetFlag(FLAGS_mean), options.mutable_mean()),
        SetValues("std", absl::GetFlag(FLAGS_std), options.mutable_std())}) {
    RETURN_IF_ERROR(status);
  }
  options.set_grayscale_to_rgb(absl::GetFlag(FLAGS_grayscale_to_rgb));
  return options;
}

int Submit(SignatureClient& client, const Invocation& call) {
  const std::string model = absl::GetFlag(FLAGS_model);
  const std::string input = absl::GetFlag(FLAGS_input);
  const std::string data = absl::GetFlag(FLAGS_data);
  if (model.empty() || input.empty() == data.empty()) {
    return Usage("submit needs --model=FILE.pt and either --input=FILE.npy or --data=SOURCE");
  }
  for (const std::string& file : {model, input}) {
    if (!file.empty() && !std::filesystem::is_regular_file(file)) {
      return Usage(absl::StrCat("no file '", file, "'"));
    }
  }
  auto options = DataOptionsFromFlags();
  if (!options.ok()) return Usage(std::string(options.status().message()));
  if (absl::GetFlag(FLAGS_timeout) < 0) return Usage("--timeout must not be negative");
  const std::string activations = absl::GetFlag(FLAGS_activations);
  if (activations != "modules" && activations != "all") {
    return Usage("--activations must be 'modules' or 'all'");
  }
  const std::string optimize = absl::GetFlag(FLAGS_optimize);
  if (optimize != "auto" && optimize != "off") return Usage("--optimize must be 'auto' or 'off'");
  auto measures = ParseMeasureList(absl::GetFlag(FLAGS_measures));
  if (!measures.ok()) return Usage(absl::StrCat("--measures: ", measures.status().message()));
  v1::SubmitJobRequest request;
  MeasureSelectionToProto(*measures, request.mutable_measures());
  request.set_activations(activations == "all" ? v1::ALL : v1::MODULES);
  request.set_optimize(optimize == "off" ? v1::OPTIMIZE_OFF : v1::OPTIMIZE_AUTO);
  for (const std::string& label : call.labels) {
    const size_t equals = label.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Usage(absl::StrCat("--label wants key=value, got '", label, "'"));
    }
    (*request.mutable_labels())[label.substr(0, equals)] = label.substr(equals + 1);
  }
  auto model_blob = client.EnsureUploaded(model, BlobKind::kModel);
  if (!model_blob.ok()) return Report(model_blob.status());
  request.set_model_sha256(model_blob->sha256);
  if (!input.empty()) {
    auto input_blob = client.EnsureUploaded(input, BlobKind::kInput);
    if (!input_blob.ok()) return Report(input_blob.status());
    request.set_input_sha256(input_blob->sha256);
  }
  request.set_data_source(data);
  *request.mutable_data_options() = *options;
  request.set_name(absl::GetFlag(FLAGS_name));
  request.set_priority(absl::GetFlag(FLAGS_priority));
  request.set_timeout_seconds(absl::GetFlag(FLAGS_timeout));
  request.set_request_id(absl::GetFlag(FLAGS_request_id));
  auto job = client.Submit(request);
  if (!job.ok()) return Report(job.status());
  if (!absl::GetFlag(FLAGS_wait)) {
    if (call.format == OutputFormat::kJson) std::cout << JobJson(*job) << "\n";
    std::cout << job->job_id() << "\n";  // the last line: the job id
    return kOk;
  }
  auto ended = Follow(client, job->job_id());
  if (!ended.ok()) return Report(ended.status());
  return PrintResult(client, job->job_id(), call.format);
}

int List(SignatureClient& client, const Invocation& call) {
  v1::ListJobsRequest request;
  if (const std::string state = absl::GetFlag(FLAGS_state); !state.empty()) {
    v1::JobState parsed;
    if (!v1::JobState_Parse(state, &parsed) || parsed == v1::JOB_STATE_UNSPECIFIED) {
      return Usage(
          absl::StrCat("--state must be QUEUED, RUNNING, SUCCEEDED, FAILED or "
                       "CANCELLED, got '",
                       state, "'"));
    }
    request.set_state(parsed);
  }
  if (const std::string model = absl::GetFlag(FLAGS_model); !model.empty()) {
    if (IsSha256Hex(model)) {
      request.set_model_sha256(model);
    } else if (auto sha = FileSha256(model); sha.ok()) {
      request.set_model_sha256(*sha);
    } else {
      return Usage(absl::StrCat("--model must be a sha256 or a model file, got '", model, "'"));
    }
  }
  request.set_name(absl::GetFlag(FLAGS_name));
  request.mutable_labels()->Add(call.labels.begin(), call.labels.end());
  request.set_owner(absl::GetFlag(FLAGS_owner));
  if (absl::GetFlag(FLAGS_mine)) {
    if (!request.owner().empty()) return Usage("--mine and --owner exclude each other");
    // Who I am is the server's to say: it knows the user my token names.
    auto info = client.GetServerInfo();
    if (!info.ok()) return Report(info.status());
    request.set_owner(info->caller().user());
  }
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 0) return Usage("--limit must not be negative");
  std::vector<v1::Job> jobs;
  auto more = FetchRows(
      request, limit,
      [&](const v1::ListJobsRequest& page_request) -> absl::StatusOr<std::pair<int, std::string>> {
        ASSIGN_OR_RETURN(auto page, client.ListJobs(page_request));
        jobs.insert(jobs.end(), page.jobs().begin(), page.jobs().end());
        return std::make_pair(page.jobs_size(), page.next_page_token());
      });
  if (!more.ok()) return Report(more.status());
  std::cout << FormatJobs(jobs, call.format, absl::GetFlag(FLAGS_stats));
  if (*more) {
    std::cerr << "affsig: more jobs than --limit=" << limit << " (--limit=0 lists all)\n";
  }
  return kOk;
}

int Models(SignatureClient& client, const Invocation& call) {
  const std::string action = call.args.empty() ? "" : call.args[0];
  if (action == "upload") {
    if (call.args.size() < 2) return Usage("models upload needs one or more FILEs");
    for (size_t i = 1; i < call.args.size(); ++i) {
      auto blob = client.Upload(call.args[i], BlobKind::kModel);
      if (!blob.ok()) return Report(blob.status());
      std::cout << blob->sha256() << "  " << call.args[i]
                << (blob->already_stored() ? "  (already on the server)" : "") << "\n";
    }
    return kOk;
  }
  if (action != "list" || call.args.size() != 1)
    return Usage("use: models upload FILE... | models list");
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 0) return Usage("--limit must not be negative");
  std::vector<v1::Blob> models;
  auto more = FetchRows(v1::ListModelsRequest(), limit,
                        [&](const v1::ListModelsRequest& page_request)
                            -> absl::StatusOr<std::pair<int, std::string>> {
                          ASSIGN_OR_RETURN(auto page, client.ListModels(page_request));
                          models.insert(models.end(), page.models().begin(), page.models().end());
                          return std::make_pair(page.models_size(), page.next_page_token());
                        });
  if (!more.ok()) return Report(more.status());
  std::cout << FormatModels(models, call.format);
  return kOk;
}

// compare and cluster: the jobs named, or the SUCCEEDED jobs carrying every --label.
absl::StatusOr<v1::CompareSignaturesRequest> ComparisonFromFlags(const Invocation& call) {
  v1::CompareSignaturesRequest request;
  if (call.args.empty() == call.labels.empty()) {
    return absl::InvalidArgumentError("name the JOBs to compare, or select them by --label");
  }
  request.mutable_signatures()->mutable_job_ids()->Add(call.args.begin(), call.args.end());
  request.mutable_signatures()->mutable_labels()->Add(call.labels.begin(), call.labels.end());
  ASSIGN_OR_RETURN(SignatureDistance distance,
                   ParseSignatureDistance(absl::GetFlag(FLAGS_distance)));
  request.set_distance(SignatureDistanceToProto(distance));
  ASSIGN_OR_RETURN(ComparedValue value, ParseComparedValue(absl::GetFlag(FLAGS_value)));
  request.set_value(std::string(ComparedValueName(value)));
  request.set_resample(absl::GetFlag(FLAGS_resample));
  return request;
}

int Compare(SignatureClient& client, const Invocation& call) {
  auto request = ComparisonFromFlags(call);
  if (!request.ok()) return Usage(std::string(request.status().message()));
  auto comparison = client.CompareSignatures(*request);
  if (!comparison.ok()) return Report(comparison.status());
  std::cout << FormatComparison(*comparison, call.format);
  return kOk;
}

int Cluster(SignatureClient& client, const Invocation& call) {
  v1::ClusterSignaturesRequest request;
  auto comparison = ComparisonFromFlags(call);
  if (!comparison.ok()) return Usage(std::string(comparison.status().message()));
  *request.mutable_comparison() = *std::move(comparison);
  auto linkage = ParseLinkage(absl::GetFlag(FLAGS_linkage));
  if (!linkage.ok()) return Usage(std::string(linkage.status().message()));
  request.set_linkage(LinkageToProto(*linkage));
  const int64_t k = absl::GetFlag(FLAGS_k);
  const std::string threshold = absl::GetFlag(FLAGS_threshold);
  if (k != 0 && !threshold.empty()) return Usage("cut the tree with --k or --threshold, not both");
  if (k < 0) return Usage("--k must be at least 1");
  if (k > 0) request.set_clusters(k);
  if (!threshold.empty()) {
    double distance = 0.0;
    if (!absl::SimpleAtod(threshold, &distance) || !(distance >= 0)) {
      return Usage(absl::StrCat("--threshold must be a distance >= 0, got '", threshold, "'"));
    }
    request.set_threshold(distance);
  }
  auto clustering = client.ClusterSignatures(request);
  if (!clustering.ok()) return Report(clustering.status());
  std::cout << FormatClustering(*clustering, call.format);
  return kOk;
}

int Correlate(SignatureClient& client, const Invocation& call) {
  if (call.labels.size() != 1 || call.labels[0].find('=') != std::string::npos) {
    return Usage("correlate needs one --label=KEY: the label whose values are numbers");
  }
  v1::CorrelateSignaturesRequest request;
  request.set_label(call.labels[0]);
  auto statistic = ParseSignatureStatistic(absl::GetFlag(FLAGS_stat));
  if (!statistic.ok()) return Usage(std::string(statistic.status().message()));
  request.set_statistic(SignatureStatisticToProto(*statistic));
  request.mutable_filters()->Add(call.filters.begin(), call.filters.end());
  request.set_group_by(absl::GetFlag(FLAGS_group_by));
  auto correlation = client.CorrelateSignatures(request);
  if (!correlation.ok()) return Report(correlation.status());
  std::cout << FormatCorrelation(*correlation, call.format);
  return kOk;
}

int OnJob(SignatureClient& client, const std::string& command, const Invocation& call) {
  if (call.args.size() != 1) return Usage(absl::StrCat(command, " needs one JOB id"));
  const std::string& job_id = call.args[0];
  if (command == "delete") {
    if (absl::Status deleted = client.DeleteJob(job_id); !deleted.ok()) return Report(deleted);
    std::cerr << "affsig: deleted " << job_id << "\n";
    return kOk;
  }
  if (command == "result") {
    if (absl::GetFlag(FLAGS_wait)) {
      if (auto ended = Follow(client, job_id); !ended.ok()) return Report(ended.status());
    }
    return PrintResult(client, job_id, call.format);
  }
  absl::StatusOr<v1::Job> job = command == "cancel"  ? client.CancelJob(job_id)
                                : command == "watch" ? Follow(client, job_id)
                                                     : client.GetJob(job_id);
  if (!job.ok()) return Report(job.status());
  std::cout << FormatJob(*job, call.format);
  if (command == "watch" && job->state() != v1::SUCCEEDED) return kJobNotSucceeded;
  return kOk;
}

int Run(int argc, char** argv) {
  // gRPC logs a failed TLS handshake itself, on stderr, before the one line the client says
  // about it: gRPC's own lines only when $GRPC_VERBOSITY asks for them.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  Invocation call;
  DashesToUnderscoresInFlagNames(argc, argv);
  call.labels = TakeRepeatedFlag(argc, argv, "label");
  call.filters = TakeRepeatedFlag(argc, argv, "filter");
  SetVersionFlag("affsig", AFFSIG_VERSION);
  absl::SetProgramUsageMessage(kHelp);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() < 2) return Usage("a command is needed");
  const std::string command = positional[1];
  call.args.assign(positional.begin() + 2, positional.end());
  auto format = ParseOutputFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return Usage(std::string(format.status().message()));
  call.format = *format;
  std::string server = absl::GetFlag(FLAGS_server);
  if (server.empty()) {
    const char* env = std::getenv("AFFSIG_SERVER");
    server = env != nullptr && *env != '\0' ? env : "127.0.0.1:50051";
  }
  if (absl::GetFlag(FLAGS_connect_timeout) <= 0) return Usage("--connect-timeout must be positive");
  ClientOptions options;
  options.connect_timeout = absl::Seconds(absl::GetFlag(FLAGS_connect_timeout));
  absl::StatusOr<std::string> token = FindAuthToken(absl::GetFlag(FLAGS_token));
  if (!token.ok()) return Usage(std::string(token.status().message()));
  options.token = *std::move(token);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = GrpcChannelCredentials(
      ChannelSecurityFromFlags(absl::GetFlag(FLAGS_tls), absl::GetFlag(FLAGS_tls_ca),
                               absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key)),
      server);
  if (!credentials.ok()) return Usage(std::string(credentials.status().message()));
  options.credentials = *std::move(credentials);
  SignatureClient client(server, options);

  if (command == "submit") {
    if (!call.args.empty()) return Usage("submit takes no positional arguments");
    return Submit(client, call);
  }
  if (command == "list") return List(client, call);
  if (command == "models") return Models(client, call);
  if (command == "compare") return Compare(client, call);
  if (command == "cluster") return Cluster(client, call);
  if (command == "correlate") {
    if (!call.args.empty()) return Usage("correlate takes no positional arguments");
    return Correlate(client, call);
  }
  if (command == "status" || command == "watch" || command == "result" || command == "cancel" ||
      command == "delete") {
    return OnJob(client, command, call);
  }
  if (!call.args.empty()) return Usage(absl::StrCat(command, " takes no arguments"));
  if (command == "info") {
    auto info = client.GetServerInfo();
    if (!info.ok()) return Report(info.status());
    std::cout << FormatServerInfo(*info, call.format);
    return kOk;
  }
  if (command == "health") {
    auto health = client.CheckHealth();
    if (!health.ok()) return Report(health.status());
    std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*health) << "\n";
    return *health == grpc::health::v1::HealthCheckResponse::SERVING ? kOk : kUnreachable;
  }
  return Usage(absl::StrCat("unknown command '", command, "'"));
}

}  // namespace
}  // namespace affsig::client

int main(int argc, char** argv) { return affsig::client::Run(argc, argv); }
