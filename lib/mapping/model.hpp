#pragma once
/// \file
/// Mapping entries as written in the sources (part B §4.1), before compilation into a
/// mapping_set. Parsers produce a mapping_document; compile() validates and indexes it.

#include <optional>
#include <string>
#include <vector>

namespace stsauth::mapping {

/// An IAM Identity Center (SSO) permission-set pattern.
struct sso_spec {
    std::string permission_set_name;  ///< `^[\w+=,.@-]{1,32}$`
    std::string account_id;           ///< `^[0-9]{12}$`
    std::string partition;            ///< empty means `aws`; otherwise one of the 8 partitions

    friend bool operator==(const sso_spec&, const sso_spec&) = default;
};

/// `mapRoles` entry: exactly one of `rolearn` and `sso`.
struct role_mapping {
    std::string rolearn;
    std::optional<sso_spec> sso;
    std::string username;             ///< template (§4.4)
    std::vector<std::string> groups;  ///< templates
    std::string userid;               ///< DynamicFile only

    friend bool operator==(const role_mapping&, const role_mapping&) = default;
};

/// `mapUsers` entry.
struct user_mapping {
    std::string userarn;
    std::string username;
    std::vector<std::string> groups;
    std::string userid;  ///< DynamicFile only

    friend bool operator==(const user_mapping&, const user_mapping&) = default;
};

/// Everything one source holds, in file order.
struct mapping_document {
    std::vector<role_mapping> roles;
    std::vector<user_mapping> users;
    std::vector<std::string> accounts;  ///< YAML/JSON scalar text, leading zeros kept
};

/// A non-fatal finding of a load (duplicate entry, skipped invalid entry, ignored key, deprecated
/// name). Returned to the caller, who logs it: the pure core never logs. Messages name entries by
/// position and field, never by their contents.
struct load_warning {
    std::string code;     ///< stable, e.g. "duplicate_entry", "invalid_entry_skipped"
    std::string message;
};

}  // namespace stsauth::mapping
