#include "common/strict_json.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

using namespace stsauth;
using stsauth::json::strict_limits;
using stsauth::json::value_type;

namespace {

std::string code_of(std::string_view text, const strict_limits& limits = {}) {
    auto e = json::strict_parse(text, limits);
    return e ? e->code : "ok";
}

// Records every event as text, to check what a handler sees.
struct recorder final : json::strict_handler {
    std::vector<std::string> events;
    void key(std::size_t depth, std::string_view k) override { events.push_back(std::to_string(depth) + "k:" + std::string(k)); }
    void value(std::size_t depth, value_type t, std::string_view text) override {
        events.push_back(std::to_string(depth) + "v" + std::to_string(static_cast<int>(t)) + ":" + std::string(text));
    }
    void close(std::size_t depth, value_type t) override {
        events.push_back(std::to_string(depth) + "c" + std::to_string(static_cast<int>(t)));
    }
};

}  // namespace

TEST_CASE("strict_json: accepts one object of any valid JSON inside", "[strict_json]") {
    CHECK(code_of("{}") == "ok");
    CHECK(code_of(" \t\r\n{ } \n") == "ok");
    CHECK(code_of(R"({"a":[1,-0,0.5,-1.25e+10,1E-3,true,false,null,"s",{},[]],"b":{"c":{"d":[[]]}}})") == "ok");
    CHECK(code_of(R"({"e":"\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00"})") == "ok");
    CHECK(code_of("{\"\xC3\xA9\":\"\xF0\x9F\x98\x80\"}") == "ok");
    CHECK(code_of(R"({"tiny":1e-999,"big":1e308,"digits":123456789012345678901234567890})") == "ok");
}

TEST_CASE("strict_json: every refusal and its code", "[strict_json]") {
    SECTION("not JSON") {
        for (const char* bad : {"", " ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}",
                                "{'a':1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":+1}",
                                "{\"a\":-}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":tru}", "{\"a\":nul}",
                                "{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":\"x}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
                                "{\"a\":\"\\u12g4\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
                                "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}",
                                "{\"a\":1e999}", "{\"a\":-1e400}", "{/*c*/}", "\xEF\xBB\xBF{}"}) {
            INFO(bad);
            CHECK(code_of(bad) == "not_json");
        }
    }
    SECTION("not an object") {
        for (const char* bad : {"[]", "[1", "1", "-2.5", "\"s\"", "true", "null"}) {
            INFO(bad);
            CHECK(code_of(bad) == "not_object");
        }
    }
    SECTION("trailing data") {
        for (const char* bad : {"{}{}", "{} x", "{}}", "{} /* c */", "{}\n{}", "{} 1", "{},"}) {
            INFO(bad);
            CHECK(code_of(bad) == "trailing_data");
        }
        // A NUL byte after the object is data, not an end of input.
        CHECK(code_of(std::string_view("{}\0", 3)) == "trailing_data");
        CHECK(code_of(std::string_view("{\"a\":1}\0xyz", 11)) == "trailing_data");
    }
    SECTION("invalid UTF-8 anywhere, before any other check") {
        for (const char* bad : {"{\"a\":\"\xFF\"}", "{\"a\":\"\xC0\xAF\"}", "{\"a\":\"\xED\xA0\x80\"}",
                                "{\"a\":\"\xF4\x90\x80\x80\"}", "{\"a\":\"\xE2\x82\"}", "{}\xC3", "\x80{}",
                                "{\"\xFE\":1}", "[\xC3\xA9\xE0\x80\x80]", "{\"a\":\"\xF0\x9F\x98\"}"}) {
            INFO(bad);
            CHECK(code_of(bad) == "bad_utf8");
        }
    }
    SECTION("duplicate keys, compared unescaped, at any level") {
        CHECK(code_of(R"({"a":1,"a":2})") == "duplicate_key");
        CHECK(code_of(R"({"a":1,"\u0061":2})") == "duplicate_key");
        CHECK(code_of(R"({"\u00e9":1,")" "\xC3\xA9" R"(":2})") == "duplicate_key");
        CHECK(code_of(R"({"x":{"y":[{"k":1,"k":1}]}})") == "duplicate_key");
        CHECK(code_of(R"({"a":{"k":1},"b":{"k":1},"k":{"k":{"k":1}}})") == "ok");  // siblings and nesting are fine
        CHECK(code_of(R"({"a":1,"A":2})") == "ok");                               // exact comparison
        // Many keys (the hashed index past 16): a duplicate far apart is still found.
        std::string many = "{";
        for (int i = 0; i < 2000; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
        CHECK(code_of(many + "\"last\":0}") == "ok");
        CHECK(code_of(many + "\"k3\":0}") == "duplicate_key");
        CHECK(code_of(many + "\"k\\u0031999\":0}") == "duplicate_key");  // k1999, escaped
    }
    SECTION("nesting depth") {
        strict_limits limits;
        limits.max_depth = 4;
        CHECK(code_of(R"({"a":{"b":[[1]]}})", limits) == "ok");  // 4 levels
        CHECK(code_of(R"({"a":{"b":[[[1]]]}})", limits) == "too_deep");
        CHECK(code_of(R"({"a":{"b":{"c":{"d":{}}}}})", limits) == "too_deep");
        // Far deeper than the limit: refused without recursion.
        std::string deep(100000, '[');
        CHECK(code_of("{\"a\":" + deep) == "too_deep");
    }
    SECTION("string and key sizes, after unescaping") {
        strict_limits limits;
        limits.max_string_bytes = 8;
        limits.max_key_bytes = 4;
        CHECK(code_of(R"({"abcd":"12345678"})", limits) == "ok");
        CHECK(code_of(R"({"abcd":"123456789"})", limits) == "string_too_long");
        CHECK(code_of(R"({"abcde":1})", limits) == "string_too_long");
        CHECK(code_of(R"({"a":["123456789"]})", limits) == "string_too_long");
        CHECK(code_of(R"({"a":"\u0041\u0042\u0043\u0044\u0045\u0046\u0047\u0048"})", limits) == "ok");  // 8 bytes
        CHECK(code_of(R"({"a":"\u00e9\u00e9\u00e9\u00e9\u00e9"})", limits) == "string_too_long");      // 10 bytes
        CHECK(code_of("{\"a\":\"" + std::string(1 << 20, 'x') + "\"}") == "string_too_long");           // 1 MiB
    }
    SECTION("the first violation in document order wins") {
        CHECK(code_of(R"({"a":1,"a":2,"b":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})") ==
              "duplicate_key");
        CHECK(code_of(R"({"a":1,"b":tru,"a":2})") == "not_json");
        CHECK(code_of("{\"a\":1,\"a\":2}\xFF") == "bad_utf8");  // UTF-8 is checked over the whole text first
    }
    SECTION("messages quote no input") {
        auto e = json::strict_parse(R"({"SECRET-TOKEN-VALUE":tru})", {});
        REQUIRE(e);
        CHECK(e->message.find("SECRET") == std::string::npos);
        CHECK(e->message.find("byte 22") != std::string::npos);
    }
}

