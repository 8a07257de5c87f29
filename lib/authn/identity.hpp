#pragma once
/// \file
/// From STS's GetCallerIdentity answer to the identity the mapping layer sees
/// (SPEC-reference §3.1).

#include "common/result.hpp"
#include "mapping/identity.hpp"
#include "sts/response.hpp"

#include <string_view>

namespace stsauth::authn {

/// Canonicalises the ARN and splits the UserId: for roles (assumed or not) the UserId must be
/// exactly `<unique id>:<session>` (else "malformed_user_id"); for users, root and federated
/// users it is kept verbatim. ARN errors keep lib/arn's codes. An `Account` other than the
/// ARN's account is "sts_identity_mismatch" (real STS never answers so; SPEC-decisions is
/// silent, so the strict choice: deny).
result<mapping::identity> make_identity(const sts::caller_identity& caller, std::string_view access_key_id,
                                        std::string_view sts_endpoint);
/// The same from views of STS's three fields (`Arn`, `Account`, `UserId`), as a cache entry keeps them.
result<mapping::identity> make_identity(std::string_view arn, std::string_view account, std::string_view user_id,
                                        std::string_view access_key_id, std::string_view sts_endpoint);

}  // namespace stsauth::authn
