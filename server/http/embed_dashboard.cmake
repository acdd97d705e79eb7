# cmake -DSOURCE_DIR=dashboard -DOUTPUT=dashboard_assets.cc -P embed_dashboard.cmake
# Writes a C++ source that holds every file of SOURCE_DIR as a raw string literal, with its
# content type and a digest for its ETag (server/http/dashboard_assets.h).
file(GLOB files "${SOURCE_DIR}/*")
list(SORT files)
set(entries "")
foreach(file IN LISTS files)
  get_filename_component(name "${file}" NAME)
  get_filename_component(extension "${file}" LAST_EXT)
  if(extension STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(extension STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(extension STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(extension STREQUAL ".svg")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "${file}: no content type for ${extension} files")
  endif()
  file(READ "${file}" content)
  if(content MATCHES "\\)affsig_asset\"")
    message(FATAL_ERROR "${file} holds the raw string's delimiter")
  endif()
  string(SHA256 digest "${content}")
  string(SUBSTRING "${digest}" 0 32 digest)
  string(APPEND entries
         "      {\"${name}\", \"${type}\", \"\\\"${digest}\\\"\", R\"affsig_asset(${content})affsig_asset\"},\n")
endforeach()
file(WRITE "${OUTPUT}" "// Generated from server/http/dashboard/ by embed_dashboard.cmake; do not edit.
#include \"server/http/dashboard_assets.h\"

namespace affsig::http {

const std::vector<DashboardAsset>& DashboardAssets() {
  static const auto* assets = new std::vector<DashboardAsset>{
${entries}  };
  return *assets;
}

}  // namespace affsig::http
")
