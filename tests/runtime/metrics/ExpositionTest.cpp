// The Prometheus text format: label values escaped whatever they hold, histograms
// cumulative with their +Inf bucket, sum and count.
#include "metrics/Exposition.h"

#include <gtest/gtest.h>

namespace turnout::metrics {
namespace {

TEST(Exposition, LabelValuesCannotEndASample) {
  Exposition out;
  out.family("t_total", "counter", "Help with a \\ and a\nnew line.");
  out.sample("t_total", {{"path", "a\"b\\c\nd"}}, uint64_t{3});
  EXPECT_EQ(out.text(), "# HELP t_total Help with a \\\\ and a\\nnew line.\n"
                        "# TYPE t_total counter\n"
                        "t_total{path=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(Exposition, HistogramsAreCumulative) {
  Histogram h;
  h.observe(0.0005);
  h.observe(0.003);
  h.observe(20);
  Exposition out;
  out.histogram("d_seconds", {{"upstream", "web"}}, h);
  const std::string &text = out.text();
  EXPECT_NE(text.find("d_seconds_bucket{upstream=\"web\",le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{upstream=\"web\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{upstream=\"web\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_bucket{upstream=\"web\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_count{upstream=\"web\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("d_seconds_sum{upstream=\"web\"} 20.0035\n"), std::string::npos);
}

} // namespace
} // namespace turnout::metrics
