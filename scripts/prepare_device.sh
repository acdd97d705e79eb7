#!/usr/bin/env bash
# Copies what scripts/device_check.sh needs and a GPU machine lacks into .device/ (git-ignored):
# Debian's Abseil, Eigen, protobuf and GoogleTest (headers, libraries, CMake configs, which are
# relocatable), and the golden cases of ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=/usr/lib/x86_64-linux-gnu
rm -rf .device && mkdir -p .device/deb/usr/include/google .device/deb/usr/lib/x86_64-linux-gnu/cmake \
  .device/deb/usr/share .device/golden
cp -r /usr/include/absl /usr/include/gtest /usr/include/gmock /usr/include/eigen3 .device/deb/usr/include/
cp -r /usr/include/google/protobuf .device/deb/usr/include/google/
cp -a $lib/libabsl_*.so* $lib/libprotobuf.so* $lib/libgtest*.a $lib/libgmock*.a .device/deb/usr/lib/x86_64-linux-gnu/
cp -r $lib/cmake/absl $lib/cmake/GTest .device/deb/usr/lib/x86_64-linux-gnu/cmake/
cp -r /usr/share/eigen3 .device/deb/usr/share/
cp ../shared/golden/* .device/golden/
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
du -sh .device
