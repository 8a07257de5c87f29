#include "aws/ini.hpp"

#include "common/encoding.hpp"

#include <fmt/format.h>

#include <optional>
#include <set>

namespace stsauth::aws {
namespace {

constexpr std::string_view whitespace = " \t\r\n\v\f";

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(whitespace);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(whitespace) - b + 1);
}

std::string_view rtrim(std::string_view s) {
    const auto e = s.find_last_not_of(whitespace);
    return e == std::string_view::npos ? std::string_view{} : s.substr(0, e + 1);
}

/// Splits on "\r\n", "\r" or "\n", as Python's universal newlines do.
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\n' && text[i] != '\r') continue;
        lines.push_back(text.substr(start, i - start));
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        start = i + 1;
    }
    if (start < text.size()) lines.push_back(text.substr(start));
    return lines;
}

struct raw_entry {
    std::string key;
    std::vector<std::string> parts;  ///< the first line, then continuation lines
};

struct raw_section {
    std::string name;
    std::vector<raw_entry> entries;
    bool has(std::string_view key) const {
        for (const auto& e : entries)
            if (e.key == key) return true;
        return false;
    }
};

std::string join_value(const std::vector<std::string>& parts) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += '\n';
        out += parts[i];
    }
    return std::string(rtrim(out));
}

}  // namespace

const std::string* ini_section::find(std::string_view key) const {
    const auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
}

const ini_section* ini_file::find(std::string_view name) const {
    for (const auto& s : sections)
        if (s.name == name) return &s;
    return nullptr;
}

result<ini_file> parse_ini(std::string_view text, std::string_view source) {
    std::vector<raw_section> sections;
    raw_section defaults{"DEFAULT", {}};
    raw_section* current = nullptr;
    raw_entry* entry = nullptr;  // the key whose value continuation lines extend
    std::size_t indent_level = 0;
    std::set<std::string, std::less<>> seen_sections;

    auto fail = [&](std::size_t line_no, std::string_view what) {
        return make_error("bad_ini", fmt::format("{}:{}: {}", source, line_no, what));
    };

    const auto lines = split_lines(text);
    // Sections are appended while `current` points into `sections`: reserve so it stays valid.
    sections.reserve(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t line_no = i + 1;
        const std::string_view line = lines[i];
        const std::string_view stripped = trim(line);
        if (!stripped.empty() && (stripped.front() == '#' || stripped.front() == ';')) continue;
        if (stripped.empty()) {
            if (entry) entry->parts.emplace_back();
            continue;
        }
        const std::size_t indent = line.find_first_not_of(whitespace);
        if (current && entry && indent > indent_level) {
            entry->parts.emplace_back(stripped);
            continue;
        }
        indent_level = indent;
        entry = nullptr;

        if (stripped.front() == '[') {
            const auto close = stripped.rfind(']');
            if (close == std::string_view::npos || close == 0) return fail(line_no, "unterminated section header");
            if (close == 1) return fail(line_no, "empty section name");
            const auto rest = trim(stripped.substr(close + 1));
            if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
                return fail(line_no, "unexpected text after the section header");
            const std::string name(stripped.substr(1, close - 1));
            if (name == "DEFAULT") {
                current = &defaults;
                continue;
            }
            if (!seen_sections.insert(name).second)
                return fail(line_no, fmt::format("duplicate section [{}]", name));
            sections.push_back(raw_section{name, {}});
            current = &sections.back();
            continue;
        }
        if (!current) return fail(line_no, "a key before any [section] header");
        const auto delim = stripped.find_first_of("=:");
        if (delim == std::string_view::npos) return fail(line_no, "expected 'key = value'");
        std::string key = encoding::to_lower(rtrim(stripped.substr(0, delim)));
        if (key.empty()) return fail(line_no, "empty key");
        if (current->has(key))
            return fail(line_no, fmt::format("duplicate key '{}' in section [{}]", key, current->name));
        current->entries.push_back(raw_entry{std::move(key), {std::string(trim(stripped.substr(delim + 1)))}});
        entry = &current->entries.back();
    }

    ini_file file;
    file.sections.reserve(sections.size());
    for (const auto& raw : sections) {
        ini_section section{raw.name, {}};
        for (const auto& e : raw.entries) section.values.emplace(e.key, join_value(e.parts));
        for (const auto& e : defaults.entries) section.values.emplace(e.key, join_value(e.parts));
        file.sections.push_back(std::move(section));
    }
    return file;
}

}  // namespace stsauth::aws
