#include "tokens.hpp"

#include "aws/eks_token.hpp"

#include <fmt/format.h>

namespace stsauth::load {
namespace {

// Made up for the fake STS (A10): not an AWS key, never valid anywhere else.
constexpr std::string_view load_secret = "loadTESTsecret/0000000000000000EXAMPLEKEY";

}  // namespace

std::string access_key_id(std::size_t index) { return fmt::format("AKIALOAD{:012}", index); }

std::string fake_sts_config(const key_family& family, std::size_t count) {
    std::string out = "# Made-up credentials of the load harness (tests/load); none is a real secret.\ncredentials:\n";
    out.reserve(out.size() + count * 220);
    for (std::size_t i = 0; i < count; ++i) {
        fmt::format_to(std::back_inserter(out),
                       "  - accessKeyId: {}\n    secretAccessKey: {}\n    arn: arn:aws:sts::{}:assumed-role/{}/load-{}\n"
                       "    userId: AROALOADEXAMPLEROLE:load-{}\n    account: \"{}\"\n",
                       access_key_id(i), load_secret, family.account, family.role, i, i, family.account);
    }
    return out;
}

result<std::vector<std::string>> make_tokens(const token_batch_spec& spec) {
    if (spec.keys == 0) return make_error("no_keys", "at least one key is needed");
    const auto seconds = static_cast<std::size_t>(spec.window.count()) + 1;
    if (spec.count > spec.keys * seconds)
        return make_error("too_many_tokens",
                          fmt::format("{} tokens need more than {} keys x {} signing seconds", spec.count, spec.keys,
                                      seconds));
    const auto now = std::chrono::floor<std::chrono::seconds>(spec.now);
    std::vector<std::string> tokens;
    tokens.reserve(spec.count);
    for (std::size_t j = 0; j < spec.count; ++j) {
        const sigv4::credentials creds{access_key_id(spec.first_key + j % spec.keys),
                                       secret<std::string>(std::string(load_secret)), {}};
        const auto when = now - std::chrono::seconds(static_cast<std::int64_t>(j / spec.keys));
        auto token = aws::make_token(creds, spec.region, spec.cluster_id, when);
        if (!token) return token.err();
        tokens.push_back(token->value.reveal());
    }
    return tokens;
}

std::string token_review_body(std::string_view token) {
    // The token alphabet (prefix + base64url) needs no JSON escaping.
    return fmt::format(R"({{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",)"
                       R"("metadata":{{"creationTimestamp":null}},"spec":{{"token":"{}"}},"status":{{"user":{{}}}}}})",
                       token);
}

}  // namespace stsauth::load
