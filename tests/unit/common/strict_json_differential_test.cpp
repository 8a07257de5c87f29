// lib/common/strict_json's reader against the reference reader (strict_json_reference.cpp, the
// reader before its per-token work was reorganised): on seeds and thousands of mutations of them,
// under several limit sets, both give the same decision, code, message, failure position and the
// same handler events in the same order (except on texts refused as bad_utf8, see same_outcome).

#include "common/strict_json.hpp"
#include "strict_json_reference.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace stsauth;
using stsauth::json::strict_limits;
using stsauth::json::value_type;

namespace {

// Every event as one line of text.
struct recorder final : json::strict_handler {
    std::string events;
    void key(std::size_t depth, std::string_view k) override {
        events += std::to_string(depth) + "k:" + std::string(k) + '\n';
    }
    void value(std::size_t depth, value_type t, std::string_view text) override {
        events += std::to_string(depth) + "v" + std::to_string(static_cast<int>(t)) + ":" + std::string(text) + '\n';
    }
    void close(std::size_t depth, value_type t) override {
        events += std::to_string(depth) + "c" + std::to_string(static_cast<int>(t)) + '\n';
    }
};

struct outcome {
    std::string code, message, events;
    std::size_t offset = 0;
    bool end_of_input = false;
};

outcome run_new(std::string_view text, const strict_limits& limits) {
    outcome o;
    recorder r;
    json::strict_failure_position where;
    if (auto e = json::strict_parse(text, limits, &r, &where)) {
        o.code = e->code;
        o.message = e->message;
        o.offset = where.offset;
        o.end_of_input = where.end_of_input;
    }
    o.events = std::move(r.events);
    return o;
}

outcome run_reference(std::string_view text, const strict_limits& limits) {
    outcome o;
    recorder r;
    json::strict_failure_position where;
    if (auto e = json::reference::strict_parse(text, limits, &r, &where)) {
        o.code = e->code;
        o.message = e->message;
        o.offset = where.offset;
        o.end_of_input = where.end_of_input;
    }
    o.events = std::move(r.events);
    return o;
}

// Compares one text under one limit set; returns whether the new reader accepted it.
bool same_outcome(const std::string& text, const strict_limits& limits) {
    const outcome a = run_new(text, limits);
    const outcome b = run_reference(text, limits);
    INFO("text: " << text);
    INFO("limits: depth " << limits.max_depth << ", string " << limits.max_string_bytes << ", key "
                          << limits.max_key_bytes << ", unique_keys " << limits.unique_keys << ", object_only "
                          << limits.object_only);
    REQUIRE(a.code == b.code);
    REQUIRE(a.message == b.message);
    REQUIRE(a.offset == b.offset);
    REQUIRE(a.end_of_input == b.end_of_input);
    // Invalid UTF-8 is found as the strings are read (no check of the whole text up front), so
    // a handler may have seen the members before the offending string: the one documented
    // difference, on a refused text.
    if (a.code != "bad_utf8") REQUIRE(a.events == b.events);
    // The plain overload decides the same way.
    const auto plain = json::strict_parse(text, limits);
    REQUIRE((plain ? plain->code : std::string()) == a.code);
    return a.code.empty();
}

std::vector<strict_limits> limit_sets() {
    std::vector<strict_limits> sets;
    sets.emplace_back();
    strict_limits repeated;
    repeated.unique_keys = false;
    sets.push_back(repeated);
    strict_limits any;
    any.object_only = false;
    sets.push_back(any);
    strict_limits any_repeated = any;
    any_repeated.unique_keys = false;
    sets.push_back(any_repeated);
    for (std::size_t depth : {1U, 2U, 3U, 5U}) {
        strict_limits shallow;
        shallow.max_depth = depth;
        sets.push_back(shallow);
        shallow.object_only = false;
        sets.push_back(shallow);
    }
    strict_limits small;
    small.max_string_bytes = 6;
    small.max_key_bytes = 3;
    sets.push_back(small);
    return sets;
}

std::string many_keys(int n, bool duplicate_last) {
    std::string s = "{";
    for (int i = 0; i < n; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
    if (duplicate_last) s += ",\"k" + std::to_string(n / 2) + "\":0";
    return s + "}";
}

std::vector<std::string> seeds() {
    std::vector<std::string> s = {
        R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{"namespace":"dev-a","verb":"get","group":"","version":"v1","resource":"pods"},"user":"arn:aws:sts::111122223333:assumed-role/authz-1/session-0","groups":["authz-1","system:authenticated"],"uid":"aws-iam-authenticator:111122223333:AROAAUTHZ00000000001","extra":{"accessKeyId":["ASIAAUTHZEXAMPLEKEY0"],"arn":["arn:aws:sts::111122223333:assumed-role/authz-1/session-0"],"canonicalArn":["arn:aws:iam::111122223333:role/authz-1"],"principalId":["AROAAUTHZ00000000001"],"sessionName":["session-0"],"sigs.k8s.io/aws-iam-authenticator/principalId":["AROAAUTHZ00000000001"]}},"status":{"allowed":false}})",
        R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNSZYLUFtei1BbGdvcml0aG09QVdTNC1ITUFDLVNIQTI1Ng","audiences":["a","b"]}})",
        "{ \"a\" : [ 1 , -0 , 0.5 , -1.25e+10 , 1E-3 , true , false , null , \"s\" , { } , [ ] ] ,\n\t\"b\" : { \"c\" : { \"d\" : [ [ ] ] } } }\r\n",
        R"({"e":"\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00","\u0065":1})",
        "{\"\xC3\xA9\":\"\xF0\x9F\x98\x80\",\"\xE2\x82\xAC\":[\"\xC3\xA9\"]}",
        R"({"a":{"a":{"a":{"a":{"a":{"a":1}}}}},"b":[[[[[[2]]]]]]})",
        R"({"ab":1,"ba":2,"aXb":3,"aYb":4,"a\u0058b":5})",
        R"({"x":{"k":1},"y":{"k":2},"k":[{"k":3},{"k":4}]})",
        R"([1,{"a":[]},"s",null])",
        R"("just a string")",
        "123.5e-7",
        many_keys(16, false),
        many_keys(17, false),
        many_keys(40, true),
        many_keys(20, true),
        R"({"k":"0123456789abcdef0123456789abcdef\u0041","n":123456789012345678901234567890,"big":1e308})",
    };
    std::string long_token = R"({"spec":{"token":")";
    for (int i = 0; i < 200; ++i) long_token += static_cast<char>('A' + i % 26);
    long_token += R"("}})";
    s.push_back(long_token);
    return s;
}

