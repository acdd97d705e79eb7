#include "tests/golden_cases.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace affsig::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

const Value* Field(const Struct& object, const std::string& key) {
  auto it = object.fields().find(key);
  return it == object.fields().end() ? nullptr : &it->second;
}

std::string StringField(const Struct& object, const std::string& key) {
  const Value* value = Field(object, key);
  return value != nullptr ? value->string_value() : "";
}

double NumberField(const Struct& object, const std::string& key) {
  const Value* value = Field(object, key);
  return value != nullptr ? value->number_value() : 0.0;
}

}  // namespace

std::string SharedGoldenDir() { return EnvOr("AFFSIG_GOLDEN_DIR", AFFSIG_SHARED_DIR "/golden"); }

std::string CommittedFixtureDir() { return AFFSIG_SOURCE_DIR "/tests/fixtures/golden"; }

std::string ServiceFixtureDir() { return AFFSIG_SOURCE_DIR "/tests/fixtures/service"; }

std::string ImageFixtureDir() {
  return EnvOr("AFFSIG_IMAGE_FIXTURE_DIR", AFFSIG_IMAGE_FIXTURE_DIR);
}

std::string GeneratedFixtureDir() { return EnvOr("AFFSIG_FIXTURE_DIR", AFFSIG_FIXTURE_DIR); }

std::string ZooFixtureDir() { return EnvOr("AFFSIG_ZOO_DIR", AFFSIG_ZOO_DIR); }

std::string TestDevice() { return EnvOr("AFFSIG_TEST_DEVICE", "cpu"); }

absl::StatusOr<GoldenSet> ReadGoldenSet(const std::string& dir) {
  const std::string path = dir + "/golden.json";
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  Struct root;
  if (auto status = google::protobuf::util::JsonStringToMessage(text.str(), &root); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", status.ToString()));
  }
  GoldenSet set;
  if (const Value* pairs = Field(root, "pairs")) {
    for (const Value& item : pairs->list_value().values()) {
      const Struct& pair = item.struct_value();
      set.pairs.push_back(
          {StringField(pair, "name"), dir + "/" + StringField(pair, "x"),
           dir + "/" + StringField(pair, "y"), static_cast<int64_t>(NumberField(pair, "n")),
           static_cast<int64_t>(NumberField(pair, "d")), NumberField(pair, "score")});
    }
  }
  if (const Value* models = Field(root, "models")) {
    for (const Value& item : models->list_value().values()) {
      const Struct& model = item.struct_value();
      GoldenModel golden{StringField(model, "name"),
                         dir + "/" + StringField(model, "model"),
                         dir + "/" + StringField(model, "input"),
                         StringField(model, "activations"),
                         {}};
      if (const Value* signature = Field(model, "signature")) {
        for (const Value& entry_value : signature->list_value().values()) {
          const Struct& entry = entry_value.struct_value();
          const std::string status = StringField(entry, "status");
          golden.signature.push_back(
              {static_cast<int64_t>(NumberField(entry, "index")), StringField(entry, "module"),
               static_cast<int64_t>(NumberField(entry, "call")), StringField(entry, "op"),
               NumberField(entry, "score"), status.empty() ? "ok" : status});
        }
      }
      set.models.push_back(std::move(golden));
    }
  }
  return set;
}

}  // namespace affsig::testing
