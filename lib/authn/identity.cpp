#include "authn/identity.hpp"

#include "arn/arn.hpp"

namespace stsauth::authn {

result<mapping::identity> make_identity(const sts::caller_identity& caller, std::string_view access_key_id,
                                        std::string_view sts_endpoint) {
    auto canonical = arn::canonicalize(caller.arn);
    if (!canonical) return canonical.err();
    // STS always answers with the account of the principal's ARN. An answer that does not is
    // not trusted: the username comes from the ARN and the uid from Account, so accepting it
    // would let the two disagree about who this is.
    const auto parts = arn::parse_view(caller.arn);
    if (!parts) return parts.err();
    if (parts->account != caller.account)
        // Both account ids, not the ARN: with no trusted identity, server.scrubbedAccounts cannot
        // be applied to it.
        return make_error("sts_identity_mismatch", "STS Account \"" + caller.account + "\" differs from the account \"" +
                                                      std::string(parts->account) + "\" of its Arn");

    mapping::identity id;
    id.arn = caller.arn;
    id.canonical_arn = std::move(canonical->arn);
    id.account_id = caller.account;
    id.access_key_id = access_key_id;
    id.sts_endpoint = sts_endpoint;

    switch (canonical->type) {
        case arn::principal_type::role:
        case arn::principal_type::assumed_role: {
            const auto colon = caller.user_id.find(':');
            if (colon == std::string::npos || caller.user_id.find(':', colon + 1) != std::string::npos)
                return make_error("malformed_user_id", "malformed UserID for a role principal");
            id.user_id = caller.user_id.substr(0, colon);
            id.session_name = caller.user_id.substr(colon + 1);
            break;
        }
        case arn::principal_type::user:
        case arn::principal_type::root:
        case arn::principal_type::federated_user:
            id.user_id = caller.user_id;
            break;
    }
    return id;
}

}  // namespace stsauth::authn
