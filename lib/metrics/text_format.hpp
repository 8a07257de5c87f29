#pragma once
/// \file
/// Pieces of the Prometheus text exposition format 0.0.4
/// (https://github.com/prometheus/docs/blob/main/content/docs/instrumenting/exposition_formats.md),
/// written the way the Go client (client_golang / expfmt) writes them so that scrapes of stsauth
/// and of the reference look alike.

#include <string>
#include <string_view>

namespace stsauth::metrics {

/// A sample value as Go's expfmt writes it: `strconv.FormatFloat(v, 'g', -1, 64)` — shortest
/// round-trip digits, exponent form when the decimal exponent is < -4 or >= 6 (`1.048576e+06`,
/// `1e-05`, `123456`, `0.005`), plus `+Inf`, `-Inf`, `NaN`.
std::string format_value(double v);

/// Label value escaping: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
std::string escape_label_value(std::string_view v);

/// HELP text escaping: `\` -> `\\`, newline -> `\n`.
std::string escape_help(std::string_view v);

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
bool valid_metric_name(std::string_view name) noexcept;
/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
bool valid_label_name(std::string_view name) noexcept;

}  // namespace stsauth::metrics
