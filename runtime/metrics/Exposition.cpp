#include "metrics/Exposition.h"

#include <fmt/format.h>

namespace turnout::metrics {

namespace {

void appendEscaped(std::string &out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
}

} // namespace

void Exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  appendEscaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Exposition::labels(const Label *begin, const Label *end, std::string_view le) {
  if (begin == end && le.empty())
    return;
  out_ += '{';
  bool first = true;
  for (const Label *l = begin; l != end; ++l) {
    if (!first)
      out_ += ',';
    first = false;
    out_ += l->first;
    out_ += "=\"";
    appendEscaped(out_, l->second, true);
    out_ += '"';
  }
  if (!le.empty()) {
    if (!first)
      out_ += ',';
    out_ += "le=\"";
    out_ += le;
    out_ += '"';
  }
  out_ += '}';
}

void Exposition::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  out_ += name;
  this->labels(labels.begin(), labels.end());
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void Exposition::sample(std::string_view name, std::initializer_list<Label> labels,
                        uint64_t value) {
  out_ += name;
  this->labels(labels.begin(), labels.end());
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void Exposition::sample(std::string_view name, const std::vector<Label> &labels, uint64_t value) {
  out_ += name;
  this->labels(labels.data(), labels.data() + labels.size());
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void Exposition::histogram(std::string_view name, std::initializer_list<Label> labels,
                           const Histogram &h) {
  std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= Histogram::kBounds.size(); ++i) {
    cumulative += h.bucket(i);
    out_ += bucket;
    std::string le =
        i < Histogram::kBounds.size() ? fmt::format("{}", Histogram::kBounds[i]) : "+Inf";
    this->labels(labels.begin(), labels.end(), le);
    fmt::format_to(std::back_inserter(out_), " {}\n", cumulative);
  }
  out_ += name;
  out_ += "_sum";
  this->labels(labels.begin(), labels.end());
  fmt::format_to(std::back_inserter(out_), " {}\n", h.sum());
  out_ += name;
  out_ += "_count";
  this->labels(labels.begin(), labels.end());
  fmt::format_to(std::back_inserter(out_), " {}\n", cumulative);
}

} // namespace turnout::metrics
