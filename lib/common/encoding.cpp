#include "common/encoding.hpp"

#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stsauth::encoding {
namespace {

constexpr std::string_view url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view std_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table(std::string_view alphabet) {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto url_table = make_table(url_alphabet);
constexpr auto std_table = make_table(std_alphabet);

// The same tables with each symbol's six bits already in place for its position k (0-3) of a
// group of four, and bit 31 set for a byte outside the alphabet: a group decodes to the OR of
// four lookups, with no shifts, and one test finds any bad byte in it.
using shifted_tables = std::array<std::array<std::uint32_t, 256>, 4>;
constexpr std::uint32_t bad_symbol = 0x80000000U;
constexpr shifted_tables make_shifted(const std::array<std::int8_t, 256>& table) {
    shifted_tables t{};
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t c = 0; c < 256; ++c)
            t[k][c] = table[c] < 0 ? bad_symbol : static_cast<std::uint32_t>(table[c]) << (18 - 6 * k);
    return t;
}
constexpr shifted_tables url_shifted = make_shifted(url_table);
constexpr shifted_tables std_shifted = make_shifted(std_table);

std::string encode(std::string_view in, std::string_view alphabet, bool pad) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += alphabet[n >> 6 & 63];
        out += alphabet[n & 63];
    }
    const std::size_t rest = in.size() - i;
    if (rest == 1) {
        const std::uint32_t n = byte(i) << 16;
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        if (pad) out += "==";
    } else if (rest == 2) {
        const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
        out += alphabet[n >> 18 & 63];
        out += alphabet[n >> 12 & 63];
        out += alphabet[n >> 6 & 63];
        if (pad) out += '=';
    }
    return out;
}

// Decodes unpadded symbols strictly: rejects bytes outside the table, a final group of one
// symbol, and non-zero unused bits in the last symbol (non-canonical encodings).
result<std::string> decode(std::string_view in, const std::array<std::int8_t, 256>& table, const shifted_tables& shifted) {
    if (in.size() % 4 == 1)
        return make_error("bad_base64", "base64 length is not valid");
    auto bad_at = [&](std::size_t i) {
        return make_error("bad_base64", "illegal base64 data at input byte " + std::to_string(i));
    };
    const auto* src = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t full = in.size() / 4;
    std::string out(full * 3 + (in.size() % 4 == 0 ? 0 : in.size() % 4 - 1), '\0');
    char* dst = out.data();
    // Whole groups of four symbols -> three bytes; a byte outside the alphabet sets bit 31.
    for (std::size_t g = 0; g < full; ++g, src += 4, dst += 3) {
        const std::uint32_t v = shifted[0][src[0]] | shifted[1][src[1]] | shifted[2][src[2]] | shifted[3][src[3]];
        if ((v & bad_symbol) != 0) {
            for (std::size_t k = 0; k < 4; ++k)
                if (table[src[k]] < 0) return bad_at(g * 4 + k);
        }
        dst[0] = static_cast<char>(v >> 16);
        dst[1] = static_cast<char>((v >> 8) & 0xffU);
        dst[2] = static_cast<char>(v & 0xffU);
    }
    // The last 2 or 3 symbols: 1 or 2 bytes, and the unused low bits must be zero.
    const std::size_t rest = in.size() % 4;
    if (rest > 0) {
        std::uint32_t acc = 0;
        for (std::size_t k = 0; k < rest; ++k) {
            const auto v = table[src[k]];
            if (v < 0) return bad_at(full * 4 + k);
            acc = (acc << 6) | static_cast<std::uint32_t>(v);
        }
        const int bits = static_cast<int>(rest * 6 % 8);  // 2 symbols: 12 bits (4 unused), 3: 18 (2 unused)
        if ((acc & ((1U << bits) - 1)) != 0)
            return make_error("bad_base64", "non-canonical base64 trailing bits");
        acc >>= bits;
        if (rest == 3) *dst++ = static_cast<char>(acc >> 8);
        *dst = static_cast<char>(acc & 0xffU);
    }
    return out;
}

constexpr std::string_view hex_digits = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) { return encode(bytes, url_alphabet, false); }

result<std::string> base64url_decode(std::string_view text) { return decode(text, url_table, url_shifted); }

std::string base64_encode(std::string_view bytes) { return encode(bytes, std_alphabet, true); }

result<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return make_error("bad_base64", "base64 length is not a multiple of 4");
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    return decode(text.substr(0, text.size() - pad), std_table, std_shifted);
}

void hex_encode_to(char* out, std::span<const std::uint8_t> bytes) noexcept {
    for (auto b : bytes) {
        *out++ = hex_digits[b >> 4];
        *out++ = hex_digits[b & 15];
    }
}

void hex_encode_append(std::string& out, std::span<const std::uint8_t> bytes) {
    const auto at = out.size();
    out.resize(at + bytes.size() * 2);
    hex_encode_to(out.data() + at, bytes);
}

