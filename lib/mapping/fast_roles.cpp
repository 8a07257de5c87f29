#include "mapping/fast_roles.hpp"

#include "common/encoding.hpp"

#include <array>

namespace stsauth::mapping::detail {
namespace {

struct line_view {
    std::string_view text;  ///< without the '\n'
    std::size_t begin = 0;  ///< offset in the whole text
};

std::size_t indent_of(std::string_view l) {
    std::size_t i = 0;
    while (i < l.size() && l[i] == ' ') ++i;
    return i;
}

bool blank_or_comment(std::string_view l) {
    const auto i = indent_of(l);
    return i == l.size() || l[i] == '#';
}

bool plain_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '/' || c == ':' || c == '@' || c == '{' || c == '}' || c == '-' || c == ',';
}

// A plain scalar as a block mapping value: starts with a letter, digit, '_', '.' or '/', then
// plain characters; a ':' must not be last (it is never followed by a space here: no spaces).
bool plain_block_scalar(std::string_view v) {
    if (v.empty()) return false;
    const char c = v.front();
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/'))
        return false;
    for (char ch : v)
        if (!plain_char(ch)) return false;
    if (v.back() == ':') return false;
    // Null in YAML 1.2 core / yaml-cpp: read as an empty field there.
    if (v == "null" || v == "Null" || v == "NULL") return false;
    return true;
}

// A single-line quoted scalar without escapes: "..." (no '"' or '\' inside) or '...' (no ''').
std::optional<std::string_view> quoted_scalar(std::string_view v) {
    if (v.size() < 2) return std::nullopt;
    const char q = v.front();
    if ((q != '"' && q != '\'') || v.back() != q) return std::nullopt;
    const auto inner = v.substr(1, v.size() - 2);
    for (char ch : inner) {
        if (ch == q || (q == '"' && ch == '\\')) return std::nullopt;
    }
    return inner;
}

std::optional<std::string> scalar(std::string_view v) {
    if (auto q = quoted_scalar(v)) return std::string(*q);
    if (plain_block_scalar(v)) return std::string(v);
    return std::nullopt;
}

// A flow list of plain scalars: `[]` or `[a, b,c]` (no '{', '}' in flow items, no trailing comma).
std::optional<std::vector<std::string>> flow_list(std::string_view v) {
    if (v.size() < 2 || v.front() != '[' || v.back() != ']') return std::nullopt;
    std::vector<std::string> out;
    auto inner = v.substr(1, v.size() - 2);
    std::size_t i = 0;
    auto skip_spaces = [&] {
        while (i < inner.size() && inner[i] == ' ') ++i;
    };
    skip_spaces();
    if (i == inner.size()) return out;
    for (;;) {
        const std::size_t start = i;
        while (i < inner.size() && inner[i] != ',' && inner[i] != ' ') ++i;
        auto item = inner.substr(start, i - start);
        if (item.find_first_of("{},") != std::string_view::npos) return std::nullopt;
        auto s = scalar(item);
        if (!s) return std::nullopt;
        out.push_back(std::move(*s));
        skip_spaces();
        if (i == inner.size()) return out;
        if (inner[i] != ',') return std::nullopt;
        ++i;
        skip_spaces();
        if (i == inner.size()) return std::nullopt;  // trailing comma: leave it to yaml-cpp
    }
}

// The mounted-file dialect's scalar `groups` (viper's StringToSlice(",")).
std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    if (s.empty()) return out;
    std::size_t start = 0;
    for (;;) {
        const auto comma = s.find(',', start);
        out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

enum class field { rolearn, username, groups, userid };
constexpr std::array<std::string_view, 4> field_names = {"rolearn", "username", "groups", "userid"};

std::optional<field> field_of(std::string_view key) {
    for (std::size_t i = 0; i < field_names.size(); ++i)
        if (encoding::iequals(key, field_names[i])) return static_cast<field>(i);
    return std::nullopt;
}

// `key: value` or `key:` (a block list follows); the key is plain letters.
bool split_key(std::string_view l, std::string_view* key, std::string_view* value) {
    const auto colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    *key = l.substr(0, colon);
    for (char c : *key)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    auto rest = l.substr(colon + 1);
    if (rest.empty()) {
        *value = {};
        return true;
    }
    if (rest.size() < 2 || rest[0] != ' ' || rest[1] == ' ') return false;  // exactly one space
    *value = rest.substr(1);
    return !value->empty() && value->back() != ' ';
}

}  // namespace

std::optional<fast_roles> split_map_roles(std::string_view text) {
    // Anything that changes how lines are read is left to yaml-cpp.
    if (text.find('\t') != std::string_view::npos || text.find('\r') != std::string_view::npos) return std::nullopt;
    std::vector<line_view> lines;
    lines.reserve(text.size() / 32 + 1);
    for (std::size_t pos = 0; pos <= text.size();) {
        const auto nl = text.find('\n', pos);
        const auto end = nl == std::string_view::npos ? text.size() : nl;
        lines.push_back({text.substr(pos, end - pos), pos});
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    // One top-level `server:` line; no document markers or directives.
    std::size_t server = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto l = lines[i].text;
        if (l.starts_with("---") || l.starts_with("...") || l.starts_with("%")) return std::nullopt;
        if (l == "server:") {
            if (server != lines.size()) return std::nullopt;
            server = i;
        }
    }
    if (server == lines.size()) return std::nullopt;
    // The indent of server's keys, then `<I>mapRoles:` among them.
    std::size_t key_indent = 0;
    std::size_t map_roles = lines.size();
    for (std::size_t i = server + 1; i < lines.size(); ++i) {
        const auto l = lines[i].text;
        if (blank_or_comment(l)) continue;
        const auto ind = indent_of(l);
        if (ind == 0) break;  // the next top-level key
        if (key_indent == 0) key_indent = ind;
        if (ind == key_indent && l.substr(ind) == "mapRoles:") {
            if (map_roles != lines.size()) return std::nullopt;
            map_roles = i;
        }
    }
    if (key_indent == 0 || map_roles == lines.size()) return std::nullopt;

    fast_roles out;
    out.line = map_roles;
    // The block: items `<D>- key: value` with D >= key_indent, continuation keys at D + 2.
    std::size_t item_indent = 0;
    std::size_t i = map_roles + 1;
    role_mapping current;
    std::array<bool, 4> seen{};
    bool in_item = false;
    auto finish_item = [&] {
        if (in_item) out.roles.push_back(std::move(current));
        current = role_mapping{};
        seen = {};
        in_item = false;
    };
    // Reads `key: value` (content of an item line); a `groups:` with no value takes the block
    // list on the following lines. Returns false for anything outside the shape.
    auto read_pair = [&](std::string_view content, std::size_t content_indent) -> bool {
        std::string_view key, value;
        if (!split_key(content, &key, &value)) return false;
        const auto f = field_of(key);
        if (!f) return false;
        auto& was = seen[static_cast<std::size_t>(*f)];
        if (was) return false;
        was = true;
        if (value.empty()) {
            if (*f != field::groups) return false;
            // `- item` lines at an indent >= content_indent.
            std::size_t list_indent = 0;
            while (i + 1 < lines.size()) {
                const auto l = lines[i + 1].text;
                const auto ind = indent_of(l);
                if (ind < content_indent || ind == l.size() || !l.substr(ind).starts_with("- ")) break;
                if (list_indent == 0) list_indent = ind;
                if (ind != list_indent) return false;
                auto s = scalar(l.substr(ind + 2));
                if (!s) return false;
                current.groups.push_back(std::move(*s));
                ++i;
            }
            return list_indent != 0;  // `groups:` then nothing: null, left to yaml-cpp
        }
        if (*f == field::groups) {
            if (value.front() == '[') {
                auto list = flow_list(value);
                if (!list) return false;
                current.groups = std::move(*list);
                return true;
            }
            auto s = scalar(value);
            if (!s) return false;
            current.groups = split_commas(*s);
            return true;
        }
        auto s = scalar(value);
        if (!s) return false;
        switch (*f) {
            case field::rolearn: current.rolearn = std::move(*s); break;
            case field::username: current.username = std::move(*s); break;
            case field::userid: current.userid = std::move(*s); break;
            case field::groups: break;
        }
        return true;
    };
    std::size_t block_end = map_roles + 1;
    for (; i < lines.size(); ++i) {
        const auto l = lines[i].text;
        const auto ind = indent_of(l);
        if (ind == l.size() || l[ind] == '#') {
            // A blank or comment line ends the shape unless the block is over (next key).
            break;
        }
        if (item_indent == 0) {
            if (ind < key_indent || !l.substr(ind).starts_with("- ")) return std::nullopt;
            item_indent = ind;
        }
        if (ind < item_indent || (ind == item_indent && !l.substr(ind).starts_with("- "))) break;  // block over
        for (unsigned char c : l)
            if (c < 0x20 || c > 0x7e) return std::nullopt;
        if (ind == item_indent) {
            finish_item();
            in_item = true;
            if (!read_pair(l.substr(ind + 2), item_indent + 2)) return std::nullopt;
        } else if (ind == item_indent + 2 && in_item) {
            if (!read_pair(l.substr(ind), item_indent + 2)) return std::nullopt;
        } else {
            return std::nullopt;
        }
        block_end = i + 1;
    }
    finish_item();
    if (out.roles.empty()) return std::nullopt;
    // What follows must not belong to the block (a blank or comment line inside it stops the
    // loop above): the next non-blank line has to be at most at the key indent.
    for (std::size_t j = block_end; j < lines.size(); ++j) {
        if (blank_or_comment(lines[j].text)) continue;
        if (indent_of(lines[j].text) > key_indent) return std::nullopt;
        if (indent_of(lines[j].text) == key_indent && lines[j].text.substr(key_indent).starts_with("- ")) return std::nullopt;
        break;
    }

    // The rest: the same lines, the block blanked (line numbers of everything else unchanged).
    out.rest.reserve(text.size() / 8 + 64);
    out.rest.append(text.substr(0, lines[map_roles].begin));
    out.rest.append(key_indent, ' ');
    out.rest.append("mapRoles: []\n");
    out.rest.append(block_end - map_roles - 1, '\n');
    if (block_end < lines.size()) out.rest.append(text.substr(lines[block_end].begin));
    return out;
}

}  // namespace stsauth::mapping::detail