TEST_CASE("strict_json: the handler sees unescaped keys and values with their depth", "[strict_json]") {
    recorder r;
    REQUIRE_FALSE(json::strict_parse(R"({"k\u0031":"v\n","o":{"a":[1,"x",null]},"t":true})", {}, &r));
    const std::vector<std::string> expected = {
        "1k:k1", "1v2:v\n", "1k:o", "1v0:", "2k:a", "2v1:", "3v3:1", "3v2:x", "3v5:null", "3c1", "2c0", "1k:t", "1v4:true", "1c0",
    };
    CHECK(r.events == expected);
}

TEST_CASE("strict_json: accepts exactly what nlohmann's strict parser accepts, on mutated documents", "[strict_json]") {
    // Random single-byte mutations of a TokenReview-like body: wherever nlohmann (the previous
    // decoder) accepts the document, it has no duplicate keys and no NUL, so must be accepted
    // here; wherever it refuses, so must this reader.
    const std::string base =
        R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"x":[1,2.5e3,-0,true,null]},)"
        R"("spec":{"token":"k8s-aws-v1.aHR0\u0041","audiences":["a","b"]},"status":{"user":{}}})";
    const std::string alphabet = "{}[]\":,.-+0123456789eEtrufalsn \\u/\x01\n\xC3\xA9";
    std::mt19937 rng(12345);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string doc = base;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const std::size_t pos = rng() % doc.size();
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
                case 0: doc[pos] = c; break;
                case 1: doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
                default: doc.erase(pos, 1); break;
            }
        }
        const bool theirs = nlohmann::json::accept(doc) && !doc.empty() && doc.find('\0') == std::string::npos;
        auto mine = json::strict_parse(doc, {});
        if (theirs) {
            // nlohmann accepts duplicate keys and any top-level value; this reader does not.
            const auto parsed = nlohmann::json::parse(doc);
            if (!parsed.is_object()) {
                CHECK((mine && mine->code == "not_object"));
                continue;
            }
            if (mine && mine->code == "duplicate_key") continue;
            INFO(doc);
            CHECK_FALSE(mine);
            ++accepted;
        } else {
            INFO(doc);
            CHECK(mine);
        }
    }
    CHECK(accepted > 100);  // the mutations did not only break the document
}

