// parse_caller_identity on the one-pass strict reader, checked against the implementation it
// replaced (nlohmann's SAX parser driving the same Go-style field matching, kept here as the
// oracle) over mutated STS answers: same acceptance, same identity, same error code, same
// type-mismatch text, and the same kind of syntax message (end of input or an invalid byte).
#include "sts/response.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace stsauth;
using stsauth::sts::caller_identity;

namespace {

// ---- the oracle: the nlohmann SAX implementation parse_caller_identity had before --------------

using ndom = nlohmann::json;

bool ascii_lower_equal(char a, char b) noexcept {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(a) == lower(b);
}

bool go_fold_equal(std::string_view key, std::string_view field) noexcept {
    std::size_t i = 0;
    for (char f : field) {
        if (i >= key.size()) return false;
        const auto c = static_cast<unsigned char>(key[i]);
        if (c < 0x80) {
            if (!ascii_lower_equal(key[i], f)) return false;
            ++i;
            continue;
        }
        const char lf = static_cast<char>(f | 0x20);
        if (lf == 's' && key.substr(i, 2) == "\xC5\xBF") {
            i += 2;
        } else if (lf == 'k' && key.substr(i, 3) == "\xE2\x84\xAA") {
            i += 3;
        } else {
            return false;
        }
    }
    return i == key.size();
}

enum class slot : std::uint8_t { none, response, result, arn, account, user_id };

class oracle_sax {
public:
    explicit oracle_sax(caller_identity& out) : out_(out) {}

    bool null() { return consume_scalar(true, nullptr); }
    bool boolean(bool) { return consume_scalar(false, nullptr); }
    bool number_integer(ndom::number_integer_t) { return consume_scalar(false, nullptr); }
    bool number_unsigned(ndom::number_unsigned_t) { return consume_scalar(false, nullptr); }
    bool number_float(ndom::number_float_t, const std::string&) { return consume_scalar(false, nullptr); }
    bool binary(ndom::binary_t&) { return consume_scalar(false, nullptr); }
    bool string(std::string& s) { return consume_scalar(false, &s); }

    bool start_object(std::size_t) {
        if (skip_ > 0) {
            ++skip_;
            return true;
        }
        const slot s = std::exchange(pending_, slot::none);
        if (level_ == 0 || (level_ == 1 && s == slot::response) || (level_ == 2 && s == slot::result)) {
            ++level_;
            return true;
        }
        if (s != slot::none) type_mismatch(s, "object");
        skip_ = 1;
        return true;
    }
    bool end_object() {
        if (skip_ > 0) {
            --skip_;
        } else {
            --level_;
        }
        return true;
    }
    bool start_array(std::size_t) {
        if (skip_ > 0) {
            ++skip_;
            return true;
        }
        const slot s = std::exchange(pending_, slot::none);
        if (level_ == 0) {
            type_mismatch(slot::none, "array");
        } else if (s != slot::none) {
            type_mismatch(s, "array");
        }
        skip_ = 1;
        return true;
    }
    bool end_array() {
        --skip_;
        return true;
    }
    bool key(std::string& k) {
        if (skip_ > 0) return true;
        pending_ = slot::none;
        if (level_ == 1) {
            if (go_fold_equal(k, "GetCallerIdentityResponse")) pending_ = slot::response;
        } else if (level_ == 2) {
            if (go_fold_equal(k, "GetCallerIdentityResult")) pending_ = slot::result;
        } else if (level_ == 3) {
            if (go_fold_equal(k, "Arn")) {
                pending_ = slot::arn;
            } else if (go_fold_equal(k, "Account")) {
                pending_ = slot::account;
            } else if (go_fold_equal(k, "UserId")) {
                pending_ = slot::user_id;
            }
        }
        return true;
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
        syntax_error_at_ = position;
        return false;
    }

    std::size_t syntax_error_at() const { return syntax_error_at_; }
    const std::string& type_error() const { return type_error_; }

private:
    bool consume_scalar(bool is_null, std::string* s) {
        if (skip_ > 0) return true;
        const slot p = std::exchange(pending_, slot::none);
        if (is_null) return true;
        if (s != nullptr) {
            switch (p) {
                case slot::arn: out_.arn = std::move(*s); return true;
                case slot::account: out_.account = std::move(*s); return true;
                case slot::user_id: out_.user_id = std::move(*s); return true;
                default: break;
            }
        }
        if (level_ == 0) {
            type_mismatch(slot::none, s != nullptr ? "string" : "scalar");
        } else if (p != slot::none) {
            type_mismatch(p, s != nullptr ? "string" : "non-string");
        }
        return true;
    }

