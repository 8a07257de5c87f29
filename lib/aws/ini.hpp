#pragma once
/// \file
/// A small, strict parser for the AWS shared config and credentials files, with the semantics of
/// botocore's reader (Python's `configparser.RawConfigParser` in its default strict mode, as used
/// by `botocore.configloader.raw_config_parse`):
///
/// - `[section]` headers; section names are case-sensitive and taken verbatim between the first
///   `[` and the last `]` of the line; only whitespace or a `#`/`;` comment may follow the `]`.
/// - `key = value` or `key: value` (split at the first `=` or `:`); keys are trimmed and
///   lower-cased, values trimmed. There are no inline comments: `#` inside a value is data.
/// - Whole-line comments start (after optional indentation) with `#` or `;`.
/// - A line indented deeper than its key line continues the value (joined with '\n'); this is how
///   botocore's nested blocks (`s3 =` + indented lines) are written; they are kept as raw text.
/// - `[DEFAULT]` is configparser's defaults section: not a section of its own, its keys are
///   inherited by every section that does not set them.
/// - Errors (botocore refuses the whole file): a key line before any section, a line that is
///   neither a header, a comment nor `key = value`, an empty key, a duplicate section, a
///   duplicate key within a section.
///
/// Pure: parses text, never reads a file.

#include "common/result.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::aws {

/// Keys (lower-case) to values of one section.
using ini_values = std::map<std::string, std::string, std::less<>>;

struct ini_section {
    std::string name;
    ini_values values;
    /// The value of `key` (already lower-case), or nullptr.
    const std::string* find(std::string_view key) const;
};

struct ini_file {
    std::vector<ini_section> sections;  ///< in file order; `[DEFAULT]` is not one of them
    /// The section named exactly `name`, or nullptr.
    const ini_section* find(std::string_view name) const;
};

/// Parses `text`. `source` (a file name) is used in error messages only. Error code "bad_ini";
/// the message names the source and line number and never quotes the line (it may hold a key).
result<ini_file> parse_ini(std::string_view text, std::string_view source);

}  // namespace stsauth::aws
