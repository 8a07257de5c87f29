// Writes the seed corpus of fuzz_token: real presigned GetCallerIdentity tokens and URLs signed
// with lib/sigv4 (tests/support/token_maker.hpp) around the fuzzers' fixed `now`, plus one edited
// variant per rejection rule. Every file is validated here against the expected outcome, so the
// corpus stays meaningful when the validator changes.
//
//   ninja -C <build> fuzz_make_token_corpus && <build>/tests/fuzz/fuzz_make_token_corpus tests/fuzz/corpus/token
//
// `.token` files hold a whole token, `.url` files a presigned URL (fuzz_token wraps those).

#include "common/encoding.hpp"
#include "fuzz_support.hpp"
#include "support/token_maker.hpp"
#include "token/token.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace stsauth;
using namespace std::chrono_literals;

struct seed {
    std::string name;     ///< file name
    std::string content;  ///< token or URL
    std::string expect;   ///< "ok" or the reason code under the aws fixture
};

std::string replace(std::string s, std::string_view from, std::string_view to) {
    const auto pos = s.find(from);
    if (pos == std::string::npos) {
        std::fprintf(stderr, "edit failed: \"%.*s\" not found\n", static_cast<int>(from.size()), from.data());
        std::exit(1);
    }
    return s.replace(pos, from.size(), to);
}

testing::token_spec spec_at(std::chrono::system_clock::duration offset, std::string region = "us-west-2",
                            std::string host = {}) {
    testing::token_spec s;
    s.time = fuzz::fixed_now() + offset;
    s.region = std::move(region);
    s.host = std::move(host);
    return s;
}

std::string token_of(std::string_view url) {
    return std::string(token::token_prefix) + encoding::base64url_encode(url);
}