    void type_mismatch(slot where, std::string_view got) {
        if (!type_error_.empty()) return;
        static constexpr std::array<std::string_view, 6> names = {
            "top-level value", "GetCallerIdentityResponse", "GetCallerIdentityResult", "Arn", "Account", "UserId"};
        type_error_ = "cannot unmarshal JSON ";
        type_error_ += got;
        type_error_ += " into ";
        type_error_ += names[static_cast<std::size_t>(where)];
    }

    caller_identity& out_;
    int level_ = 0;
    std::size_t skip_ = 0;
    slot pending_ = slot::none;
    std::size_t syntax_error_at_ = 0;
    std::string type_error_;
};

bool is_json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

result<caller_identity> oracle_parse(std::string_view body) {
    caller_identity id;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") {
        return make_error("sts_bad_json", "STS response is not valid JSON: invalid character at byte 1");
    }
    oracle_sax sax(id);
    const bool parsed = ndom::sax_parse(body.begin(), body.end(), &sax);
    if (!parsed) {
        const auto first = std::find_if_not(body.begin(), body.end(), is_json_space);
        if (first != body.end() && *first == '<') {
            return make_error("sts_xml_body", "STS answered XML; a JSON body was expected");
        }
        if (sax.syntax_error_at() > body.size() || first == body.end()) {
            return make_error("sts_bad_json", "STS response is not valid JSON: unexpected end of JSON input");
        }
        return make_error("sts_bad_json", "STS response is not valid JSON: invalid character at byte " +
                                              std::to_string(sax.syntax_error_at()));
    }
    if (!sax.type_error().empty()) return make_error("sts_bad_shape", "STS response: " + sax.type_error());
    return id;
}

// ---- inputs ------------------------------------------------------------------------------------

const std::vector<std::string>& seeds() {
    static const std::vector<std::string> s = {
        R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"111122223333",)"
        R"("Arn":"arn:aws:sts::111122223333:assumed-role/Admin/admin-session",)"
        R"("UserId":"AROAIIRR6I5NDJBWMIRQQ:admin-session"},"ResponseMetadata":{"RequestId":)"
        R"("01234567-89ab-cdef-0123-456789abcdef"}}})",
        "{\n  \"GetCallerIdentityResponse\" : {\n    \"GetCallerIdentityResult\" : {\n      \"Arn\" : "
        "\"arn:aws:iam::123456789012:user/Alice\",\n      \"Account\" : \"123456789012\",\n      \"UserId\" : "
        "\"AIDAIYCCCMMMMMMMMGGDA\"\n    }\n  }\n}\n",
        R"({"getcalleridentityresponse":{"GETCALLERIDENTITYRESULT":{"ARN":"a\u0041\n\"","account":"b","uSeRiD":"c"}}})",
        "{\"GetCallerIdentityRe\xC5\xBFponse\":{\"GetCallerIdentityResult\":{\"U\xC5\xBF"
        "erId\":\"x\",\"\xE2\x84\xAA\":1,\"Arn\":\"\xF0\x9F\x98\x80\\ud83d\\ude00\"}}}",
        R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"first","arn":"second","ARN":null}},)"
        R"("getcalleridentityresponse":{"GetCallerIdentityResult":{"Account":"b"}},"x":[1,2.5e3,-0,true,false,null]})",
        R"({"Other":{"GetCallerIdentityResult":{"Arn":"decoy"}},"List":[{"a":[[["Arn"]]]}],)"
        R"("GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"x","N":1.5e10,"B":true,)"
        R"("Nested":{"Arn":"decoy"},"Big":18446744073709551615,"Neg":-9223372036854775809}},"Tail":-1})",
        R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":5,"Account":[1],"UserId":{}}}})",
        R"({"GetCallerIdentityResponse":[{"GetCallerIdentityResult":{"Arn":"a"}}]})",
        R"({"GetCallerIdentityResponse":"x","GetCallerIdentityResponse":{"GetCallerIdentityResult":7}})",
        R"(["GetCallerIdentityResponse",{"Arn":"a"}])",
        R"("arn:aws:iam::1:user/a")",
        "null",
        "  42  ",
        "true",
        "{}",
        R"({"Error":{"Code":"Throttling","Message":"Rate exceeded","Type":"Sender"},"RequestId":"r"})",
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
        "<Arn>arn:aws:iam::1:user/a</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
        R"({"a":"\ud800\udc00","b":"\u00e9\u20ac","c":"\/\\\b\f\r\t","d":1E+2,"e":0.0e-0})",
    };
    return s;
}

