#pragma once
/// \file
/// The fake STS's configuration (SPEC-decisions A10): the IAM identities it knows, each with its
/// long-term or temporary keys, and the EC2 instances DescribeInstances can find.

#include "common/result.hpp"
#include "common/secret.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
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

/// One slot of fake_config::credential_index: a tag of the access key id's hash and the
/// entry's position in `credentials` (`empty_slot` when unused). 8 bytes: a lookup touches one
/// cache line of the table, then the entry it names.
struct credential_slot {
    static constexpr std::uint32_t empty_slot = 0xffffffffU;
    std::uint32_t tag = 0;
    std::uint32_t index = empty_slot;
};

struct fake_config {
    std::vector<credential_entry> credentials;
    std::vector<instance_entry> instances;
    /// Position in `credentials` by access key id: an open-addressing table (linear probing,
    /// a power-of-two size at most half full), filled by index_credentials() (parse_config calls
    /// it). Only an accelerator: find_credential compares the access key id of every entry a
    /// slot names with the one asked for, and scans `credentials` on a miss, so a stale or
    /// colliding slot (editing `credentials` afterwards) can make it slower, never wrong.
    std::vector<credential_slot> credential_index;

    /// The entry for an access key id, or nullptr.
    const credential_entry* find_credential(std::string_view access_key_id) const;
    /// Fills credential_index from `credentials` (the first entry wins for a repeated id).
    void index_credentials();
    /// The hash credential_index is built with.
    static std::uint64_t key_hash(std::string_view access_key_id) noexcept;
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
