#include "http/header_scan.hpp"

#include <algorithm>
#include <cstring>

namespace stsauth::http {

void header_scanner::reset() noexcept {
    pos_ = 0;
    line_start_ = 0;
    request_start_ = 0;
    seen_request_line_ = false;
}

header_scan_result header_scanner::scan(std::string_view data) noexcept {
    auto too_large = [this] {
        return header_scan_result{seen_request_line_ ? header_scan_status::header_too_large : header_scan_status::target_too_large,
                                  request_start_, 0};
    };
    const char* const base = data.data();
    const std::size_t stop = std::min(data.size(), limit_);
    while (pos_ < stop) {
        if (pos_ == line_start_ && (base[pos_] == ' ' || base[pos_] == '\t')) {
            return {seen_request_line_ ? header_scan_status::obs_fold : header_scan_status::bad_request_line, request_start_, 0};
        }
        // The rest of the line in two memchr passes (vectorised in libc): up to the next CR,
        // which must have no LF before it.
        const auto* cr = static_cast<const char*>(std::memchr(base + pos_, '\r', stop - pos_));
        const std::size_t cr_pos = cr != nullptr ? static_cast<std::size_t>(cr - base) : stop;
        if (std::memchr(base + pos_, '\n', cr_pos - pos_) != nullptr) return {header_scan_status::bad_line_ending, request_start_, 0};
        pos_ = cr_pos;
        if (pos_ == stop) break;
        if (pos_ + 1 == data.size()) return {header_scan_status::need_more, request_start_, 0};
        if (base[pos_ + 1] != '\n') return {header_scan_status::bad_line_ending, request_start_, 0};
        const bool empty_line = pos_ == line_start_;
        pos_ += 2;
        line_start_ = pos_;
        if (empty_line) {
            if (seen_request_line_) {
                if (pos_ > limit_) return too_large();
                return {header_scan_status::complete, request_start_, pos_};
            }
            request_start_ = pos_;  // an empty line before the request line is ignored
        } else {
            seen_request_line_ = true;
        }
    }
    if (pos_ >= limit_) return too_large();
    return {header_scan_status::need_more, request_start_, 0};
}

}  // namespace stsauth::http
