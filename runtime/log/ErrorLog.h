// The one logger of errors and events (spdlog's default): at `log.level`, to stderr or a
// file (`log.error`, reopened on SIGUSR1 as the access log is), and to syslog too when
// `log.syslog` says so.
#pragma once

#include "config/ServerConfig.h"

#include <string>

namespace turnout::log {

// Makes spdlog's default logger what `config` says; false with `error` when its file
// cannot be opened.
bool setUpErrorLog(const ServerConfig::Log &config, std::string &error);
// Opens the error log's file again (SIGUSR1), when it has one.
void reopenErrorLog();

} // namespace turnout::log
