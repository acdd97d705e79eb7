#include "proto/grpc_status.h"

#include <gtest/gtest.h>

#include "common/error_reason.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace affsig {
namespace {

TEST(GrpcStatusTest, TheReasonTravelsAsAnErrorInfoAndComesBack) {
  const absl::Status original =
      WithReason(absl::NotFoundError("no job 'job-1' on this server"), reason::kJobNotFound);
  const grpc::Status wire = ToGrpcStatus(original);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(wire.error_message(), "no job 'job-1' on this server");
  // What any gRPC client sees in grpc-status-details-bin.
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "JOB_NOT_FOUND");
  EXPECT_EQ(info.domain(), "affsig.v1");

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(back.message(), original.message());
  EXPECT_EQ(ErrorReason(back), reason::kJobNotFound);
}

TEST(GrpcStatusTest, ErrorsWithoutAReasonGetTheirCodesName) {
  EXPECT_EQ(ErrorReason(absl::InternalError("disk")), "INTERNAL");
  EXPECT_EQ(ErrorReason(absl::OkStatus()), "");
  EXPECT_TRUE(WithReason(absl::OkStatus(), reason::kJobRunning).ok());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  // A plain gRPC error (no details), as a proxy might send.
  const absl::Status plain = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(plain), "UNAVAILABLE");
}

}  // namespace
}  // namespace affsig