std::string hex_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    hex_encode_append(out, bytes);
    return out;
}

std::string hex_encode(std::string_view bytes) {
    return hex_encode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

namespace {

// SigV4's unreserved set: A-Z a-z 0-9 - _ . ~
constexpr std::array<bool, 256> unreserved_table = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                         c == '-' || c == '_' || c == '.' || c == '~';
    return t;
}();

// The first byte from p on that uri_encode changes (end if none): 16 bytes at a time with SSE2
// (part of every x86-64 CPU), then one at a time.
const unsigned char* skip_unreserved(const unsigned char* p, const unsigned char* end, bool keep_slash) {
#if defined(__SSE2__)
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // Signed compares: bytes from 0x80 are negative, outside every range.
        auto in = [&](char lo, char hi) {
            return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                                 _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
        };
        __m128i ok = _mm_or_si128(_mm_or_si128(in('A', 'Z'), in('a', 'z')), in('0', '9'));
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))));
        ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')), _mm_cmpeq_epi8(v, _mm_set1_epi8('~'))));
        if (keep_slash) ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
        const auto m = static_cast<unsigned>(_mm_movemask_epi8(ok));
        if (m != 0xFFFFU) return p + __builtin_ctz(~m);
        p += 16;
    }
#endif
    while (p < end && (unreserved_table[*p] || (*p == '/' && keep_slash))) ++p;
    return p;
}

// The first '%' (or '+', when it means a space) from p on, or end.
const char* find_escape(const char* p, const char* end, bool plus_as_space) {
#if defined(__SSE2__)
    const __m128i percent = _mm_set1_epi8('%');
    const __m128i plus = _mm_set1_epi8(plus_as_space ? '+' : '%');
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const auto m = static_cast<unsigned>(
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, percent), _mm_cmpeq_epi8(v, plus))));
        if (m != 0) return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (p < end && *p != '%' && !(plus_as_space && *p == '+')) ++p;
    return p;
}

}  // namespace

void uri_encode_to(std::string& out, std::string_view bytes, bool encode_slash) {
    constexpr std::string_view upper = "0123456789ABCDEF";
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        const auto* run = p;  // copied in one go
        p = skip_unreserved(p, end, !encode_slash);
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        if (p == end) break;
        const char esc[3] = {'%', upper[*p >> 4U], upper[*p & 15U]};
        out.append(esc, sizeof esc);
        ++p;
    }
}

bool uri_canonical(std::string_view text) noexcept {
    auto upper_hex = [](unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    auto nibble = [](unsigned char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        p = skip_unreserved(p, end, false);  // a run of unreserved bytes, 16 at a time
        if (p == end) break;
        if (*p != '%' || end - p < 3 || !upper_hex(p[1]) || !upper_hex(p[2])) return false;
        if (unreserved_table[static_cast<std::size_t>(nibble(p[1]) << 4 | nibble(p[2]))]) return false;
        p += 3;
    }
    return true;
}

std::string uri_encode(std::string_view bytes, bool encode_slash) {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 4);
    uri_encode_to(out, bytes, encode_slash);
    return out;
}

result<std::string> percent_decode(std::string_view text, bool plus_as_space) {
    std::string out;
    out.reserve(text.size());
    if (!percent_decode_to(out, text, plus_as_space))
        return make_error("bad_percent_encoding", "invalid or truncated percent escape");
    return out;
}

bool percent_decode_to(std::string& out, std::string_view text, bool plus_as_space) {
    std::size_t i = 0;
    while (i < text.size()) {
        // Copy the run up to the next escape (or '+') in one go.
        const auto j = static_cast<std::size_t>(find_escape(text.data() + i, text.data() + text.size(), plus_as_space) -
                                                text.data());
        out.append(text.data() + i, j - i);
        if (j == text.size()) break;
        i = j;
        if (text[i] == '+') {
            out += ' ';
            ++i;
            continue;
        }
        if (i + 2 >= text.size()) return false;
        const int hi = hex_value(text[i + 1]);
        const int lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi << 4 | lo);
        i += 3;
    }
    return true;
}

bool iequals(std::string_view s, std::string_view t) noexcept {
    if (s.size() != t.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto a = static_cast<unsigned char>(s[i]);
        auto b = static_cast<unsigned char>(t[i]);
        if (a >= 'A' && a <= 'Z') a = static_cast<unsigned char>(a + 32);
        if (b >= 'A' && b <= 'Z') b = static_cast<unsigned char>(b + 32);
        if (a != b) return false;
    }
    return true;
}

void append_lower(std::string& out, std::string_view s) {
    const auto at = out.size();
    out += s;
    for (auto it = out.begin() + static_cast<std::ptrdiff_t>(at); it != out.end(); ++it)
        if (*it >= 'A' && *it <= 'Z') *it = static_cast<char>(*it + 32);
}

std::string to_lower(std::string_view s) {
    std::string out;
    append_lower(out, s);
    return out;
}

}  // namespace stsauth::encoding