// Fragments a mutation may insert: structure, literals, escapes, numbers near the limits,
// folding runes, invalid UTF-8, a BOM, XML.
const std::vector<std::string>& fragments() {
    static const std::vector<std::string> f = {
        "{", "}", "[", "]", ":", ",", "\"", "\\", " ", "\n", "\t", "\r", "\"Arn\"", "\"arn\"", "\"Account\"",
        "\"UserId\"", "\"GetCallerIdentityResponse\"", "\"GetCallerIdentityResult\"", "null", "true", "false",
        "nul", "tru", "fals", "0", "-", "-0", "01", "1.", ".5", "1e", "1e+", "1e999", "-1e400", "1e-999",
        "123456789012345678901234567890", "\\u", "\\u00", "\\u0041", "\\ud800", "\\udc00", "\\ud83d\\ude00",
        "\\ud800\\u0041", "\\x", "\\n", "\xC5\xBF", "\xE2\x84\xAA", "\xC3\xA9", "\xFF", "\xC3", "\xE2\x84",
        "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", "\xEF\xBB\xBF", "<", "<?xml", std::string(1, '\0'),
        "\x01", "/*", "'", "NaN",
    };
    return f;
}

std::string mutate(std::string s, std::mt19937& rng) {
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    const std::size_t steps = 1 + pick(3);
    for (std::size_t step = 0; step < steps; ++step) {
        const std::size_t pos = s.empty() ? 0 : pick(s.size() + 1);
        switch (pick(7)) {
            case 0:  // insert a fragment
                s.insert(pos, fragments()[pick(fragments().size())]);
                break;
            case 1:  // delete a run
                if (!s.empty() && pos < s.size()) s.erase(pos, 1 + pick(std::min<std::size_t>(8, s.size() - pos)));
                break;
            case 2:  // replace one byte with any byte
                if (pos < s.size()) s[pos] = static_cast<char>(pick(256));
                break;
            case 3:  // truncate
                s.resize(pos);
                break;
            case 4: {  // duplicate a run (repeated keys, deeper nesting)
                if (pos < s.size()) {
                    const std::size_t len = 1 + pick(std::min<std::size_t>(40, s.size() - pos));
                    s.insert(pos, s.substr(pos, len));
                }
                break;
            }
            case 5:  // flip the case of a letter (Go's folding)
                if (pos < s.size() && ((s[pos] >= 'a' && s[pos] <= 'z') || (s[pos] >= 'A' && s[pos] <= 'Z')))
                    s[pos] = static_cast<char>(s[pos] ^ 0x20);
                break;
            default:  // replace a run with a fragment
                if (pos < s.size()) s.erase(pos, 1);
                s.insert(std::min(pos, s.size()), fragments()[pick(fragments().size())]);
                break;
        }
    }
    return s;
}

// The message of a syntax error without its byte offset (the offsets are Go's now: the offending
// byte counted, where nlohmann counted to the end of the token it could not use).
std::string message_kind(const result<caller_identity>& r) {
    if (r.ok()) return "ok";
    if (r.code() != "sts_bad_json") return r.err().message;
    const auto& m = r.err().message;
    if (m.find("unexpected end of JSON input") != std::string::npos) return "end";
    if (m.find("invalid character at byte ") != std::string::npos) return "invalid";
    return m;
}

std::size_t invalid_byte(const result<caller_identity>& r) {
    const std::string_view m = r.err().message;
    const auto at = m.find("at byte ");
    return at == std::string_view::npos ? 0 : std::stoul(std::string(m.substr(at + 8)));
}

// Where the two may differ, on purpose, and the new answer is Go's:
// - nlohmann treats a NUL byte as the end of the input (so `{}\0junk` was accepted); Go and the
//   strict reader refuse the NUL as an invalid character;
// - nlohmann judges a token only once it has read all of it: a string, literal or number that
//   starts where no value may and runs to the end of the text was "unexpected end"; Go says
//   "invalid character" at its first byte;
// - nlohmann reads a first byte 0xEF as the start of a byte-order mark and, cut short, "ended";
//   Go refuses the byte.
bool go_differs_on_purpose(const std::string& body, const result<caller_identity>& mine,
                           const result<caller_identity>& theirs) {
    if (mine.ok() || mine.code() != "sts_bad_json" || message_kind(mine) != "invalid") return false;
    const std::size_t at = invalid_byte(mine);
    if (at == 0 || at > body.size()) return false;
    const char offending = body[at - 1];
    if (offending == '\0') return true;
    if (at == 1 && offending == '\xEF') return true;
    const bool token_start = std::string_view("\"tfn-0123456789").find(offending) != std::string_view::npos;
    return token_start && !theirs.ok() && message_kind(theirs) == "end";
}

