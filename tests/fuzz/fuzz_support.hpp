#pragma once
/// \file
/// Shared helpers of the fuzz targets (tests/fuzz/fuzz_*.cpp): property checks that abort with
/// a message, byte views, and the fixed clock the token corpus was made for.
///
/// Checks are real code, not assert(): they run in every build type, as the corpus regression
/// tests (plain CTest, release g++ included) must be able to fail.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace stsauth::fuzz {

[[noreturn]] inline void property_failed(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", expr, file, line);
    std::fflush(stderr);
    std::abort();
}

/// The fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return size == 0 ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(data), size);
}

/// `now` for token validation: 2024-05-01T12:00:00Z. The token corpus is signed around it
/// (tools/make_token_corpus.cpp), so valid tokens stay valid forever.
inline std::chrono::system_clock::time_point fixed_now() {
    using namespace std::chrono;
    return sys_days{year{2024} / May / 1} + hours{12};
}

/// Printable ASCII (0x20..0x7e) only.
inline bool printable_ascii(std::string_view s) {
    for (char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

/// RFC 3629 UTF-8 (shortest form, no surrogates, at most U+10FFFF); written here independently
/// of the libraries under test.
inline bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1FU;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0FU;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07U;
        } else {
            return false;
        }
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3FU);
        }
        const std::uint32_t min_cp = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
        if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

}  // namespace stsauth::fuzz

/// Aborts (a crash for libFuzzer, a failure for the regression test) when `cond` is false.
#define FUZZ_CHECK(cond) \
    ((cond) ? static_cast<void>(0) : ::stsauth::fuzz::property_failed(#cond, __FILE__, __LINE__))
