#pragma once
/// \file
/// yaml-cpp helpers for the mapping and config fuzz targets: a deep copy that re-cases every
/// mapping key, a structural comparison, and an emitter round trip that is only trusted when the
/// re-parsed tree compares equal (yaml-cpp's emitter is not the code under test).
///
/// Work is bounded by a node budget and a depth limit: aliases share nodes, so a small document
/// can describe an exponentially large tree, or a cycle (`- &a [*a]` refers to itself); past
/// either bound the helpers give up (std::nullopt / false) and the property that needed them is
/// skipped.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <string>

namespace stsauth::fuzz {

inline constexpr std::size_t yaml_node_budget = 5000;
inline constexpr std::size_t yaml_max_depth = 64;

inline std::string ascii_upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

/// Deep copy of `n` with every scalar mapping key upper-cased (ASCII). Duplicate keys, order,
/// node types and scalar text are kept; tags and marks are not. nullopt past the budget or the
/// depth limit.
inline std::optional<YAML::Node> recase_keys(const YAML::Node& n, std::size_t& budget, std::size_t depth = 0) {
    if (budget == 0 || depth > yaml_max_depth) return std::nullopt;
    --budget;
    switch (n.Type()) {
        case YAML::NodeType::Null: return YAML::Node(YAML::NodeType::Null);
        case YAML::NodeType::Scalar: return YAML::Node(n.Scalar());
        case YAML::NodeType::Sequence: {
            YAML::Node out(YAML::NodeType::Sequence);
            for (const auto& item : n) {
                auto c = recase_keys(item, budget, depth + 1);
                if (!c) return std::nullopt;
                out.push_back(*c);
            }
            return out;
        }
        case YAML::NodeType::Map: {
            YAML::Node out(YAML::NodeType::Map);
            for (auto it = n.begin(); it != n.end(); ++it) {
                auto key = it->first.IsScalar() ? std::optional<YAML::Node>(YAML::Node(ascii_upper(it->first.Scalar())))
                                                : recase_keys(it->first, budget, depth + 1);
                auto value = recase_keys(it->second, budget, depth + 1);
                if (!key || !value) return std::nullopt;
                out.force_insert(*key, *value);
            }
            return out;
        }
        case YAML::NodeType::Undefined: break;
    }
    return std::nullopt;
}

/// Same types, scalar text, sequence and map order. False past the budget or the depth limit.
inline bool same_tree(const YAML::Node& a, const YAML::Node& b, std::size_t& budget, std::size_t depth = 0) {
    if (budget == 0 || depth > yaml_max_depth) return false;
    --budget;
    if (a.Type() != b.Type()) return false;
    switch (a.Type()) {
        case YAML::NodeType::Scalar: return a.Scalar() == b.Scalar();
        case YAML::NodeType::Sequence:
        case YAML::NodeType::Map: {
            if (a.size() != b.size()) return false;
            auto ia = a.begin();
            auto ib = b.begin();
            for (; ia != a.end(); ++ia, ++ib) {
                if (a.IsSequence()) {
                    if (!same_tree(*ia, *ib, budget, depth + 1)) return false;
                } else if (!same_tree(ia->first, ib->first, budget, depth + 1) ||
                           !same_tree(ia->second, ib->second, budget, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        default: return true;
    }
}

/// `n` as YAML text, when yaml-cpp can write it so that it reads back as the same tree.
inline std::optional<std::string> emit_faithfully(const YAML::Node& n) {
    try {
        YAML::Emitter e;
        e << n;
        if (!e.good()) return std::nullopt;
        std::string text = e.c_str();
        const YAML::Node back = YAML::Load(text);
        std::size_t budget = yaml_node_budget;
        if (!same_tree(n, back, budget)) return std::nullopt;
        return text;
    } catch (const YAML::Exception&) {
        return std::nullopt;
    }
}

}  // namespace stsauth::fuzz