// Bytes and short spellings a mutation inserts or overwrites with.
const std::vector<std::string>& pieces() {
    static const std::vector<std::string> p = {
        "{", "}", "[", "]", "\"", "\\", ",", ":", " ", "\n", "\t", "0", "1", "-", ".", "e", "E", "+", "t",
        "true", "false", "null", "tru", "nul", "\\u", "\\u00", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\n",
        "\xC3", "\xA9", "\xC3\xA9", "\xFF", "\xEF\xBB\xBF", "\xE2\x82", "\xF0\x9F\x98\x80", std::string(1, '\0'),
        "\x01", "\x7F", "\"a\":1", "\"a\"", ",\"a\":2", "{\"a\":{}}", "[[[[", "]]]]", "1e999", "-1e400", "01",
        "x", "/*", "abcdefghijklmnopqrstuvwxyz"};
    return p;
}

std::string mutate(std::string s, std::mt19937& rng) {
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
        const std::size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
        const auto& piece = pieces()[rng() % pieces().size()];
        switch (rng() % 5) {
            case 0: s.insert(at, piece); break;
            case 1:
                if (at < s.size()) s.replace(at, std::min(piece.size(), s.size() - at), piece);
                break;
            case 2:
                if (at < s.size()) s.erase(at, 1 + rng() % 4);
                break;
            case 3: s.resize(at); break;
            default:
                if (at < s.size()) s[at] = static_cast<char>(rng() & 0xFFU);
                break;
        }
    }
    return s;
}

}  // namespace

TEST_CASE("strict_json differential: the seeds, as they are, under every limit set", "[strict_json]") {
    int accepted = 0;
    for (const auto& limits : limit_sets()) {
        for (const auto& seed : seeds()) accepted += same_outcome(seed, limits) ? 1 : 0;
    }
    CHECK(accepted > 20);  // the seeds are mostly acceptable: the events of whole documents are compared
}

TEST_CASE("strict_json differential: mutated documents", "[strict_json]") {
    std::mt19937 rng(20240611);
    const auto sets = limit_sets();
    const auto base = seeds();
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 6000; ++i) {
        const std::string text = mutate(base[static_cast<std::size_t>(i) % base.size()], rng);
        for (const auto& limits : {sets[0], sets[static_cast<std::size_t>(i) % sets.size()]}) {
            if (same_outcome(text, limits)) {
                ++accepted;
            } else {
                ++refused;
            }
        }
    }
    // Both sides of every rule are exercised.
    CHECK(accepted > 500);
    CHECK(refused > 2000);
}

TEST_CASE("strict_json differential: a string or key starting at every offset of a block scan", "[strict_json]") {
    // Padding before a value moves each token to every position relative to any 16-byte block,
    // and string lengths around the block size put the closing quote, an escape or a control byte
    // at every offset inside one.
    for (std::size_t pad = 0; pad < 20; ++pad) {
        for (std::size_t len = 0; len < 36; ++len) {
            const std::string ws(pad, ' ');
            const std::string body(len, 'a');
            for (const std::string& tail : {std::string(), std::string("\\n"), std::string("\x01"),
                                            std::string("\xC3\xA9"), std::string("\xC3"), std::string("\xFF"),
                                            std::string("\\n\xC3\xA9"), std::string("\\n\xF0\x9F\x98"),
                                            std::string("\xE2\x82\xAC\\u0041")}) {
                const std::string text = "{" + ws + "\"" + body + tail + "\"" + ws + ":" + ws + "\"" + body + tail +
                                         "\"" + ws + "," + ws + "\"" + body + tail + "x\":[" + ws + "\"" + body +
                                         tail + "\"" + ws + "]" + ws + "}";
                same_outcome(text, {});
                same_outcome(text.substr(0, text.size() / 2), {});
            }
        }
    }
}
