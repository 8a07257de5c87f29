#include "config/duration.hpp"

#include <cstdint>
#include <limits>

namespace stsauth::config {
namespace {

constexpr std::uint64_t max_magnitude = std::uint64_t{1} << 63;

error bad(std::string_view text, std::string_view why) {
    return make_error("bad_duration", "invalid duration \"" + std::string(text) + "\": " + std::string(why));
}

std::uint64_t unit_ns(std::string_view u) {
    if (u == "ns") return 1;
    if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1'000;
    if (u == "ms") return 1'000'000;
    if (u == "s") return 1'000'000'000;
    if (u == "m") return 60ULL * 1'000'000'000;
    if (u == "h") return 3600ULL * 1'000'000'000;
    return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

result<duration> parse_go_duration(std::string_view text) {
    // Phase 1: sign, "0" and emptiness.
    std::string_view s = text;
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return duration{0};
    if (s.empty()) return bad(text, "empty");

    // Phase 2: components `[0-9]*(\.[0-9]*)?unit`, as Go's ParseDuration.
    std::uint64_t total = 0;
    while (!s.empty()) {
        if (!(s[0] == '.' || is_digit(s[0]))) return bad(text, "expected a number");
        std::uint64_t v = 0;
        std::size_t i = 0;
        for (; i < s.size() && is_digit(s[i]); ++i) {
            if (v > max_magnitude / 10) return bad(text, "overflow");
            v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
            if (v > max_magnitude) return bad(text, "overflow");
        }
        const bool pre = i > 0;
        s.remove_prefix(i);

        std::uint64_t f = 0;
        double scale = 1;
        bool post = false;
        if (!s.empty() && s[0] == '.') {
            s.remove_prefix(1);
            bool overflow = false;
            for (i = 0; i < s.size() && is_digit(s[i]); ++i) {
                if (overflow) continue;
                if (f > (max_magnitude - 1) / 10) {
                    overflow = true;
                    continue;
                }
                f = f * 10 + static_cast<std::uint64_t>(s[i] - '0');
                scale *= 10;
            }
            post = i > 0;
            s.remove_prefix(i);
        }
        if (!pre && !post) return bad(text, "expected a number");

        for (i = 0; i < s.size() && !(s[i] == '.' || is_digit(s[i])); ++i) {
        }
        if (i == 0) {
            // A bare number: Go says "missing unit"; say what to write instead.
            return bad(text, "missing unit (use e.g. 10s, 500ms, 1m30s)");
        }
        const auto unit = unit_ns(s.substr(0, i));
        if (unit == 0) return bad(text, "unknown unit \"" + std::string(s.substr(0, i)) + "\"");
        s.remove_prefix(i);

        if (v > max_magnitude / unit) return bad(text, "overflow");
        v *= unit;
        if (f > 0) {
            v += static_cast<std::uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
            if (v > max_magnitude) return bad(text, "overflow");
        }
        total += v;
        if (total > max_magnitude) return bad(text, "overflow");
    }
    if (neg) return duration{total == max_magnitude ? std::numeric_limits<std::int64_t>::min()
                                                    : -static_cast<std::int64_t>(total)};
    if (total > max_magnitude - 1) return bad(text, "overflow");
    return duration{static_cast<std::int64_t>(total)};
}

namespace {

// "<int>[.<frac without trailing zeros>]" of v / 10^prec.
std::string with_fraction(std::uint64_t v, int prec) {
    std::string frac;
    bool printed = false;
    for (int i = 0; i < prec; ++i) {
        const auto digit = static_cast<char>('0' + v % 10);
        printed = printed || digit != '0';
        if (printed) frac.insert(frac.begin(), digit);
        v /= 10;
    }
    std::string out = std::to_string(v);
    if (!frac.empty()) out += "." + frac;
    return out;
}

}  // namespace

std::string format_go_duration(duration d) {
    const auto count = d.count();
    if (count == 0) return "0s";
    const bool neg = count < 0;
    const std::uint64_t u = neg ? std::uint64_t{0} - static_cast<std::uint64_t>(count) : static_cast<std::uint64_t>(count);
    std::string out;
    if (u < 1'000'000'000) {
        if (u < 1'000)
            out = std::to_string(u) + "ns";
        else if (u < 1'000'000)
            out = with_fraction(u, 3) + "\xC2\xB5s";
        else
            out = with_fraction(u, 6) + "ms";
    } else {
        const std::uint64_t secs = u / 1'000'000'000;
        const std::string s = with_fraction(secs % 60 * 1'000'000'000 + u % 1'000'000'000, 9) + "s";
        const std::uint64_t mins = secs / 60;
        if (mins == 0)
            out = s;
        else if (mins < 60)
            out = std::to_string(mins) + "m" + s;
        else
            out = std::to_string(mins / 60) + "h" + std::to_string(mins % 60) + "m" + s;
    }
    return neg ? "-" + out : out;
}

}  // namespace stsauth::config
