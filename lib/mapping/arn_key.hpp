#pragma once
/// \file
/// Internal: how mapping keys ARNs, on top of lib/arn.

#include "common/result.hpp"

#include <string>
#include <string_view>

namespace stsauth::mapping::detail {

/// A5 matching key of an ARN written in a mapping source or reported by STS:
/// arn::matching_key(arn::canonicalize(lower(arn))) — lower-cased canonical ARN with the role/user
/// path removed, so `arn:aws:sts::1:assumed-role/R/s` and `arn:aws:iam::1:role/a/b/R` both give
/// `arn:aws:iam::1:role/r`. Lower-casing first accepts `ARN:AWS:...` as the reference's file
/// mapper does. Errors: lib/arn's codes (`bad_arn`, `unknown_partition`, ...).
result<std::string> matching_key(std::string_view arn);

}  // namespace stsauth::mapping::detail
