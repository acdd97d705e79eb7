// How the client prints the analyses (compare, cluster, correlate): a table or a dendrogram for
// people, JSON and CSV for tools. JSON keeps the API's field names; the matrix is an array of
// rows in the order of job_ids, the linkage SciPy's matrix as rows [a, b, distance, size].
#ifndef AFFSIG_CLIENT_ANALYSIS_FORMAT_H_
#define AFFSIG_CLIENT_ANALYSIS_FORMAT_H_

#include <string>

#include "affsig/v1/signature_service.pb.h"
#include "common/signature_format.h"

namespace affsig::client {

// Table: one row per job with its number, id and name, then a column per job by number.
// CSV: job_id, name, then a column per job id.
std::string FormatComparison(const v1::SignatureComparison& comparison, OutputFormat format);
// Table: the dendrogram with each job's name (or id) and flat cluster. CSV: job_id, name,
// cluster.
std::string FormatClustering(const v1::SignatureClustering& clustering, OutputFormat format);
// One row per group: n, Pearson r and p, Spearman rho and p (or why not).
std::string FormatCorrelation(const v1::SignatureCorrelation& correlation, OutputFormat format);

}  // namespace affsig::client

#endif  // AFFSIG_CLIENT_ANALYSIS_FORMAT_H_
