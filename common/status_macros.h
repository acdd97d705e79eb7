// Early returns on errors, as Triton's core and TensorFlow write them:
//
//   RETURN_IF_ERROR(queue.Fail(id, reason));
//   ASSIGN_OR_RETURN(Job job, queue.Get(id));
//   ASSIGN_OR_RETURN(auto path, blobs.PathOf(sha256));
//
// Both evaluate their expression once; ASSIGN_OR_RETURN declares (or assigns) its left-hand side
// in the enclosing scope, moving the value out of the StatusOr.
#ifndef AFFSIG_COMMON_STATUS_MACROS_H_
#define AFFSIG_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RETURN_IF_ERROR(expr)                                           \
  do {                                                                  \
    if (::absl::Status affsig_status_ = (expr); !affsig_status_.ok()) { \
      return affsig_status_;                                            \
    }                                                                   \
  } while (false)

#define AFFSIG_STATUS_CONCAT_INNER_(a, b) a##b
#define AFFSIG_STATUS_CONCAT_(a, b) AFFSIG_STATUS_CONCAT_INNER_(a, b)

#define ASSIGN_OR_RETURN(lhs, expr) \
  AFFSIG_ASSIGN_OR_RETURN_IMPL_(AFFSIG_STATUS_CONCAT_(affsig_statusor_, __LINE__), lhs, expr)

#define AFFSIG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // AFFSIG_COMMON_STATUS_MACROS_H_
