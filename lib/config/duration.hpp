#pragma once
/// \file
/// Go `time.ParseDuration` syntax (https://pkg.go.dev/time#ParseDuration), used by every duration
/// in the configuration (`10s`, `1m30s`, `500ms`, `1.5h`).

#include "common/result.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace stsauth::config {

using duration = std::chrono::nanoseconds;

/// A possibly signed sequence of decimal numbers, each with an optional fraction and a unit
/// suffix: `ns`, `us`, `µs` (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`; `0` alone is allowed.
/// Overflow of int64 nanoseconds is an error, as in Go. Unlike viper's `cast.ToDuration`, a bare
/// number other than `0` is refused instead of being read as nanoseconds (`timeout: 10` meaning
/// 10 ns is never what an operator means). Error code: "bad_duration".
result<duration> parse_go_duration(std::string_view text);

/// Go's `Duration.String()`: `1m30s`, `500ms`, `0s`, `1h0m0s`, `1.5µs`.
std::string format_go_duration(duration d);

}  // namespace stsauth::config
