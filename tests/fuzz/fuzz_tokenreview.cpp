// Fuzz target: the TokenReview codec (lib/tokenreview: decode, make_user, encode_authenticated,
// encode_denied).
//
// Input: a request body as the apiserver would POST it.
//
// Properties:
//   - every rejection carries a documented error code and a printable message;
//   - an accepted body is valid UTF-8 JSON without a byte-order mark, and the token and the
//     audiences are no longer than the limits allow; they hold no bytes the body did not give:
//     without a backslash in the body (no escapes), each is a verbatim substring of it;
//   - decoding honours its limits: with max_string_bytes one below the token's size the same body
//     is refused as string_too_long;
//   - a canonical re-encoding of the decoded request (nlohmann dump) decodes to the same request;
//   - the reply encoders produce JSON that carries exactly the values given (the decoded token and
//     audiences stand in for attacker-influenced names), in the request's apiVersion, and a denied
//     reply decoded as a request has no token.

#include "fuzz_support.hpp"
#include "tokenreview/tokenreview.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace {

using namespace stsauth;
using fuzz::as_text;
using std::string_view;

constexpr std::array<string_view, 13> error_codes = {
    "bad_utf8", "not_json", "not_object", "trailing_data", "duplicate_key", "too_deep", "string_too_long",
    "bad_api_version", "bad_kind", "bad_spec", "missing_token", "bad_token_type", "bad_audiences"};

bool same_request(const tokenreview::request& a, const tokenreview::request& b) {
    return a.version == b.version && a.api_version_present == b.api_version_present && a.token == b.token &&
           a.audiences == b.audiences;
}

void check_reencoding(const tokenreview::request& req) {
    nlohmann::json j;
    if (req.api_version_present) j["apiVersion"] = std::string(tokenreview::api_version_string(req.version));
    j["kind"] = "TokenReview";
    j["spec"]["token"] = req.token.reveal();
    if (!req.audiences.empty()) j["spec"]["audiences"] = req.audiences;
    // Strict dump: decode() refused invalid UTF-8, so nothing here needs replacing.
    const auto body = j.dump();
    const auto again = tokenreview::decode(body);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(same_request(*again, req));
}

void check_replies(const tokenreview::request& req) {
    const std::string& tok = req.token.reveal();
    const std::string version(tokenreview::api_version_string(req.version));

    const auto denied = tokenreview::encode_denied(req.version, tok);
    FUZZ_CHECK(denied.ends_with("}\n"));
    const auto d = nlohmann::json::parse(denied, nullptr, false);
    FUZZ_CHECK(!d.is_discarded() && d.is_object());
    FUZZ_CHECK(d.value("apiVersion", "") == version && d.value("kind", "") == "TokenReview");
    FUZZ_CHECK(d["status"]["authenticated"] == false && d["status"]["error"] == tok);
    FUZZ_CHECK(d["status"]["user"].is_object() && d["status"]["user"].empty());
    const auto denied_as_request = tokenreview::decode(denied);
    FUZZ_CHECK(!denied_as_request.ok() && denied_as_request.code() == "missing_token");

    tokenreview::principal p;
    p.arn = "arn:aws:sts::123456789012:assumed-role/r/" + tok;
    p.canonical_arn = "arn:aws:iam::123456789012:role/r";
    p.account_id = "123456789012";
    p.user_id = tok;
    p.session_name = tok;
    p.access_key_id = "AKIDEXAMPLE";
    for (const bool scrubbed : {false, true}) {
        const auto user = tokenreview::make_user(p, tok, req.audiences, scrubbed);
        const auto reply = tokenreview::encode_authenticated(req.version, user);
        const auto r = nlohmann::json::parse(reply, nullptr, false);
        FUZZ_CHECK(!r.is_discarded() && r.value("apiVersion", "") == version);
        const auto& u = r["status"]["user"];
        FUZZ_CHECK(r["status"]["authenticated"] == true);
        FUZZ_CHECK(u["username"] == tok);
        FUZZ_CHECK(u["uid"] == (scrubbed ? "aws-iam-authenticator:administrative:" + tok
                                         : "aws-iam-authenticator:123456789012:" + tok));
        if (req.audiences.empty()) {
            FUZZ_CHECK(!u.contains("groups"));
        } else {
            FUZZ_CHECK(u["groups"] == req.audiences);
        }
        if (scrubbed) {
            FUZZ_CHECK(!u.contains("extra"));
        } else {
            FUZZ_CHECK(u["extra"].size() == 6);
            FUZZ_CHECK(u["extra"]["arn"] == nlohmann::json::array({p.arn}));
            FUZZ_CHECK(u["extra"]["sessionName"] == nlohmann::json::array({tok}));
            FUZZ_CHECK(u["extra"]["sigs.k8s.io/aws-iam-authenticator/principalId"] == nlohmann::json::array({tok}));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const string_view body = as_text(data, size);
    const tokenreview::decode_limits limits;
    const auto req = tokenreview::decode(body, limits);
    if (!req) {
        FUZZ_CHECK(std::find(error_codes.begin(), error_codes.end(), req.code()) != error_codes.end());
        FUZZ_CHECK(fuzz::printable_ascii(req.err().message));
        return 0;
    }

    FUZZ_CHECK(fuzz::valid_utf8(body));
    FUZZ_CHECK(!body.starts_with("\xEF\xBB\xBF"));
    FUZZ_CHECK(nlohmann::json::accept(body));
    const std::string& tok = req->token.reveal();
    FUZZ_CHECK(tok.size() <= limits.max_string_bytes);
    FUZZ_CHECK(req->audiences.size() <= limits.max_audiences);
    const bool no_escapes = body.find('\\') == string_view::npos;
    if (no_escapes) {
        FUZZ_CHECK(body.find(tok) != string_view::npos);
        for (const auto& a : req->audiences) FUZZ_CHECK(body.find(a) != string_view::npos);
    }
    for (const auto& a : req->audiences) FUZZ_CHECK(a.size() <= limits.max_string_bytes);

    if (!tok.empty()) {
        tokenreview::decode_limits tight = limits;
        tight.max_string_bytes = tok.size() - 1;
        const auto refused = tokenreview::decode(body, tight);
        FUZZ_CHECK(!refused.ok() && refused.code() == "string_too_long");
    }

    check_reencoding(*req);
    check_replies(*req);
    return 0;
}
