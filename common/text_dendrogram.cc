#include "common/text_dendrogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace affsig {
namespace {

// Columns from distance 0 to the largest; 48 puts the quarter ticks on whole columns.
constexpr int kTreeWidth = 48;
constexpr int kTicks = 4;  // intervals of the axis: ticks at 0, 1/4, ..., the largest distance

// Which way lines leave a cell; the set picks its box-drawing character.
enum : uint8_t { kUp = 1, kDown = 2, kLeft = 4, kRight = 8 };

const char* Glyph(uint8_t lines) {
  switch (lines) {
    case 0:
      return " ";
    case kUp | kDown:
      return "│";
    case kDown | kRight:
      return "┌";
    case kDown | kLeft:
      return "┐";
    case kUp | kRight:
      return "└";
    case kUp | kLeft:
      return "┘";
    case kUp | kDown | kRight:
      return "├";
    case kUp | kDown | kLeft:
      return "┤";
    case kLeft | kRight | kDown:
      return "┬";
    case kLeft | kRight | kUp:
      return "┴";
    case kUp | kDown | kLeft | kRight:
      return "┼";
    default:  // a lone end of a line
      return (lines & (kUp | kDown)) != 0 ? "│" : "─";
  }
}

// The leaves in SciPy's dendrogram order: depth first from the last merge, first cluster first.
std::vector<int64_t> LeafOrder(const std::vector<Merge>& merges) {
  const int64_t n = static_cast<int64_t>(merges.size()) + 1;
  std::vector<int64_t> order;
  std::vector<int64_t> stack = {2 * n - 2};
  while (!stack.empty()) {
    const int64_t cluster = stack.back();
    stack.pop_back();
    if (cluster < n) {
      order.push_back(cluster);
      continue;
    }
    stack.push_back(merges[cluster - n].b);
    stack.push_back(merges[cluster - n].a);
  }
  return order;
}

}  // namespace

std::string TextDendrogram(const std::vector<Merge>& merges,
                           const std::vector<std::string>& leaf_names) {
  const int64_t n = static_cast<int64_t>(merges.size()) + 1;
  double largest = 0.0;
  for (const Merge& merge : merges) largest = std::max(largest, merge.distance);
  // Distance 0 lies at column 1, one past the leaves' column 0, so that a merge at 0 still shows
  // its lines.
  auto column = [&](double distance) {
    if (!(largest > 0.0)) return 1;
    return 1 + std::clamp(static_cast<int>(std::lround(distance / largest * kTreeWidth)), 0,
                          kTreeWidth);
  };

  // Each cluster's line and column: leaves at column 0 in their order, a merge at its distance
  // on the line halfway between its clusters' lines (the upper one when between two).
  std::vector<int64_t> line(2 * n - 1);
  std::vector<int> at(2 * n - 1, 0);
  const std::vector<int64_t> order = LeafOrder(merges);
  for (int64_t i = 0; i < n; ++i) line[order[i]] = i;
  std::vector<std::vector<uint8_t>> grid(n, std::vector<uint8_t>(kTreeWidth + 2, 0));
  for (int64_t row = 0; row < n - 1; ++row) {
    const int64_t cluster = n + row;
    at[cluster] = column(merges[row].distance);
    for (int64_t child : {merges[row].a, merges[row].b}) {
      if (at[child] < at[cluster]) {
        grid[line[child]][at[child]] |= kRight;
        for (int c = at[child] + 1; c < at[cluster]; ++c) grid[line[child]][c] |= kLeft | kRight;
        grid[line[child]][at[cluster]] |= kLeft;
      }
    }
    const int64_t top = std::min(line[merges[row].a], line[merges[row].b]);
    const int64_t bottom = std::max(line[merges[row].a], line[merges[row].b]);
    grid[top][at[cluster]] |= kDown;
    for (int64_t l = top + 1; l < bottom; ++l) grid[l][at[cluster]] |= kUp | kDown;
    grid[bottom][at[cluster]] |= kUp;
    line[cluster] = (top + bottom) / 2;
  }
  if (n == 1) grid[0][0] |= kRight;

  auto name = [&](int64_t leaf) {
    return leaf < static_cast<int64_t>(leaf_names.size()) ? leaf_names[leaf] : absl::StrCat(leaf);
  };
  size_t name_width = 0;
  for (int64_t leaf = 0; leaf < n; ++leaf) name_width = std::max(name_width, name(leaf).size());
  const std::string indent(name_width + 1, ' ');
  std::string text;
  for (int64_t i = 0; i < n; ++i) {
    std::string row = name(order[i]);
    row.resize(name_width + 1, ' ');
    const std::vector<uint8_t>& cells = grid[i];
    const size_t used = cells.rend() - std::find_if(cells.rbegin(), cells.rend(),
                                                    [](uint8_t lines) { return lines != 0; });
    for (size_t c = 0; c < used; ++c) row += Glyph(cells[c]);
    absl::StrAppend(&text, row, "\n");
  }

  // The axis: a tick at every quarter of the largest distance, its value below, left-aligned;
  // a value is left out where it would run into the previous one or repeat it (all merges at 0).
  std::string axis = indent + " ";
  for (int c = 1; c <= kTreeWidth + 1; ++c) {
    axis += (c - 1) % (kTreeWidth / kTicks) == 0 ? "┬" : "─";
  }
  std::string values;
  std::string previous;
  for (int tick = 0; tick <= kTicks; ++tick) {
    const size_t position = indent.size() + 1 + tick * kTreeWidth / kTicks;
    const std::string value = absl::StrFormat("%.3g", largest * tick / kTicks);
    if (value == previous || (!values.empty() && values.size() >= position)) continue;
    values.resize(position, ' ');
    values += value;
    previous = value;
  }
  absl::StrAppend(&text, axis, "\n", values, "\n");
  return text;
}

}  // namespace affsig
