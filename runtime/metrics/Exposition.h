// The Prometheus text exposition format (version 0.0.4): families with their HELP and
// TYPE lines, samples with escaped label values, histograms as cumulative buckets. What
// any byte a client or a policy chose (a path, a peer's name) can do to it is end up
// escaped inside a label value: never a new line or sample.
#pragma once

#include "metrics/Histogram.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turnout::metrics {

using Label = std::pair<std::string_view, std::string_view>;

class Exposition {
public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // A family's HELP and TYPE ("counter", "gauge", "histogram", "info" is a gauge).
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void sample(std::string_view name, const std::vector<Label> &labels, uint64_t value);
  // name_bucket{..., le="..."} (cumulative), name_sum and name_count.
  void histogram(std::string_view name, std::initializer_list<Label> labels, const Histogram &h);

  std::string &text() { return out_; }

private:
  void labels(const Label *begin, const Label *end, std::string_view le = {});
  std::string out_;
};

} // namespace turnout::metrics
