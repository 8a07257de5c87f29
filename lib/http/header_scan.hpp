#pragma once
/// \file
/// Framing of an HTTP/1.1 request header block on the raw bytes, before Beast parses it
/// (A11). Beast accepts obsolete line folding and only notices bare LF once a whole block has
/// arrived; this scanner finds the block's end, rejects bare CR/LF and obs-fold as soon as they
/// are seen, and tells a request line over the limit (414) from a header block over it (431).

#include <cstddef>
#include <string_view>

namespace stsauth::http {

enum class header_scan_status {
    need_more,          ///< no complete block yet, still under the limit
    complete,           ///< [start, end) is the block, request line through the empty line
    bad_line_ending,    ///< a CR not followed by LF, or an LF not preceded by CR
    obs_fold,           ///< a field line starting with SP/HTAB (RFC 9112 §5.2)
    bad_request_line,   ///< whitespace before the request line
    target_too_large,   ///< the request line alone exceeds the limit (414)
    header_too_large,   ///< the block exceeds the limit (431)
};

struct header_scan_result {
    header_scan_status status = header_scan_status::need_more;
    std::size_t start = 0;  ///< first byte of the request line (after ignored empty lines)
    std::size_t end = 0;    ///< one past the final CRLF of the empty line
};

/// Incremental scanner over the bytes of one request, from its first byte. Each call re-reads
/// only bytes not examined before, so feeding a growing buffer costs O(total).
/// Empty lines before the request line are skipped (RFC 9112 §2.2) but count towards the limit.
class header_scanner {
public:
    /// `limit`: the most bytes the block (leading empty lines included) may take.
    explicit header_scanner(std::size_t limit) noexcept : limit_(limit) {}

    /// Scans `data`, which must start with the bytes given to previous calls since reset().
    header_scan_result scan(std::string_view data) noexcept;
    void reset() noexcept;

private:
    std::size_t limit_;
    std::size_t pos_ = 0;
    std::size_t line_start_ = 0;
    std::size_t request_start_ = 0;
    bool seen_request_line_ = false;
};

}  // namespace stsauth::http
