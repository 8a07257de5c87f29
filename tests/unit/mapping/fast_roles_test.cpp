#include "mapping/fast_roles.hpp"
#include "mapping/sources.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::mapping;

namespace {

// Both paths on the same text: the same document, or the same error code.
enum class path { fast, slow, either };

void check_same(const std::string& text, path expected) {
    INFO(text);
    const bool expect_fast = expected == path::fast;
    const auto fast_split = detail::split_map_roles(text);
    if (expected != path::either) CHECK(fast_split.has_value() == expect_fast);
    const auto slow = detail::read_mounted_file_document(text, false);
    const auto fast = detail::read_mounted_file_document(text, true);
    REQUIRE(slow.ok() == fast.ok());
    if (!slow.ok()) {
        CHECK(slow.code() == fast.code());
        return;
    }
    CHECK(slow->roles == fast->roles);
    CHECK(slow->accounts == fast->accounts);
    CHECK(slow->users.size() == fast->users.size());
    if (expect_fast && fast_split) CHECK(fast_split->roles == slow->roles);
}

const std::string head = "clusterID: test\nserver:\n  port: 0\n  sts:\n    timeout: 5s\n";
const std::string tail = "  mapUsers:\n  - userarn: arn:aws:iam::111122223333:user/alice\n    username: alice\n"
                         "  mapAccounts: [\"012345678901\"]\n# end\n";

}  // namespace

TEST_CASE("fast mapRoles: the common shapes read exactly as yaml-cpp reads them", "[fast_roles]") {
    const std::vector<std::string> blocks = {
        // compact items, flow groups, quoted template
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Admin\n    username: \"admin:{{SessionName}}\"\n"
        "    groups: [system:masters]\n  - rolearn: arn:aws:iam::111122223333:role/b\n    username: b\n    groups: []\n",
        // indented items, block groups, single quotes, keys in other case, userid
        "  mapRoles:\n    - roleARN: 'arn:aws:iam::111122223333:role/x'\n      UserName: x:{{AccountID}}\n"
        "      groups:\n        - g1\n        - \"g 2\"\n      userid: AROAX\n",
        // block groups at the key's indent, scalar groups split on ','
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/y\n    username: y\n    groups:\n    - a\n    - b\n"
        "  - rolearn: arn:aws:iam::111122223333:role/z\n    username: z\n    groups: a,b,,c\n",
        // flow groups with odd spacing, quoted items, plain scalars with ':' '@' '{' '.'
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/p.q@r\n    username: u@{{SessionName}}.x\n"
        "    groups: [ a ,\"b\", 'c',d:e ]\n",
        // only a rolearn
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/only\n",
    };
    for (const auto& b : blocks) {
        check_same(head + b + tail, path::fast);
        check_same(head + tail + b, path::fast);  // the block last in the file
        check_same(head + b, path::fast);
        check_same(head + b + "other: 1\n", path::fast);  // a top-level key after it
    }
}

