// The process metrics every Prometheus exporter has (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, ...), read from /proc at a scrape.
#pragma once

#include "metrics/Exposition.h"

namespace turnout::metrics {

void writeProcessMetrics(Exposition &out);

} // namespace turnout::metrics
