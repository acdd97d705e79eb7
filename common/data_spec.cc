#include "common/data_spec.h"

#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/enum_names.h"
#include "common/status_macros.h"

namespace affsig {
namespace {

constexpr EnumNames<DataKind, 7> kKindNames = {{
    {DataKind::kUpload, "upload"},
    {DataKind::kServerFile, "server"},
    {DataKind::kRandom, "random"},
    {DataKind::kImageFolder, "imagefolder"},
    {DataKind::kCifar10, "cifar10"},
    {DataKind::kCifar100, "cifar100"},
    {DataKind::kMnist, "mnist"},
}};

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

template <typename T>
absl::Status ParseNumber(absl::string_view key, absl::string_view text, T& value) {
  bool ok = false;
  if constexpr (std::is_same_v<T, double>) {
    ok = absl::SimpleAtod(text, &value);
  } else {
    ok = absl::SimpleAtoi(text, &value);
  }
  if (!ok) return Invalid(absl::StrCat(key, " must be a number, got '", text, "'"));
  return absl::OkStatus();
}

absl::Status ParseList(absl::string_view key, absl::string_view text, std::vector<double>& values) {
  values.clear();
  for (absl::string_view part : absl::StrSplit(text, '/')) {
    double value = 0.0;
    RETURN_IF_ERROR(ParseNumber(key, part, value));
    values.push_back(value);
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(absl::string_view key, int64_t value, bool zero_allowed) {
  if (value > 0 || (zero_allowed && value == 0)) return absl::OkStatus();
  return Invalid(
      absl::StrCat(key, " must be ", zero_allowed ? "0 or more" : "positive", ", got ", value));
}

absl::Status ParseRandom(absl::string_view text, RandomSamples& random) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  for (absl::string_view dim : absl::StrSplit(parts[0], 'x')) {
    int64_t size = 0;
    if (!absl::SimpleAtoi(dim, &size) || size <= 0) {
      return Invalid(
          absl::StrCat("random: the sample shape is sizes joined by 'x' (3x224x224), "
                       "got '",
                       parts[0], "'"));
    }
    random.shape.push_back(size);
  }
  bool has_count = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(parts[i], '=');
    absl::Status parsed;
    if (kv.first == "count") {
      parsed = ParseNumber("count", kv.second, random.count);
      has_count = true;
    } else if (kv.first == "seed") {
      parsed = ParseNumber("seed", kv.second, random.seed);
    } else if (kv.first == "mean") {
      parsed = ParseNumber("mean", kv.second, random.mean);
    } else if (kv.first == "std") {
      parsed = ParseNumber("std", kv.second, random.std);
    } else {
      return Invalid(
          absl::StrCat("random: unknown option '", kv.first, "' (count, seed, mean, std)"));
    }
    RETURN_IF_ERROR(parsed);
  }
  if (!has_count) return Invalid("random: count=N is needed (random:3x224x224,count=512)");
  RETURN_IF_ERROR(CheckPositive("count", random.count, false));
  if (!(random.std >= 0.0)) return Invalid("random: std must not be negative");
  return absl::OkStatus();
}

std::string Join(const std::vector<double>& values) { return absl::StrJoin(values, "/"); }

}  // namespace

absl::string_view DataKindName(DataKind kind) { return NameOf(kKindNames, kind, "unknown"); }

bool IsImageSource(DataKind kind) {
  return kind == DataKind::kImageFolder || kind == DataKind::kCifar10 ||
         kind == DataKind::kCifar100 || kind == DataKind::kMnist;
}

absl::StatusOr<DataSpec> ParseDataSource(absl::string_view text) {
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) {
    return Invalid(
        absl::StrCat("a data source is KIND:LOCATION (random:3x224x224,count=512, "
                     "server:/path/batch.npy, imagefolder:/path, cifar10:/path, "
                     "cifar100:/path, mnist:/path), got '",
                     text, "'"));
  }
  const absl::string_view kind_name = text.substr(0, colon);
  const absl::string_view location = text.substr(colon + 1);
  DataSpec spec;
  const std::optional<DataKind> kind = ValueNamed(kKindNames, kind_name);
  if (!kind.has_value()) {
    return Invalid(absl::StrCat("unknown data source kind '", kind_name,
                                "': use upload, server, random, imagefolder, cifar10, cifar100 "
                                "or mnist"));
  }
  spec.kind = *kind;
  if (location.empty()) return Invalid(absl::StrCat(kind_name, ": a location is needed"));
  if (spec.kind == DataKind::kRandom) {
    RETURN_IF_ERROR(ParseRandom(location, spec.random));
    return spec;
  }
  spec.location = std::string(location);
  return spec;
}

