#include "ec2/xml.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::ec2;

namespace {

/// Records "start a/b", "end a/b=text" lines.
class recorder final : public xml::handler {
public:
    std::vector<std::string> events;
    status on_start(std::span<const std::string_view> path) override {
        events.push_back("start " + join(path));
        return ok_status();
    }
    status on_end(std::span<const std::string_view> path, std::string_view text) override {
        events.push_back("end " + join(path) + "=" + std::string(text));
        return ok_status();
    }

private:
    static std::string join(std::span<const std::string_view> path) {
        std::string out;
        for (auto p : path) out += (out.empty() ? "" : "/") + std::string(p);
        return out;
    }
};

status parse(std::string_view doc, recorder& r, const xml::limits& lim = {}) { return xml::parse(doc, r, lim); }

std::string code_of(std::string_view doc, const xml::limits& lim = {}) {
    recorder r;
    const auto st = xml::parse(doc, r, lim);
    return st.ok() ? "ok" : st.code();
}

}  // namespace

TEST_CASE("xml: elements, text, entities, CDATA, comments and attributes") {
    recorder r;
    const auto st = parse(
        "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->\n"
        "<a xmlns=\"http://x/\" k='v &amp; w'>\n  <b>x &amp; y &lt;&gt;&quot;&apos; &#65;&#x42;&#xe9;</b>\n"
        "  <?pi data?><c/><d><![CDATA[<raw> & ]]></d>\n</a>\n<!-- trailing -->\n",
        r);
    REQUIRE(st.ok());
    CHECK(r.events == std::vector<std::string>{"start a", "start a/b", "end a/b=x & y <>\"' AB\xC3\xA9", "start a/c",
                                               "end a/c=", "start a/d", "end a/d=<raw> & ", "end a="});
}

TEST_CASE("xml: refuses what is not well-formed or not expected from AWS") {
    CHECK(code_of("") == "bad_xml");
    CHECK(code_of("   ") == "bad_xml");
    CHECK(code_of("not xml at all") == "bad_xml");
    CHECK(code_of("<a>") == "bad_xml");
    CHECK(code_of("<a></b>") == "bad_xml");
    CHECK(code_of("<a><b></a></b>") == "bad_xml");
    CHECK(code_of("<a/><b/>") == "bad_xml");
    CHECK(code_of("<a/>trailing") == "bad_xml");
    CHECK(code_of("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>") == "bad_xml");
    CHECK(code_of("<a>&unknown;</a>") == "bad_xml");
    CHECK(code_of("<a>&amp</a>") == "bad_xml");
    CHECK(code_of("<a>&#0;</a>") == "bad_xml");
    CHECK(code_of("<a>&#xD800;</a>") == "bad_xml");
    CHECK(code_of("<a>&#x110000;</a>") == "bad_xml");
    CHECK(code_of("<a>&#;</a>") == "bad_xml");
    CHECK(code_of("<a>\x01</a>") == "bad_xml");
    CHECK(code_of(std::string("<a>\0</a>", 8)) == "bad_xml");
    CHECK(code_of("<a>text<b/></a>") == "bad_xml");
    CHECK(code_of("<a><b/>text</a>") == "bad_xml");
    CHECK(code_of("<a k=v/>") == "bad_xml");
    CHECK(code_of("<a k=\"<\"/>") == "bad_xml");
    CHECK(code_of("<a k=\"v\"j=\"w\"/>") == "bad_xml");
    CHECK(code_of("<a k=\"v/>") == "bad_xml");
    CHECK(code_of("<1a/>") == "bad_xml");
    CHECK(code_of("<a><![CDATA[x</a>") == "bad_xml");
    CHECK(code_of("<a><!-- x</a>") == "bad_xml");
    CHECK(code_of("<a><!ELEMENT x></a>") == "bad_xml");
    CHECK(code_of("<a></a ") == "bad_xml");
}

TEST_CASE("xml: bounded in depth, name length and size") {
    std::string deep;
    for (int i = 0; i < 40; ++i) deep += "<a>";
    for (int i = 0; i < 40; ++i) deep += "</a>";
    CHECK(code_of(deep) == "bad_xml");
    xml::limits roomy;
    roomy.max_depth = 64;
    CHECK(code_of(deep, roomy) == "ok");

    CHECK(code_of("<" + std::string(300, 'n') + "/>") == "bad_xml");

    xml::limits small;
    small.max_bytes = 10;
    CHECK(code_of("<abc>12345</abc>", small) == "too_large");
    CHECK(code_of("<a>1</a>", small) == "ok");
}

TEST_CASE("xml: a handler error stops the parse") {
    class stopper final : public xml::handler {
    public:
        int ends = 0;
        status on_start(std::span<const std::string_view>) override { return ok_status(); }
        status on_end(std::span<const std::string_view>, std::string_view) override {
            ++ends;
            return make_error("stop", "stop here");
        }
    } h;
    const auto st = xml::parse("<a><b/><c/></a>", h);
    REQUIRE_FALSE(st.ok());
    CHECK(st.code() == "stop");
    CHECK(h.ends == 1);
}
