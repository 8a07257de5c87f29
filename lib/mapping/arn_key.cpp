#include "mapping/arn_key.hpp"

#include "arn/arn.hpp"
#include "common/encoding.hpp"

namespace stsauth::mapping::detail {
namespace {

// An ARN that arn::canonicalize returns unchanged, spelled as canonicalize spells its keywords:
// "arn:", a known partition, and an `iam` role/user/root or `sts` federated-user resource. For
// such an ARN canonicalize(lower(arn)) is lower(arn), so its key is arn::matching_key(arn) with no
// lower-cased copy and no canonical copy. Every identity STS vouched for has one (its
// canonical_arn), and so do the ARNs of most mapping entries.
bool already_canonical(std::string_view text) {
    const auto parts = arn::parse_view(text);
    if (!parts || !arn::known_partition(parts->partition)) return false;
    const auto type = parts->resource.substr(0, parts->resource.find('/'));
    if (parts->service == "iam") return type == "role" || type == "user" || type == "root";
    return parts->service == "sts" && type == "federated-user";
}

}  // namespace

result<std::string> matching_key(std::string_view arn) {
    if (already_canonical(arn)) return arn::matching_key(arn);
    auto canonical = arn::canonicalize(encoding::to_lower(arn));
    if (!canonical) return canonical.err();
    return arn::matching_key(canonical->arn);
}

}  // namespace stsauth::mapping::detail
