// Summary statistics of one signature, as the paper reports them for each network and as the
// service stores them when a job succeeds (the inputs of correlations with accuracy).
#ifndef AFFSIG_SERVER_ANALYSIS_SIGNATURE_STATISTICS_H_
#define AFFSIG_SERVER_ANALYSIS_SIGNATURE_STATISTICS_H_

#include "common/job.h"
#include "common/signature.h"

namespace affsig::analysis {

// The statistics of SignatureSummary (common/job.h, where they are defined) over the entries
// whose status is kOk. When no entry is scored (also for an empty signature) every score
// statistic is NaN: a statistic of nothing, which callers show as missing rather than as a number.
SignatureSummary Summarize(const Signature& signature);

}  // namespace affsig::analysis

#endif  // AFFSIG_SERVER_ANALYSIS_SIGNATURE_STATISTICS_H_
