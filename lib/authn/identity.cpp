#include "authn/identity.hpp"

#include "arn/arn.hpp"

namespace stsauth::authn {

result<mapping::identity> make_identity(const sts::caller_identity& caller, std::string_view access_key_id,
                                        std::string_view sts_endpoint) {
    auto canonical = arn::canonicalize(caller.arn);
    if (!canonical) return canonical.err();

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