std::vector<seed> seeds() {
    const auto url = testing::presigned_url(spec_at(-1min));
    auto session = spec_at(-2min);
    session.session_token =
        "IQoJb3JpZ2luX2VjEOj//////////wEaCXVzLXdlc3QtMiJHMEUCIQDexampleSESSIONtoken+/=AbCdEf0123456789"
        "exampleexampleexampleexampleexampleexampleexampleexampleexampleexampleexampleexampleexample==";
    session.access_key_id = "ASIAEXAMPLE0123456789";

    std::vector<seed> out = {
        {"valid_regional.token", testing::make_token(spec_at(-1min)), "ok"},
        {"valid_regional.url", url, "ok"},
        {"valid_global.token", testing::make_token(spec_at(-3min, "us-east-1", "sts.amazonaws.com")), "ok"},
        {"valid_session_token.token", testing::make_token(session), "ok"},
        {"valid_fips.url", testing::presigned_url(spec_at(0s, "us-east-2", "sts-fips.us-east-2.amazonaws.com")), "ok"},
        {"valid_dualstack.url", testing::presigned_url(spec_at(-5min, "eu-west-1", "sts.eu-west-1.api.aws")), "ok"},
        {"valid_instance_region.url", testing::presigned_url(spec_at(-1min, "zz-new-1")), "ok"},
        {"valid_extra_host.url",
         testing::presigned_url(spec_at(-1min, "eu-west-1", "sts.eu-west-1.vpce-0abc.example.com")), "ok"},
        {"valid_15min_old.url", testing::presigned_url(spec_at(-15min)), "ok"},
        {"valid_15min_ahead.url", testing::presigned_url(spec_at(15min)), "ok"},
        {"valid_escaped_value.url", replace(url, "X-Amz-Expires=60", "X-Amz-Expires=%360"), "ok"},
        {"valid_lower_case_keys.url",
         replace(replace(url, "Action=", "action="), "X-Amz-SignedHeaders=", "x-amz-signedheaders="), "ok"},
        {"cn_partition.url", testing::presigned_url(spec_at(-1min, "cn-north-1", "sts.cn-north-1.amazonaws.com.cn")),
         "bad_host"},

        {"expired.url", testing::presigned_url(spec_at(-15min - 1s)), "expired"},
        {"date_in_future.url", testing::presigned_url(spec_at(15min + 1s)), "date_in_future"},
        {"token_too_large.token", token_of(url + "&" + std::string(13000, 'A')), "token_too_large"},
        {"bad_prefix.token", "k8s-aws-v2." + encoding::base64url_encode(url), "bad_prefix"},
        {"bad_prefix_empty.token", "", "bad_prefix"},
        {"bad_base64_padding.token", token_of(url.substr(0, url.size() - 1)) + "==", "bad_base64"},
        {"bad_base64_std_alphabet.token", std::string(token::token_prefix) + "aHR0cHM6Ly9zdHM+/w", "bad_base64"},
        {"bad_base64_newline.token", testing::make_token(spec_at(-1min)) + "\n", "bad_base64"},
        {"bad_url_bytes.url", replace(url, "Action=GetCallerIdentity", "Action=Get CallerIdentity"), "bad_url_bytes"},
        {"bad_scheme_http.url", replace(url, "https://", "http://"), "bad_scheme"},
        {"bad_scheme_missing.url", replace(url, "https://", "//"), "bad_scheme"},
        {"userinfo.url", replace(url, "https://", "https://user:pass@"), "userinfo"},
        {"port.url", replace(url, ".amazonaws.com/", ".amazonaws.com:443/"), "port"},
        {"fragment.url", url + "#frag", "fragment"},
        {"bad_host_upper.url", replace(url, "sts.us-west-2", "STS.us-west-2"), "bad_host"},
        {"bad_host_suffix.url", replace(url, ".amazonaws.com/", ".amazonaws.com.evil.example/"), "bad_host"},
        {"bad_host_trailing_dot.url", replace(url, ".amazonaws.com/", ".amazonaws.com./"), "bad_host"},
        {"bad_host_gov_region.url",
         testing::presigned_url(spec_at(-1min, "us-gov-east-1", "sts.us-gov-east-1.amazonaws.com")), "bad_host"},
        {"bad_host_ipv6.url", replace(url, "sts.us-west-2.amazonaws.com", "[::1]"), "bad_host"},
        {"bad_path.url", replace(url, ".com/?", ".com/x?"), "bad_path"},
        {"bad_path_encoded_slash.url", replace(url, ".com/?", ".com/%2F?"), "bad_path"},
        {"malformed_query_semicolon.url", replace(url, "&Version=", ";Version="), "malformed_query"},
        {"malformed_query_empty_pair.url", replace(url, "&Version=", "&&Version="), "malformed_query"},
        {"malformed_query_bad_escape.url", replace(url, "X-Amz-Expires=60", "X-Amz-Expires=%6"), "malformed_query"},
        {"duplicate_parameter_case.url", url + "&action=GetCallerIdentity", "duplicate_parameter"},
        {"unknown_parameter.url", url + "&X-Amz-Foo=bar", "unknown_parameter"},
        {"multiple_values.url", url + "&Action=GetCallerIdentity", "multiple_values"},
        {"missing_action.url", replace(url, "Action=GetCallerIdentity&", ""), "missing_parameter"},
        {"bad_action.url", replace(url, "Action=GetCallerIdentity", "Action=AssumeRole"), "bad_action"},
        {"unsigned_cluster_id.url", replace(url, "host%3Bx-k8s-aws-id", "host"), "unsigned_cluster_id"},
        {"bad_expires_901.url", replace(url, "X-Amz-Expires=60", "X-Amz-Expires=901"), "bad_expires"},
        {"bad_expires_negative.url", replace(url, "X-Amz-Expires=60", "X-Amz-Expires=-1"), "bad_expires"},
        {"bad_date.url", replace(url, "X-Amz-Date=20240501T", "X-Amz-Date=20240230T"), "bad_date"},
        {"bad_version.url", replace(url, "Version=2011-06-15", "Version=2012-01-01"), "bad_version"},
        {"bad_algorithm.url", replace(url, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), "bad_algorithm"},
        {"bad_credential.url", replace(url, "%2Fsts%2Faws4_request", "%2Fsts"), "bad_credential"},
        {"bad_scope_region.url", replace(url, "%2Fus-west-2%2F", "%2Fus-east-1%2F"), "bad_scope"},
        {"bad_scope_date.url", replace(url, "%2F20240501%2F", "%2F20240502%2F"), "bad_scope"},
        {"bad_signature_format.url", replace(url, "X-Amz-Signature=", "X-Amz-Signature=A"), "bad_signature_format"},
        {"bad_security_token.url", url + "&X-Amz-Security-Token=", "bad_security_token"},
    };
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <output dir>\n", argv[0]);
        return 2;
    }
    const auto cfg = [] {
        const std::vector<std::string> extra = {"sts.eu-west-1.vpce-0abc.example.com"};
        auto hosts = token::sts_hosts::make("aws", "zz-new-1", extra);
        return token::validation_config{*hosts, token::default_max_token_bytes};
    }();
    std::filesystem::create_directories(argv[1]);
    int failures = 0;
    for (const auto& s : seeds()) {
        const bool is_url = s.name.ends_with(".url");
        const auto tok = is_url ? token_of(s.content) : s.content;
        const auto v = token::validate(tok, cfg, fuzz::fixed_now());
        const std::string got = v ? "ok" : v.code();
        if (got != s.expect) {
            std::fprintf(stderr, "%s: expected %s, got %s\n", s.name.c_str(), s.expect.c_str(), got.c_str());
            ++failures;
            continue;
        }
        std::ofstream(std::filesystem::path(argv[1]) / s.name, std::ios::binary) << s.content;
        std::printf("%-34s %s\n", s.name.c_str(), got.c_str());
    }
    return failures == 0 ? 0 : 1;
}
