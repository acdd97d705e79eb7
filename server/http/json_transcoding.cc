#include "server/http/json_transcoding.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/rpc/status.pb.h"

namespace affsig::http {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Status BadValue(const FieldDescriptor& field, absl::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat(
      "parameter ", field.name(), ": '", value, "' is not a valid ", field.cpp_type_name(),
      field.enum_type() != nullptr ? absl::StrCat(" of ", field.enum_type()->name()) : ""));
}

// A URL's text as a number or a boolean.
template <typename Integer>
bool ParseText(absl::string_view text, Integer* value) {
  return absl::SimpleAtoi(text, value);
}
bool ParseText(absl::string_view text, double* value) { return absl::SimpleAtod(text, value); }
bool ParseText(absl::string_view text, float* value) { return absl::SimpleAtof(text, value); }
bool ParseText(absl::string_view text, bool* value) { return absl::SimpleAtob(text, value); }

template <typename T>
using Setter = void (Reflection::*)(Message*, const FieldDescriptor*, T) const;

// `value`, parsed as a T, into `field` with `set`, or appended with `add` when it is repeated.
template <typename T>
absl::Status SetParsed(Message& message, const FieldDescriptor& field, absl::string_view value,
                       Setter<T> set, Setter<T> add) {
  T parsed{};
  if (!ParseText(value, &parsed)) return BadValue(field, value);
  (message.GetReflection()->*(field.is_repeated() ? add : set))(&message, &field, parsed);
  return absl::OkStatus();
}

// `value` into the scalar `field` of `message` (appended when the field is repeated).
absl::Status SetScalar(Message& message, const FieldDescriptor& field, absl::string_view value) {
  const Reflection& reflection = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      field.is_repeated() ? reflection.AddString(&message, &field, std::string(value))
                          : reflection.SetString(&message, &field, std::string(value));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32:
      return SetParsed<int32_t>(message, field, value, &Reflection::SetInt32,
                                &Reflection::AddInt32);
    case FieldDescriptor::CPPTYPE_INT64:
      return SetParsed<int64_t>(message, field, value, &Reflection::SetInt64,
                                &Reflection::AddInt64);
    case FieldDescriptor::CPPTYPE_UINT32:
      return SetParsed<uint32_t>(message, field, value, &Reflection::SetUInt32,
                                 &Reflection::AddUInt32);
    case FieldDescriptor::CPPTYPE_UINT64:
      return SetParsed<uint64_t>(message, field, value, &Reflection::SetUInt64,
                                 &Reflection::AddUInt64);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return SetParsed<double>(message, field, value, &Reflection::SetDouble,
                               &Reflection::AddDouble);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return SetParsed<float>(message, field, value, &Reflection::SetFloat, &Reflection::AddFloat);
    case FieldDescriptor::CPPTYPE_BOOL:
      return SetParsed<bool>(message, field, value, &Reflection::SetBool, &Reflection::AddBool);
    case FieldDescriptor::CPPTYPE_ENUM: {
      // By name, in any case (state=succeeded), or by number.
      const auto* named = field.enum_type()->FindValueByName(absl::AsciiStrToUpper(value));
      int number = 0;
      if (named == nullptr && absl::SimpleAtoi(value, &number)) {
        named = field.enum_type()->FindValueByNumber(number);
      }
      if (named == nullptr) return BadValue(field, value);
      field.is_repeated() ? reflection.AddEnum(&message, &field, named)
                          : reflection.SetEnum(&message, &field, named);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "parameter ", field.name(), " is a message: set its fields (", field.name(), ".FIELD=...)"));
}

// application/x-www-form-urlencoded: %XX is a byte, '+' a space.
bool PercentDecode(absl::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else if (i + 2 < text.size() && absl::ascii_isxdigit(text[i + 1]) &&
               absl::ascii_isxdigit(text[i + 2])) {
      out += absl::HexStringToBytes(text.substr(i + 1, 2));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status SetField(absl::string_view path, absl::string_view value, Message& message) {
  Message* target = &message;
  const std::vector<absl::string_view> names = absl::StrSplit(path, '.');
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string name(names[i]);
    const FieldDescriptor* field = target->GetDescriptor()->FindFieldByName(name);
    if (field == nullptr) field = target->GetDescriptor()->FindFieldByCamelcaseName(name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown parameter '", path, "'"));
    }
    if (i + 1 == names.size()) return SetScalar(*target, *field, value);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown parameter '", path, "'"));
    }
    target = target->GetReflection()->MutableMessage(target, field);
  }
  return absl::OkStatus();
}

absl::Status SetFieldsFromQuery(absl::string_view query, Message& message) {
  for (absl::string_view parameter : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> name_value =
        absl::StrSplit(parameter, absl::MaxSplits('=', 1));
    std::string name, value;
    if (!PercentDecode(name_value.first, name) || !PercentDecode(name_value.second, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the query parameter '", parameter, "' is not percent-encoded"));
    }
    if (absl::Status set = SetField(name, value, message); !set.ok()) return set;
  }
  return absl::OkStatus();
}

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Only a message with an Any of an unknown type fails to print, and affsig's have none.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

std::string ErrorJson(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details()) || details.code() == 0) {
    details.Clear();
    details.set_code(status.error_code());
    details.set_message(status.error_message());
  }
  return ToJson(details);
}

}  // namespace affsig::http
