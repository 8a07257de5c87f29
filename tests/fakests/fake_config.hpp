#pragma once
/// \file
/// The fake STS's configuration (SPEC-decisions A10): the IAM identities it knows, each with its
/// long-term or temporary keys, and the EC2 instances DescribeInstances can find.

#include "common/result.hpp"
#include "common/secret.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stsauth::fakests {

/// One set of keys and the identity GetCallerIdentity answers for it.
struct credential_entry {
    std::string access_key_id;
    secret<std::string> secret_access_key;
    /// Empty for long-term keys; otherwise X-Amz-Security-Token must equal it.
    secret<std::string> session_token;
    std::string arn;
    std::string user_id;
    std::string account;
};

/// One EC2 instance for DescribeInstances.
struct instance_entry {
    std::string instance_id;
    std::string private_dns_name;
};

/// std::hash over string_view, so the index is searched with a string_view (no key copied).
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct fake_config {
    std::vector<credential_entry> credentials;
    std::vector<instance_entry> instances;
    /// Position in `credentials` by access key id, filled by index_credentials() (parse_config
    /// calls it). Only an accelerator: find_credential checks every hit and scans on a miss, so
    /// editing `credentials` afterwards can make it slower, never wrong.
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> credential_index;

    /// The entry for an access key id, or nullptr.
    const credential_entry* find_credential(std::string_view access_key_id) const;
    /// Fills credential_index from `credentials` (the first entry wins for a repeated id).
    void index_credentials();
    /// The entry for an instance id, or nullptr.
    const instance_entry* find_instance(std::string_view instance_id) const;
};

/// True for `i-` followed by 8 or 17 lower-case hex digits, EC2's instance id format.
bool is_instance_id(std::string_view id);

/// Parses the YAML of A10 (`credentials:` list; `instances:` list of instanceId/privateDnsName).
/// Strict: unknown keys, missing required keys, duplicate access key ids or instance ids, instance ids
/// not in EC2's format are errors (code "bad_config", the message names the entry by index and key, never a secret).
result<fake_config> parse_config(std::string_view yaml_text);

}  // namespace stsauth::fakests