TEST_CASE("strict_json: append_escaped writes what nlohmann's dump writes", "[strict_json]") {
    auto dumped = [](const std::string& s) {
        const std::string d = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return d.substr(1, d.size() - 2);
    };
    auto escaped = [](std::string_view s) {
        std::string out;
        json::append_escaped(out, s);
        return out;
    };
    CHECK(escaped("plain") == "plain");
    CHECK(escaped("q\"b\\s/") == "q\\\"b\\\\s/");
    CHECK(escaped("\b\f\n\r\t") == "\\b\\f\\n\\r\\t");
    CHECK(escaped(std::string("\x00\x01\x1f\x7f", 4)) == "\\u0000\\u0001\\u001f\x7f");
    CHECK(escaped("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    CHECK(escaped("<&>\xE2\x80\xA8") == "<&>\xE2\x80\xA8");  // no HTML escaping
    // Invalid UTF-8 (a mapping file's name, say): one U+FFFD per maximal invalid subsequence.
    CHECK(escaped("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
    CHECK(escaped("a\xE2\x82" "b") == "a\xEF\xBF\xBD" "b");
    CHECK(escaped("\xE2\x82") == "\xEF\xBF\xBD");
    CHECK(escaped("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(escaped("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");

    // And against nlohmann on random byte strings biased towards the interesting bytes.
    const std::string bytes = std::string("aZ \"\\/\b\f\n\r\t\x01\x1f\x7f\x80\xBF\xC2\xC3\xDF\xE0\xE2\xED\xEF\xF0\xF4\xF5\xFF\xA0\x9F\x90\x8F", 31);
    std::mt19937 rng(777);
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const std::size_t n = rng() % 12;
        for (std::size_t j = 0; j < n; ++j) s.push_back(bytes[rng() % bytes.size()]);
        REQUIRE(escaped(s) == dumped(s));
    }
    // Every offset of the 16- and 8-byte runs it copies whole, and longer strings mostly plain.
    const std::vector<std::string> specials = {"\"", "\\", "\x01", "\x1f", "\x7f", "\xC3\xA9", "\xFF", "\x80", "\n"};
    for (std::size_t k = 0; k < 48; ++k) {
        INFO("offset " << k);
        const std::string pad(k, 'a');
        for (const auto& sp : specials) REQUIRE(escaped(pad + sp + "bbbbbbbbbbbbbbbbbbb") == dumped(pad + sp + "bbbbbbbbbbbbbbbbbbb"));
    }
    for (int i = 0; i < 5000; ++i) {
        std::string s;
        const std::size_t n = rng() % 80;
        for (std::size_t j = 0; j < n; ++j) s.push_back(rng() % 8 == 0 ? bytes[rng() % bytes.size()] : 'x');
        REQUIRE(escaped(s) == dumped(s));
    }
}

TEST_CASE("strict_json: valid_utf8", "[strict_json]") {
    CHECK(json::valid_utf8(""));
    CHECK(json::valid_utf8(std::string(1000, 'a') + "\xC3\xA9" + std::string(9, 'b')));
    CHECK(json::valid_utf8("\xF4\x8F\xBF\xBF"));
    CHECK_FALSE(json::valid_utf8(std::string(1000, 'a') + "\xC3"));
    CHECK_FALSE(json::valid_utf8("\xF4\x90\x80\x80"));
    CHECK_FALSE(json::valid_utf8("\xE0\x9F\xBF"));
    CHECK_FALSE(json::valid_utf8("abcdefg\x80"));
    for (std::size_t k = 0; k < 48; ++k) {  // every offset of the 16- and 8-byte ASCII scans
        INFO("offset " << k);
        const std::string pad(k, 'a');
        CHECK(json::valid_utf8(pad + "\xC3\xA9" + pad));
        CHECK(json::valid_utf8(pad + "\x7f" + pad));
        CHECK_FALSE(json::valid_utf8(pad + "\xC3" + pad));
        CHECK_FALSE(json::valid_utf8(pad + "\xFF" + pad));
    }
}

TEST_CASE("strict_json: specials are found at every offset of the 16- and 8-byte scans", "[strict_json]") {
    // Offsets across two 16-byte blocks and the 8-byte and byte-by-byte tails after them.
    for (std::size_t k = 0; k < 48; ++k) {
        const std::string pad(k, 'a');
        INFO("offset " << k);
        CHECK(code_of("{\"s\":\"" + pad + "\x01" + "bbbbbbbbbbbb\"}") == "not_json");
        CHECK(code_of("{\"s\":\"" + pad + "\x1f" + "bbbbbbbbbbbb\"}") == "not_json");
        CHECK(code_of("{\"s\":\"" + pad + "\\q" + "bbbbbbbbbbbb\"}") == "not_json");
        CHECK(code_of("{\"s\":\"" + pad + "\"" + "bbbbbbbbbbbb\"}") == "not_json");  // ends the string early
        CHECK(code_of("{\"s\":\"" + pad + "\x7f\xC3\xA9 ~!" + "bbbbbbbbbbbb\"}") == "ok");
        recorder r;
        REQUIRE_FALSE(json::strict_parse("{\"s\":\"" + pad + "\\n" + pad + "\"}", {}, &r));
        CHECK(r.events.at(1) == "1v2:" + pad + "\n" + pad);
    }
}

TEST_CASE("strict_json: unique_keys off reports every occurrence of a repeated key", "[strict_json]") {
    strict_limits lenient;
    lenient.unique_keys = false;
    recorder r;
    REQUIRE_FALSE(json::strict_parse(R"({"a":1,"a":{"k":1,"\u006b":2},"A":3,"a":4})", lenient, &r));
    const std::vector<std::string> expected = {"1k:a", "1v3:1", "1k:a", "1v0:", "2k:k", "2v3:1", "2k:k",
                                               "2v3:2", "2c0", "1k:A", "1v3:3", "1k:a", "1v3:4", "1c0"};
    CHECK(r.events == expected);
    // Every other rule still holds.
    CHECK(code_of(R"({"a":1,"a":})", lenient) == "not_json");
    CHECK(code_of("{\"a\":\"\xFF\",\"a\":1}", lenient) == "bad_utf8");
    CHECK(code_of("[1]", lenient) == "not_object");
    CHECK(code_of("{}{}", lenient) == "trailing_data");
    // Many repeated keys (past the hashed index) are fine too.
    std::string many = "{";
    for (int i = 0; i < 100; ++i) many += "\"k\":" + std::to_string(i) + ",";
    CHECK(code_of(many + "\"k\":0}", lenient) == "ok");
}

TEST_CASE("strict_json: object_only off takes any value at the top, reported at depth 0", "[strict_json]") {
    strict_limits any;
    any.object_only = false;
    auto events = [&](std::string_view text) {
        recorder r;
        const auto e = json::strict_parse(text, any, &r);
        return e ? "error:" + e->code : [&] {
            std::string all;
            for (const auto& ev : r.events) all += ev + " ";
            return all;
        }();
    };
    CHECK(events(" 42 ") == "0v3:42 ");
    CHECK(events("\"s\\n\"") == "0v2:s\n ");
    CHECK(events("null") == "0v5:null ");
    CHECK(events("true") == "0v4:true ");
    CHECK(events("[1,[]]") == "0v1: 1v3:1 1v1: 2c1 1c1 ");  // close(depth of the members)
    CHECK(events("{\"a\":[]}") == "0v0: 1k:a 1v1: 2c1 1c0 ");
    CHECK(events("[1") == "error:not_json");
    CHECK(events("1 2") == "error:trailing_data");
    CHECK(events("[] x") == "error:trailing_data");
    CHECK(events("01") == "error:trailing_data");
    CHECK(events("") == "error:not_json");
    CHECK(events("tru") == "error:not_json");
    CHECK(events("1e999") == "error:not_json");
    CHECK(events("\"\xFF\"") == "error:bad_utf8");
    any.max_string_bytes = 2;
    CHECK(events("\"abc\"") == "error:string_too_long");
    any.max_depth = 2;
    CHECK(events("[[1]]") == "0v1: 1v1: 2v3:1 2c1 1c1 ");
    CHECK(events("[[[1]]]") == "error:too_deep");
}

TEST_CASE("strict_json: where a refused text went wrong", "[strict_json]") {
    strict_limits any;
    any.object_only = false;
    struct row {
        std::string text;
        std::size_t offset;
        bool end_of_input;
    };
    for (const auto& r : {
             row{"", 0, true}, row{"   ", 3, true}, row{"x", 0, false}, row{"{\"a\" 123}", 5, false},
             row{"{\"a\":1,}", 7, false}, row{"{} x", 3, false}, row{"{\"a\":1e999}", 5, false},
             row{"{\"a\":\"\\x\"}", 7, false}, row{"{\"a\":\"\\u12g4\"}", 10, false},
             row{"{\"a\":\"\\ud800\\u0041\"}", 17, false},
             // The text ends inside a value: a string, an escape, a literal, a number, a container.
             row{"{\"a\":\"abc", 9, true}, row{"{\"a\":\"\\", 7, true}, row{"{\"a\":\"\\u00", 10, true},
             row{"{\"a\":\"\\ud800", 12, true}, row{"{\"a\":\"\\ud800\\", 13, true}, row{"{\"a\":tru", 8, true},
             row{"{\"a\":-", 6, true}, row{"{\"a\":1.", 7, true}, row{"{\"a\":1e+", 8, true}, row{"[[", 2, true},
             row{"{\"a\":1", 6, true}, row{"{\"a\"", 4, true},
             // Not a cut-off literal: the bytes differ from it.
             row{"{\"a\":trux", 5, false}, row{"tru\xC3", 0, false},
             // Invalid UTF-8: the first offence in document order.
             row{"{\"a\":\"\xFF\"}", 6, false}, row{"{\"a\" \xFF \"\xFF\"}", 5, false},
             row{"{\"a\":\"x\x01\xFF\"}", 7, false}, row{"{\"a\":\"\xFF\x01\"}", 6, false},
             row{"{\"\xC0\xAF\":1}", 2, false}, row{"{\xC3", 1, false}, row{"{} \xFF", 3, false},
             row{"{\"a\":\"\xC3", 7, true}, row{"{\"a\":\"\xF0\x9F\x98", 9, true},
             row{"{\"a\":\"\xE2\x82x\"}", 6, false}}) {
        INFO(r.text);
        json::strict_failure_position where;
        const auto e = json::strict_parse(r.text, any, nullptr, &where);
        REQUIRE(e);
        CHECK(where.offset == r.offset);
        CHECK(where.end_of_input == r.end_of_input);
        // The plain overload refuses it the same way.
        const auto again = json::strict_parse(r.text, any);
        REQUIRE(again);
        CHECK(again->code == e->code);
    }
    json::strict_failure_position bom;
    REQUIRE(json::strict_parse("\xEF\xBB\xBF{}", {}, nullptr, &bom));
    CHECK(bom.offset == 0);
    CHECK_FALSE(bom.end_of_input);
}

TEST_CASE("strict_json: a handler may read another document while one is being read", "[strict_json]") {
    // The reader lends its thread's working storage to one read at a time; a nested read gets its
    // own, and neither disturbs the other's duplicate-key records or unescaped strings.
    struct nesting final : json::strict_handler {
        std::vector<std::string> inner_codes;
        std::vector<std::string> values;
        void key(std::size_t, std::string_view) override {}
        void value(std::size_t, value_type t, std::string_view text) override {
            if (t != value_type::string) return;
            values.emplace_back(text);
            const auto inner = json::strict_parse(R"({"x":1,"y":{"x":"\u0041"},"x":2})", {});
            inner_codes.push_back(inner ? inner->code : "ok");
        }
        void close(std::size_t, value_type) override {}
    } h;
    const auto outer = json::strict_parse(R"({"a":"\u0042one","b":"two","a":"three"})", {}, &h);
    REQUIRE(outer);
    CHECK(outer->code == "duplicate_key");  // the outer keys survived the nested reads
    CHECK(h.values == std::vector<std::string>{"Bone", "two"});
    CHECK(h.inner_codes == std::vector<std::string>{"duplicate_key", "duplicate_key"});
    // And the thread's storage is usable again afterwards.
    recorder r;
    REQUIRE_FALSE(json::strict_parse(R"({"k":"\u0043"})", {}, &r));
    CHECK(r.events == std::vector<std::string>{"1k:k", "1v2:C", "1c0"});
}
