#include "authn/identity.hpp"

#include "arn/arn.hpp"

namespace stsauth::authn {

result<mapping::identity> make_identity(const sts::caller_identity& caller, std::string_view access_key_id,
                                        std::string_view sts_endpoint) {
    return make_identity(caller.arn, caller.account, caller.user_id, access_key_id, sts_endpoint);
}

result<mapping::identity> make_identity(std::string_view arn, std::string_view account, std::string_view user_id,
                                        std::string_view access_key_id, std::string_view sts_endpoint) {
    auto canonical = arn::canonicalize(arn);
    if (!canonical) return canonical.err();
    // STS always answers with the account of the principal's ARN. An answer that does not is
    // not trusted: the username comes from the ARN and the uid from Account, so accepting it
    // would let the two disagree about who this is.
    const auto parts = arn::parse_view(arn);
    if (!parts) return parts.err();
    if (parts->account != account)
        // Both account ids, not the ARN: with no trusted identity, server.scrubbedAccounts cannot
        // be applied to it.
        return make_error("sts_identity_mismatch", "STS Account \"" + std::string(account) + "\" differs from the account \"" +
                                                      std::string(parts->account) + "\" of its Arn");

    mapping::identity id;
    id.arn = arn;
    id.canonical_arn = std::move(canonical->arn);
    id.account_id = account;
    id.access_key_id = access_key_id;
    id.sts_endpoint = sts_endpoint;

    switch (canonical->type) {
        case arn::principal_type::role:
        case arn::principal_type::assumed_role: {
            const auto colon = user_id.find(':');
            if (colon == std::string_view::npos || user_id.find(':', colon + 1) != std::string_view::npos)
                return make_error("malformed_user_id", "malformed UserID for a role principal");
            id.user_id = user_id.substr(0, colon);
            id.session_name = user_id.substr(colon + 1);
            break;
        }
        case arn::principal_type::user:
        case arn::principal_type::root:
        case arn::principal_type::federated_user:
            id.user_id = user_id;
            break;
    }
    return id;
}

}  // namespace stsauth::authn
