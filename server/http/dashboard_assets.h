// The dashboard's files (server/http/dashboard/), compiled into the server by CMake
// (embed_dashboard.cmake): the server needs no file beside it, no CDN and no node.
#ifndef AFFSIG_SERVER_HTTP_DASHBOARD_ASSETS_H_
#define AFFSIG_SERVER_HTTP_DASHBOARD_ASSETS_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace affsig::http {

struct DashboardAsset {
  absl::string_view name;  // served at /assets/NAME
  absl::string_view content_type;
  absl::string_view etag;  // a strong ETag: a digest of the content
  absl::string_view content;
};

const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace affsig::http

#endif  // AFFSIG_SERVER_HTTP_DASHBOARD_ASSETS_H_
