// AWS SigV4 test suite (../shared/testdata/aws-signing-test-suite/v4, Apache-2.0), phase by
// phase, for header signing and query-string presigning.
#include "common/encoding.hpp"
#include "sigv4/sigv4.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace stsauth;

namespace {

const fs::path suite_dir = fs::path(STSAUTH_SHARED_DIR) / "testdata/aws-signing-test-suite/v4";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<sigv4::query_param> parse_query(std::string_view q) {
    std::vector<sigv4::query_param> out;
    while (!q.empty()) {
        const auto amp = q.find('&');
        const auto pair = q.substr(0, amp);
        const auto eq = pair.find('=');
        const auto key = pair.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        out.push_back({*encoding::percent_decode(key), *encoding::percent_decode(value)});
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return out;
}

struct suite_case {
    sigv4::request req;
    std::string body;
    sigv4::credentials creds;
    sigv4::signing_params params;
    std::chrono::seconds expires{};
    bool sign_body = false;  // header signing adds X-Amz-Content-Sha256
};

// request.txt: "METHOD PATH[?QUERY] HTTP/1.1", header lines (continuations start with
// whitespace), a blank line, then the body.
suite_case load_case(const fs::path& dir) {
    suite_case c;
    const std::string raw = read_file(dir / "request.txt");
    std::istringstream in(raw);
    std::string line;
    std::getline(in, line);
    const auto first_space = line.find(' ');
    const auto last_space = line.rfind(' ');
    c.req.method = line.substr(0, first_space);
    const std::string target = line.substr(first_space + 1, last_space - first_space - 1);
    const auto qpos = target.find('?');
    c.req.path = target.substr(0, qpos);
    if (qpos != std::string::npos) c.req.query = parse_query(std::string_view(target).substr(qpos + 1));
    while (std::getline(in, line)) {
        if (line.empty()) break;
        if (line[0] == ' ' || line[0] == '\t') {
            c.req.headers.back().value += "\n" + line;
            continue;
        }
        const auto colon = line.find(':');
        c.req.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    std::ostringstream rest;
    rest << in.rdbuf();
    c.body = rest.str();

    const auto ctx = nlohmann::json::parse(read_file(dir / "context.json"));
    c.creds.access_key_id = ctx["credentials"]["access_key_id"];
    c.creds.secret_access_key = secret<std::string>(ctx["credentials"]["secret_access_key"].get<std::string>());
    if (ctx["credentials"].contains("token"))
        c.creds.session_token = secret<std::string>(ctx["credentials"]["token"].get<std::string>());
    c.params.region = ctx["region"];
    c.params.service = ctx["service"];
    c.params.normalize_path = ctx.value("normalize", true);
    c.params.session_token_after_signing = ctx.value("omit_session_token", false);
    c.sign_body = ctx.value("sign_body", false);
    const std::string ts = ctx["timestamp"];  // 2015-08-30T12:36:00Z
    std::string amz = ts.substr(0, 4) + ts.substr(5, 2) + ts.substr(8, 2) + "T" + ts.substr(11, 2) + ts.substr(14, 2) +
                      ts.substr(17, 2) + "Z";
    c.params.time = *sigv4::parse_amz_date(amz);
    c.expires = std::chrono::seconds(ctx.value("expiration_in_seconds", 3600));
    return c;
}

std::vector<std::string> all_cases() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(suite_dir))
        if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Cases that do not apply, with the reason. Kept as a list so the suite can't silently shrink.
const std::vector<std::pair<std::string, std::string>> skipped = {
    // None: every case of the suite applies to both header and query signing.
};

std::string authorization_line(const std::string& signed_request) {
    std::istringstream in(signed_request);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Authorization:", 0) == 0) return line.substr(std::string("Authorization:").size());
    return {};
}

std::vector<sigv4::query_param> signed_query(const std::string& signed_request) {
    const auto first_line = signed_request.substr(0, signed_request.find('\n'));
    const auto q = first_line.find('?');
    const auto end = first_line.rfind(' ');
    auto params = parse_query(std::string_view(first_line).substr(q + 1, end - q - 1));
    std::sort(params.begin(), params.end(), [](auto& a, auto& b) { return a.key < b.key; });
    return params;
}

}  // namespace

TEST_CASE("the suite is present and complete", "[sigv4][suite]") {
    const auto names = all_cases();
    REQUIRE(names.size() == 38);
    CHECK(skipped.empty());
}

TEST_CASE("SigV4 header signing, phase by phase", "[sigv4][suite]") {
    for (const auto& name : all_cases()) {
        DYNAMIC_SECTION(name) {
            const auto dir = suite_dir / name;
            auto c = load_case(dir);
            c.params.add_content_sha256_header = c.sign_body;
            const auto trace = sigv4::sign_headers(c.req, c.creds, c.params, crypto::sha256_hex(c.body));
            CHECK(trace.canonical_request == read_file(dir / "header-canonical-request.txt"));
            CHECK(trace.string_to_sign == read_file(dir / "header-string-to-sign.txt"));
            CHECK(trace.signature == read_file(dir / "header-signature.txt"));
            CHECK(std::string(sigv4::header_value(c.req, "Authorization")) ==
                  authorization_line(read_file(dir / "header-signed-request.txt")));
        }
    }
}

TEST_CASE("SigV4 query presigning, phase by phase", "[sigv4][suite]") {
    for (const auto& name : all_cases()) {
        DYNAMIC_SECTION(name) {
            const auto dir = suite_dir / name;
            auto c = load_case(dir);
            const auto trace = sigv4::presign(c.req, c.creds, c.params, c.expires, crypto::sha256_hex(c.body));
            CHECK(trace.canonical_request == read_file(dir / "query-canonical-request.txt"));
            CHECK(trace.string_to_sign == read_file(dir / "query-string-to-sign.txt"));
            CHECK(trace.signature == read_file(dir / "query-signature.txt"));
            auto ours = c.req.query;
            std::sort(ours.begin(), ours.end(), [](auto& a, auto& b) { return a.key < b.key; });
            CHECK(ours == signed_query(read_file(dir / "query-signed-request.txt")));
        }
    }
}