/// Returns true when the answers differ in one of the ways above.
bool check_same(const std::string& body) {
    const auto mine = sts::parse_caller_identity(body);
    const auto theirs = oracle_parse(body);
    INFO("body (" << body.size() << " bytes): " << nlohmann::json(body).dump(-1, ' ', true,
                                                                         nlohmann::json::error_handler_t::replace));
    INFO("mine: " << (mine.ok() ? std::string("ok") : mine.err().message));
    INFO("nlohmann: " << (theirs.ok() ? std::string("ok") : theirs.err().message));
    if ((mine.ok() != theirs.ok() || message_kind(mine) != message_kind(theirs)) &&
        go_differs_on_purpose(body, mine, theirs))
        return true;
    REQUIRE(mine.ok() == theirs.ok());
    if (mine.ok()) {
        CHECK(*mine == *theirs);
        return false;
    }
    CHECK(mine.code() == theirs.code());
    CHECK(message_kind(mine) == message_kind(theirs));
    return false;
}

}  // namespace

TEST_CASE("parse differential: every seed as the nlohmann implementation", "[sts][parse][differential]") {
    for (const auto& s : seeds()) CHECK_FALSE(check_same(s));
    // Every prefix of every seed: truncations end inside every kind of token.
    for (const auto& s : seeds())
        for (std::size_t n = 0; n <= s.size(); ++n) check_same(s.substr(0, n));
}

TEST_CASE("parse differential: mutated STS answers as the nlohmann implementation", "[sts][parse][differential]") {
    std::mt19937 rng(20261124);
    std::size_t accepted = 0;
    std::size_t shape = 0;
    std::size_t end_of_input = 0;
    std::size_t invalid = 0;
    std::size_t go_differs = 0;
    constexpr std::size_t rounds = 60000;
    for (std::size_t i = 0; i < rounds; ++i) {
        const auto& seed = seeds()[i % seeds().size()];
        const std::string body = mutate(seed, rng);
        if (check_same(body)) ++go_differs;
        const auto r = sts::parse_caller_identity(body);
        if (r.ok()) {
            ++accepted;
        } else if (r.code() == "sts_bad_shape") {
            ++shape;
        } else if (message_kind(r) == "end") {
            ++end_of_input;
        } else if (message_kind(r) == "invalid") {
            ++invalid;
        }
    }
    // The mutations reach every outcome often enough for the comparison to mean something.
    INFO("accepted " << accepted << ", bad shape " << shape << ", end " << end_of_input << ", invalid " << invalid
                      << ", differing as Go " << go_differs);
    CHECK(accepted > rounds / 20);
    CHECK(shape > rounds / 100);
    CHECK(end_of_input > rounds / 50);
    CHECK(invalid > rounds / 10);
    CHECK(go_differs < rounds / 50);  // the exceptions stay exceptions
}

TEST_CASE("parse differential: byte offsets of syntax errors count the offending byte, as Go", "[sts][parse]") {
    struct row {
        std::string body;
        std::string message;
    };
    for (const auto& r : {row{"xxxx", "invalid character at byte 1"}, row{"{} x", "invalid character at byte 4"},
                          row{"{\"a\" 123}", "invalid character at byte 6"},
                          row{"{\"a\":\"\\x\"}", "invalid character at byte 8"},
                          row{"{\"a\":\"\\u12g4\"}", "invalid character at byte 11"},
                          row{"{\"a\":1,}", "invalid character at byte 8"},
                          row{"{\"a\":\"\xFF\"}", "invalid character at byte 7"},
                          row{"{\"a\" \xFF \"\xFF\"}", "invalid character at byte 6"},
                          row{"{\"a\":1e999}", "invalid character at byte 6"},
                          row{"{\"a\":\"\xC3", "unexpected end of JSON input"},
                          row{"{\"a\":tru", "unexpected end of JSON input"},
                          row{"{\"a\":\"\\ud800\\", "unexpected end of JSON input"},
                          row{"{\"a\":\"\\u00", "unexpected end of JSON input"}}) {
        INFO(r.body);
        const auto e = sts::parse_caller_identity(r.body);
        REQUIRE_FALSE(e.ok());
        CHECK(e.code() == "sts_bad_json");
        CHECK(e.err().message == "STS response is not valid JSON: " + r.message);
    }
}