TEST_CASE("fast mapRoles: anything else is left to yaml-cpp, with the same outcome", "[fast_roles]") {
    const std::string item = "  - rolearn: arn:aws:iam::111122223333:role/A\n    username: a\n";
    const std::vector<std::string> blocks = {
        "  mapRoles:\n" + item + "    groups: [a, b,]\n",                        // trailing comma
        "  mapRoles:\n" + item + "    # comment\n    groups: [a]\n",              // comment inside
        "  mapRoles:\n" + item + "\n" + item,                                      // blank line inside
        "  mapRoles:\n" + item + "    username: b\n",                              // duplicate key
        "  mapRoles:\n" + item + "    Username: b\n",                              // duplicate, other case
        "  mapRoles:\n" + item + "    sso: {permissionSetName: x}\n",             // sso
        "  mapRoles:\n" + item + "    extra: 1\n",                                 // unknown key (a warning)
        "  mapRoles:\n" + item + "    groups:\n",                                  // null groups
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: null\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: ~\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: \"a\\tb\"\n",  // escape
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: a # c\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: 'it''s'\n",
        "  mapRoles:\n  - rolearn: &a arn:aws:iam::111122223333:role/A\n    username: *a\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: |\n      multi\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n    username: caf\xC3\xA9\n",
        "  mapRoles:\n  -   rolearn: arn:aws:iam::111122223333:role/A\n",
        "  mapRoles:\n  - rolearn:  arn:aws:iam::111122223333:role/A\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A \n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n     username: a\n",  // odd indent
        "  mapRoles:\n  -\n    rolearn: arn:aws:iam::111122223333:role/A\n",
        "  mapRoles: []\n",
        "  mapRoles:\n",
        "  mapRoles:\n  - {rolearn: arn:aws:iam::111122223333:role/A}\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n  mapRoles:\n  - rolearn: x\n",
        "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n      - stray\n",
        "  mapRoles:\n  - rolearn: -arn\n",
        "  mapRoles:\n  - rolearn: x:\n",
    };
    for (const auto& b : blocks) check_same(head + b + tail, path::slow);
    check_same("server:\n" + std::string("  mapRoles:\n") + item + "---\nserver: {}\n", path::slow);
    check_same("server:\r\n  mapRoles:\r\n" + item, path::slow);
    check_same("server:\n\t\n  mapRoles:\n" + item, path::slow);
    // Read fast, but the rest (another spelling of the same key) fails exactly as it would.
    check_same(head + "  mapRoles:\n" + item + "  maproles: []\n" + tail, path::either);
    check_same(head + "  mapRoles:\n" + item + "  mapRoles: []\n" + tail, path::either);
}

TEST_CASE("fast mapRoles: random edits of a config never make the paths disagree", "[fast_roles]") {
    std::string base = head + "  mapRoles:\n";
    for (int i = 0; i < 6; ++i) {
        base += "  - rolearn: arn:aws:iam::111122223333:role/r" + std::to_string(i) + "\n    username: \"u" +
                std::to_string(i) + ":{{SessionName}}\"\n    groups: [g" + std::to_string(i) + ", sys:x]\n";
    }
    base += tail;
    const std::string alphabet = " -:#\"'[],{}\n&*|>~ab1";
    std::mt19937 rng(4242);
    int fast_taken = 0;
    for (int n = 0; n < 1500; ++n) {
        std::string t = base;
        const int edits = 1 + static_cast<int>(rng() % 2);
        for (int e = 0; e < edits; ++e) {
            const std::size_t pos = head.size() + rng() % (t.size() - head.size());
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
                case 0: t[pos] = c; break;
                case 1: t.insert(t.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
                default: t.erase(pos, 1); break;
            }
        }
        INFO(t);
        const auto slow = detail::read_mounted_file_document(t, false);
        const auto fast = detail::read_mounted_file_document(t, true);
        REQUIRE(slow.ok() == fast.ok());
        if (slow.ok()) {
            REQUIRE(slow->roles == fast->roles);
            REQUIRE(slow->accounts == fast->accounts);
        } else {
            REQUIRE(slow.code() == fast.code());
        }
        if (detail::split_map_roles(t)) ++fast_taken;
    }
    CHECK(fast_taken > 100);  // the edits did not always leave the shape
}

TEST_CASE("fast mapRoles: load_mounted_file_text takes it for big files, a big file loads the same", "[fast_roles]") {
    std::string text = "server:\n  mapRoles:\n";
    for (int i = 0; i < 5000; ++i) {
        text += "  - rolearn: arn:aws:iam::111122223333:role/load-role-" + std::to_string(i) + "\n    username: \"load-" +
                std::to_string(i) + ":{{SessionName}}\"\n    groups: [load-group-" + std::to_string(i % 100) + "]\n";
    }
    REQUIRE(text.size() >= 256 * 1024);
    REQUIRE(detail::split_map_roles(text));
    const auto slow = detail::read_mounted_file_document(text, false);
    const auto fast = detail::read_mounted_file_document(text, true);
    REQUIRE(slow.ok());
    REQUIRE(fast.ok());
    CHECK(slow->roles == fast->roles);
    auto loaded = load_mounted_file_text(text);
    REQUIRE(loaded.ok());
    CHECK(loaded->mappings.role_count() == 5000);
}
