// GET /metrics: Prometheus' text exposition format (0.0.4). The service's state as the core reads
// it at each scrape (jobs by state, the queue, workers by state), its counters since the start
// (attempt durations by device and outcome, activations scored, bytes uploaded), the build, and
// the process's CPU, memory and file descriptors under the names Prometheus' client libraries
// give them, so that the usual dashboards and alerts apply unchanged.
#ifndef AFFSIG_SERVER_HTTP_PROMETHEUS_METRICS_H_
#define AFFSIG_SERVER_HTTP_PROMETHEUS_METRICS_H_

#include <string>

#include "server/core/server_core.h"

namespace affsig::http {

inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string PrometheusMetrics(const core::ServerStatus& status);

}  // namespace affsig::http

#endif  // AFFSIG_SERVER_HTTP_PROMETHEUS_METRICS_H_