std::string FormatDataSource(const DataSpec& spec) {
  if (spec.kind != DataKind::kRandom)
    return absl::StrCat(DataKindName(spec.kind), ":", spec.location);
  const RandomSamples& random = spec.random;
  return absl::StrCat("random:", absl::StrJoin(random.shape, "x"), ",count=", random.count,
                      ",seed=", random.seed, ",mean=", random.mean, ",std=", random.std);
}

std::string FormatDataOptions(const DataSpec& spec) {
  std::vector<std::string> options;
  const Batching& batching = spec.batching;
  if (batching.batch_size > 0) options.push_back(absl::StrCat("batch_size=", batching.batch_size));
  if (batching.batches > 0) options.push_back(absl::StrCat("batches=", batching.batches));
  if (batching.shuffle_seed)
    options.push_back(absl::StrCat("shuffle_seed=", *batching.shuffle_seed));
  const Preprocessing& pre = spec.preprocessing;
  if (pre.resize) options.push_back(absl::StrCat("resize=", *pre.resize));
  if (pre.crop) options.push_back(absl::StrCat("crop=", *pre.crop));
  if (!pre.mean.empty()) options.push_back(absl::StrCat("mean=", Join(pre.mean)));
  if (!pre.std.empty()) options.push_back(absl::StrCat("std=", Join(pre.std)));
  if (pre.grayscale_to_rgb) options.push_back("grayscale_to_rgb=1");
  return absl::StrJoin(options, ",");
}

void ApplyDataDefaults(DataSpec& spec) {
  Preprocessing& pre = spec.preprocessing;
  const bool image = IsImageSource(spec.kind);
  if (!pre.resize) pre.resize = image ? 256 : 0;
  if (!pre.crop) pre.crop = image ? 224 : 0;
  if (image && pre.mean.empty()) {
    pre.mean = ImageNetMean();
    pre.std = ImageNetStd();
  }
}

absl::Status ParseDataOptions(absl::string_view text, DataSpec& spec) {
  if (text.empty()) return absl::OkStatus();
  Batching& batching = spec.batching;
  Preprocessing& pre = spec.preprocessing;
  for (absl::string_view option : absl::StrSplit(text, ',')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(option, '=');
    const absl::string_view key = kv.first, value = kv.second;
    absl::Status parsed;
    if (key == "batch_size") {
      parsed = ParseNumber(key, value, batching.batch_size);
    } else if (key == "batches") {
      parsed = ParseNumber(key, value, batching.batches);
    } else if (key == "shuffle_seed") {
      uint64_t seed = 0;
      parsed = ParseNumber(key, value, seed);
      batching.shuffle_seed = seed;
    } else if (key == "resize" || key == "crop") {
      int64_t size = 0;
      parsed = ParseNumber(key, value, size);
      (key == "resize" ? pre.resize : pre.crop) = size;
    } else if (key == "mean") {
      parsed = ParseList(key, value, pre.mean);
    } else if (key == "std") {
      parsed = ParseList(key, value, pre.std);
    } else if (key == "grayscale_to_rgb") {
      pre.grayscale_to_rgb = value == "1" || value == "true";
    } else {
      return Invalid(absl::StrCat("unknown data option '", key, "'"));
    }
    RETURN_IF_ERROR(parsed);
  }
  return CheckDataOptions(spec);
}

absl::Status CheckDataOptions(const DataSpec& spec) {
  const Batching& batching = spec.batching;
  const Preprocessing& pre = spec.preprocessing;
  for (const auto& [key, value] : {std::pair<const char*, int64_t>{"batch_size", batching.batch_size},
                                   {"batches", batching.batches},
                                   {"resize", pre.resize.value_or(0)},
                                   {"crop", pre.crop.value_or(0)}}) {
    RETURN_IF_ERROR(CheckPositive(key, value, true));
  }
  for (double s : pre.std) {
    if (!(s > 0.0)) return Invalid("std values must be positive");
  }
  if (pre.mean.size() != pre.std.size()) {
    return Invalid("mean and std need the same number of values (one per channel)");
  }
  return absl::OkStatus();
}

}  // namespace affsig
