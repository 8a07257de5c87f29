#include "mapping/arn_key.hpp"

#include "arn/arn.hpp"
#include "common/encoding.hpp"

namespace stsauth::mapping::detail {

result<std::string> matching_key(std::string_view arn) {
    auto canonical = arn::canonicalize(encoding::to_lower(arn));
    if (!canonical) return canonical.err();
    return arn::matching_key(canonical->arn);
}

}  // namespace stsauth::mapping::detail
