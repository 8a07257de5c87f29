#include "metrics/text_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace stsauth::metrics {

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == 0) return std::signbit(v) ? "-0" : "0";

    // Go's 'g' with shortest precision: the decimal exponent of the shortest digits decides
    // between %e and %f (exponent < -4 or >= 6 -> %e).
    char buf[64];
    auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string s(buf, sci.ptr);
    const auto e = s.find('e');
    const int exp = std::atoi(s.c_str() + e + 1);
    if (exp < -4 || exp >= 6) return s;
    auto fix = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return std::string(buf, fix.ptr);
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

namespace {
bool alpha_(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
    if (name.empty() || !(alpha_(name[0]) || name[0] == ':')) return false;
    for (char c : name)
        if (!(alpha_(c) || digit(c) || c == ':')) return false;
    return true;
}

bool valid_label_name(std::string_view name) noexcept {
    if (name.empty() || !alpha_(name[0]) || name.starts_with("__")) return false;
    for (char c : name)
        if (!(alpha_(c) || digit(c))) return false;
    return true;
}

}  // namespace stsauth::metrics
