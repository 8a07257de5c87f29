#pragma once
/// \file
/// A small, strict, bounded XML reader for AWS query-protocol answers (EC2 DescribeInstances,
/// EC2 and STS errors). It is not a general XML parser: it checks well-formedness of what AWS
/// sends and refuses the rest.
///
/// Accepted: an optional UTF-8 BOM and XML declaration, comments and processing instructions
/// outside and inside the root, elements with attributes (values are checked, not reported),
/// character data with the five predefined entities and numeric character references, CDATA.
/// Refused ("bad_xml"): DOCTYPE (so no entity expansion), unknown entities, mismatched or
/// unclosed tags, more than one root, control characters, non-whitespace text in an element that
/// also has child elements (AWS never mixes them), nesting deeper than `max_depth`, a name longer
/// than `max_name_bytes`. A document longer than `max_bytes` is refused before parsing
/// ("too_large"). Work and memory are linear in the input.

#include "common/result.hpp"

#include <cstddef>
#include <span>
#include <string_view>

namespace stsauth::ec2::xml {

struct limits {
    std::size_t max_bytes = 16 * 1024 * 1024;
    std::size_t max_depth = 32;
    std::size_t max_name_bytes = 256;
};

/// Receives the elements in document order. `path` is the names of the open elements from the
/// root down to (and including) the current one, as written (prefix included, no namespace
/// processing). A non-ok status stops the parse and is returned by parse().
class handler {
public:
    virtual ~handler() = default;
    virtual status on_start(std::span<const std::string_view> path) = 0;
    /// `text` is the element's decoded character data; empty for an element with children.
    virtual status on_end(std::span<const std::string_view> path, std::string_view text) = 0;

protected:
    handler() = default;
    handler(const handler&) = default;
    handler& operator=(const handler&) = default;
};

/// Parses `doc`, calling `h` for every element. Errors: "too_large", "bad_xml" (the message says
/// what and at which byte offset, never quoting the document), or the handler's own.
status parse(std::string_view doc, handler& h, const limits& lim = {});

}  // namespace stsauth::ec2::xml
