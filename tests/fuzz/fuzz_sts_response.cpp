// Fuzz target: the STS GetCallerIdentity answer (lib/sts/response: parse_caller_identity,
// classify_response, sanitize_snippet, transport_failure).
//
// Input: an HTTP response body as STS (or anything on the path to it) could send.
//
// Properties:
//   - parse errors carry one of the three documented codes; the parser accepts exactly what a
//     strict JSON reader accepts, except the byte-order mark it refuses as Go does, and a NUL
//     byte, which JSON never holds but nlohmann's reader takes for the end of the input (a body
//     that is not JSON is sts_bad_json or sts_xml_body, a JSON body is never either);
//   - a parsed identity holds valid UTF-8, no bytes the body did not give (without escapes, each
//     field is a verbatim substring of the body), and a canonical re-encoding parses to the same
//     identity;
//   - classify_response follows the documented status table for every status class, agrees with
//     parse_caller_identity on 200, and its `detail` is printable ASCII and bounded while its
//     `sts_error_code` keeps to AWS's error-code alphabet;
//   - sanitize_snippet output is bounded, printable and never holds "x-amz-", "signature=" or
//     "credential=" in any case.

#include "common/encoding.hpp"
#include "fuzz_support.hpp"
#include "sts/response.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace {

using namespace stsauth;
using fuzz::as_text;
using std::string_view;

bool has_stop_word(string_view s) {
    const auto lower = encoding::to_lower(s);
    return lower.find("x-amz-") != std::string::npos || lower.find("signature=") != std::string::npos ||
           lower.find("credential=") != std::string::npos;
}

void check_snippets(string_view body) {
    for (const std::size_t max_len : {std::size_t{0}, std::size_t{7}, std::size_t{200}}) {
        const auto s = sts::sanitize_snippet(body, max_len);
        FUZZ_CHECK(s.size() <= max_len + 3);
        FUZZ_CHECK(fuzz::printable_ascii(s));
        FUZZ_CHECK(!has_stop_word(s));
        if (body.size() <= max_len && !has_stop_word(body) && fuzz::printable_ascii(body)) FUZZ_CHECK(s == body);
    }
    const auto t = sts::transport_failure("sts_timeout", body);
    FUZZ_CHECK(t.kind == sts::outcome_kind::unavailable && t.http_status == 0 && t.reason == "sts_timeout");
    FUZZ_CHECK(fuzz::printable_ascii(t.detail) && !has_stop_word(t.detail) && t.detail.size() <= 243);
}

void check_identity(const sts::caller_identity& id, string_view body) {
    for (const auto* field : {&id.arn, &id.account, &id.user_id}) {
        FUZZ_CHECK(fuzz::valid_utf8(*field));
        if (body.find('\\') == string_view::npos) FUZZ_CHECK(body.find(*field) != string_view::npos);
    }
    nlohmann::json j;
    j["GetCallerIdentityResponse"]["GetCallerIdentityResult"] = {
        {"Arn", id.arn}, {"Account", id.account}, {"UserId", id.user_id}};
    j["GetCallerIdentityResponse"]["ResponseMetadata"]["RequestId"] = "01234567-89ab-cdef-0123-456789abcdef";
    const auto again = sts::parse_caller_identity(j.dump());
    FUZZ_CHECK(again.ok() && *again == id);
}

bool error_code_alphabet(string_view code) {
    return code.size() <= 64 && std::all_of(code.begin(), code.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-' || c == ':';
           });
}

void check_classification(unsigned status, string_view body, const result<sts::caller_identity>& parsed) {
    const auto o = sts::classify_response(status, body);
    FUZZ_CHECK(o.http_status == status);
    FUZZ_CHECK(fuzz::printable_ascii(o.detail) && o.detail.size() <= 512);
    FUZZ_CHECK(fuzz::printable_ascii(o.reason) && !o.reason.empty());
    FUZZ_CHECK(error_code_alphabet(o.sts_error_code));
    FUZZ_CHECK(o.ok() == (o.kind == sts::outcome_kind::ok));
    if (o.kind != sts::outcome_kind::ok) FUZZ_CHECK(o.identity == sts::caller_identity{});

    if (status == 200) {
        FUZZ_CHECK(o.ok() == parsed.ok());
        if (parsed) {
            FUZZ_CHECK(o.identity == *parsed && o.reason == "ok");
        } else {
            FUZZ_CHECK(o.kind == sts::outcome_kind::bad_response && o.reason == parsed.code());
        }
        return;
    }
    FUZZ_CHECK(o.kind != sts::outcome_kind::ok);
    if (status == 429 || body.find("Throttling") != string_view::npos) {
        FUZZ_CHECK(o.kind == sts::outcome_kind::throttled && o.reason == "sts_throttled");
    } else if (status >= 300 && status < 400) {
        FUZZ_CHECK(o.kind == sts::outcome_kind::bad_response && o.reason == "sts_redirect");
    } else if (status >= 400 && status < 500) {
        FUZZ_CHECK(o.kind == sts::outcome_kind::rejected && o.reason == "sts_rejected");
    } else if (status >= 500 && status < 600) {
        FUZZ_CHECK(o.kind == sts::outcome_kind::unavailable && o.reason == "sts_server_error");
    } else {
        FUZZ_CHECK(o.kind == sts::outcome_kind::bad_response && o.reason == "sts_unexpected_status");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const string_view body = as_text(data, size);

    const auto parsed = sts::parse_caller_identity(body);
    const bool bom = body.starts_with("\xEF\xBB\xBF");
    const bool json = !bom && body.find('\0') == string_view::npos && nlohmann::json::accept(body);
    if (parsed) {
        FUZZ_CHECK(json);
        check_identity(*parsed, body);
    } else {
        const auto& code = parsed.code();
        FUZZ_CHECK(code == "sts_bad_json" || code == "sts_xml_body" || code == "sts_bad_shape");
        FUZZ_CHECK((code == "sts_bad_shape") == json);
        FUZZ_CHECK(fuzz::printable_ascii(parsed.err().message));
    }

    for (const unsigned status : {0U, 100U, 200U, 204U, 302U, 400U, 403U, 429U, 500U, 503U, 600U})
        check_classification(status, body, parsed);
    check_snippets(body);
    return 0;
}
