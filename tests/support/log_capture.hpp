#pragma once
// Test support: captures spdlog's default logger ("<level> <message>" per line) for the
// lifetime of the object, and restores the previous logger afterwards.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace stsauth::testing {

class log_capture {
public:
    explicit log_capture(spdlog::level::level_enum level = spdlog::level::debug) {
        auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
        logger->set_level(level);
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
    }
    ~log_capture() { spdlog::set_default_logger(previous_); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    /// Everything logged so far.
    std::string text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }
    /// Everything logged since the last take().
    std::string take() {
        std::string s = text();
        out_.str("");
        return s;
    }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_ = spdlog::default_logger();
};

}  // namespace stsauth::testing
