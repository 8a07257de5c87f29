#include "aws/environment.hpp"
#include "aws/ini.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth;
using stsauth::aws::parse_ini;

namespace {

std::string value_of(const aws::ini_file& f, std::string_view section, std::string_view key) {
    const auto* s = f.find(section);
    REQUIRE(s != nullptr);
    const auto* v = s->find(key);
    REQUIRE(v != nullptr);
    return *v;
}

}  // namespace

TEST_CASE("ini: sections, keys, both delimiters, trimming, case", "[aws][ini]") {
    const auto f = parse_ini("[default]\n"
                             "  Aws_Access_Key_ID   =   AKID  \n"
                             "region:us-west-2\n"
                             "empty =\n"
                             "url = https://x/?a=b:c\n"
                             "[Other Section]\n"
                             "k=v\n",
                             "test");
    REQUIRE(f.ok());
    REQUIRE(f->sections.size() == 2);
    CHECK(f->sections[0].name == "default");
    CHECK(value_of(*f, "default", "aws_access_key_id") == "AKID");
    CHECK(value_of(*f, "default", "region") == "us-west-2");
    CHECK(value_of(*f, "default", "empty").empty());
    CHECK(value_of(*f, "default", "url") == "https://x/?a=b:c");
    CHECK(value_of(*f, "Other Section", "k") == "v");
    CHECK(f->find("other section") == nullptr);  // section names are case-sensitive
    CHECK(f->find("default")->find("missing") == nullptr);
}

TEST_CASE("ini: comments are whole lines only, '#' inside a value is data", "[aws][ini]") {
    const auto f = parse_ini("# top\n; top\n[a]\n   # indented comment\nk = v # not a comment\nj = x;y\n", "t");
    REQUIRE(f.ok());
    CHECK(value_of(*f, "a", "k") == "v # not a comment");
    CHECK(value_of(*f, "a", "j") == "x;y");
    CHECK(f->find("a")->values.size() == 2);
}

TEST_CASE("ini: continuation lines and botocore's nested blocks", "[aws][ini]") {
    const auto f = parse_ini("[a]\n"
                             "s3 =\n"
                             "    max_concurrent_requests = 20\n"
                             "\n"
                             "    # comment inside\n"
                             "    addressing_style = path\n"
                             "\n"
                             "next = 1\n"
                             "  multi = first\n",  // deeper than `next`: a continuation of it
                             "t");
    REQUIRE(f.ok());
    CHECK(value_of(*f, "a", "s3") == "\nmax_concurrent_requests = 20\n\naddressing_style = path");
    CHECK(value_of(*f, "a", "next") == "1\nmulti = first");
    CHECK(f->find("a")->find("multi") == nullptr);
}

TEST_CASE("ini: an indented key right after a header is a key, not a continuation", "[aws][ini]") {
    const auto f = parse_ini("[a]\n   k = v\n   j = w\n", "t");
    REQUIRE(f.ok());
    CHECK(value_of(*f, "a", "k") == "v");
    CHECK(value_of(*f, "a", "j") == "w");
}

TEST_CASE("ini: CRLF and CR line endings", "[aws][ini]") {
    const auto crlf = parse_ini("[a]\r\nk = v\r\nj = w\r\n", "t");
    REQUIRE(crlf.ok());
    CHECK(value_of(*crlf, "a", "k") == "v");
    CHECK(value_of(*crlf, "a", "j") == "w");
    const auto cr = parse_ini("[a]\rk = v\rj = w", "t");
    REQUIRE(cr.ok());
    CHECK(value_of(*cr, "a", "j") == "w");
}

TEST_CASE("ini: section header forms", "[aws][ini]") {
    const auto f = parse_ini("[profile x]   # trailing comment\nk=v\n[ spaced ]\nk=w\n[a]b]\nk=z\n", "t");
    REQUIRE(f.ok());
    CHECK(value_of(*f, "profile x", "k") == "v");
    CHECK(value_of(*f, " spaced ", "k") == "w");  // verbatim, as configparser
    CHECK(value_of(*f, "a]b", "k") == "z");      // up to the last ']'
}

TEST_CASE("ini: [DEFAULT] is inherited by every section, not a section itself", "[aws][ini]") {
    const auto f = parse_ini("[DEFAULT]\nregion = eu-west-1\noutput = json\n[a]\nregion = us-east-2\n[b]\n", "t");
    REQUIRE(f.ok());
    CHECK(f->find("DEFAULT") == nullptr);
    REQUIRE(f->sections.size() == 2);
    CHECK(value_of(*f, "a", "region") == "us-east-2");
    CHECK(value_of(*f, "a", "output") == "json");
    CHECK(value_of(*f, "b", "region") == "eu-west-1");
}

TEST_CASE("ini: empty input and comment-only input have no sections", "[aws][ini]") {
    CHECK(parse_ini("", "t")->sections.empty());
    CHECK(parse_ini("# nothing\n\n   \n", "t")->sections.empty());
}

TEST_CASE("ini: rejections name the file and line and never quote the line", "[aws][ini]") {
    struct bad_case {
        const char* text;
        const char* line_ref;
    };
    const bad_case cases[] = {
        {"k = v\n", "f:1:"},                                       // key before any section
        {"[a]\nk = v\naws_secret_access_key SECRETVALUE\n", "f:3:"},  // no delimiter
        {"[a]\n= v\n", "f:2:"},                                    // empty key
        {"[a]\nk = 1\n[b]\n[a]\n", "f:4:"},                        // duplicate section
        {"[a]\nk = 1\nK = 2\n", "f:3:"},                           // duplicate key (case-insensitive)
        {"[DEFAULT]\nk = 1\n[DEFAULT]\nk = 2\n", "f:4:"},          // duplicate key in DEFAULT
        {"[a\nk = v\n", "f:1:"},                                   // unterminated header
        {"[]\n", "f:1:"},                                          // empty section name
        {"[a] junk\n", "f:1:"},                                    // text after header
        {"[a]\nSECRETVALUE\n", "f:2:"},                           // bare word
    };
    for (const auto& c : cases) {
        INFO(c.text);
        const auto r = parse_ini(c.text, "f");
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_ini");
        CHECK(r.err().message.starts_with(c.line_ref));
        CHECK(r.err().message.find("SECRETVALUE") == std::string::npos);
    }
}

TEST_CASE("ini: the repository's sample files parse", "[aws][ini]") {
    const auto env = aws::process_environment();
    for (const char* name : {"config", "credentials", "credentials_crlf"}) {
        INFO(name);
        const auto content = env.read_file(std::string(STSAUTH_TEST_DATA_DIR "/aws/") + name);
        REQUIRE(content.ok());
        REQUIRE(content->has_value());
        const auto f = parse_ini(**content, name);
        REQUIRE(f.ok());
        CHECK_FALSE(f->sections.empty());
    }
    const auto crlf = parse_ini(**env.read_file(STSAUTH_TEST_DATA_DIR "/aws/credentials_crlf"), "crlf");
    CHECK(value_of(*crlf, "default", "aws_session_token") == "crlf-token");
}
