// The HTTP/JSON mapping of affsig's gRPC API, after AIP-127 (gRPC transcoding, as Google's API
// gateways and grpc-gateway do it): a call's request message is filled from the URL's path and
// query parameters, its response is written in protobuf's JSON mapping, and a gRPC status
// becomes the HTTP status that google.rpc.Code names for it, with the google.rpc.Status (and its
// ErrorInfo) as the JSON body. No message is written by hand, so HTTP clients see exactly what
// gRPC clients see.
#ifndef AFFSIG_SERVER_HTTP_JSON_TRANSCODING_H_
#define AFFSIG_SERVER_HTTP_JSON_TRANSCODING_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace affsig::http {

// Sets the field at `path` of `message` from the text `value`: fields by their proto (or JSON)
// name, nested messages by dotted path ("signatures.job_ids"), enums by value name, numbers and
// booleans as written in a URL. A repeated field gets `value` appended, so a query parameter
// repeats once per element. INVALID_ARGUMENT for an unknown field or a value that does not parse.
absl::Status SetField(absl::string_view path, absl::string_view value,
                      google::protobuf::Message& message);

// Every parameter of a URL's query ("state=SUCCEEDED&labels=arch=mlp&labels=seed") as SetField:
// each split at its first '=' — label filters hold one — and percent-decoded ('+' a space).
absl::Status SetFieldsFromQuery(absl::string_view query, google::protobuf::Message& message);

// protobuf's JSON mapping with the proto's field names; fields at their default value are
// written too, so that every row of a listing has the same columns (a notebook's DataFrame).
std::string ToJson(const google::protobuf::Message& message);

// The HTTP status google.rpc.Code documents for a gRPC code (NOT_FOUND 404, UNAVAILABLE 503, ...).
int HttpStatusOf(grpc::StatusCode code);

// The google.rpc.Status JSON of an error: code, message and details (the ErrorInfo with the
// reason that the gRPC adapters put in every error).
std::string ErrorJson(const grpc::Status& status);

}  // namespace affsig::http

#endif  // AFFSIG_SERVER_HTTP_JSON_TRANSCODING_H_
