#pragma once
/// \file
/// mapping_set: one backend's mappings, compiled into hash indexes (A5, part B §4).
///
/// Matching (A5): the subject is the identity's canonical ARN, lower-cased, with the role/user
/// path removed; config ARNs are keyed the same way, so paths are ignored on both sides and an
/// `assumed-role/R/session` ARN in a config means role R. Lookup order: exact roles, exact users,
/// then SSO patterns (only with the `SSORoleMatch` gate). Every lookup is O(1): an SSO pattern is
/// keyed by `arn:<partition>:iam::<account>:role/awsreservedsso_<permset>_` and a candidate ARN
/// is reduced to that prefix by removing its `_` + 16-hex suffix. Duplicates: the first entry
/// wins and a warning is returned.
///
/// DynamicFile with `dynamicfileUserIDStrict` keys entries by `userid` instead (part B §5.4): a
/// hit whose entry has an ARN must also match the identity's ARN (paths ignored), else the lookup
/// fails with `arn_userid_mismatch` ("ARN does not match User ID").

#include "common/result.hpp"
#include "mapping/identity.hpp"
#include "mapping/model.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace stsauth::mapping {

/// Which source a document came from; decides validation strictness (part B §5).
enum class source_kind {
    mounted_file,   ///< any invalid entry fails the whole load (reference: fatal)
    eks_configmap,  ///< invalid entries are skipped with a warning, valid ones kept
    dynamic_file,   ///< missing key fails the whole load; no SSO entries
};

enum class entry_kind { role, sso_role, user };

/// One compiled entry, as returned by a successful lookup.
struct mapping_entry {
    entry_kind kind = entry_kind::role;
    std::size_t index = 0;            ///< position in mapRoles (role, sso_role) or mapUsers
    std::string arn;                  ///< rolearn / userarn as written; empty for SSO entries
    std::string username;             ///< template
    std::vector<std::string> groups;  ///< templates
    std::string userid;
};

/// The identity reduced to what lookups need; computed once per review.
struct subject {
    std::string arn_key;  ///< detail::matching_key(canonical_arn)
    std::string user_id;
    std::string account_id;
};

/// Builds the subject of an identity. Error code "invalid_identity" when its canonical ARN is
/// not an IAM principal ARN.
result<subject> make_subject(const identity& id);

class mapping_set;

struct compile_options {
    source_kind source = source_kind::mounted_file;
    bool user_id_strict = false;  ///< DynamicFile only: key entries by userid
};

/// A compiled set plus what the load found worth telling.
struct loaded_mappings;

/// Validates and indexes a document (taken by value: its strings are moved into the set).
/// Errors (code "invalid_mapping") name the entry and field, e.g.
/// `mapRoles[3]: sso.accountID: must be exactly 12 digits`.
result<loaded_mappings> compile(mapping_document doc, const compile_options& options);

/// Immutable after compile(); share it as `shared_ptr<const mapping_set>`.
class mapping_set {
public:
    /// An empty set: nothing maps, no account is allowed.
    mapping_set() = default;

    /// The entry mapping `who`, nullptr when none does, or an error (`arn_userid_mismatch`).
    result<const mapping_entry*> find(const subject& who, const feature_flags& flags) const;
    /// True when `account_id` is listed in mapAccounts (exact text comparison).
    bool account_allowed(std::string_view account_id) const;

    bool user_id_strict() const noexcept { return user_id_strict_; }
    std::size_t role_count() const noexcept { return roles_.size(); }
    std::size_t sso_count() const noexcept { return sso_.size(); }
    std::size_t user_count() const noexcept { return users_.size(); }
    std::size_t account_count() const noexcept { return accounts_.size(); }
    bool empty() const noexcept { return entries_.empty() && accounts_.empty(); }

private:
    friend result<loaded_mappings> compile(mapping_document, const compile_options&);

    class compiler;
    using index = std::unordered_map<std::string, std::uint32_t>;
    result<const mapping_entry*> find_exact(const index& idx, std::string_view key, const subject& who) const;

    struct stored {
        mapping_entry entry;
        std::string arn_key;      ///< strict mode: the entry ARN's matching key ("" = no ARN)
        bool arn_valid = true;    ///< strict mode: false when the entry ARN does not parse
    };
    std::vector<stored> entries_;
    index roles_;
    index users_;
    index sso_;
    std::unordered_set<std::string> accounts_;
    bool user_id_strict_ = false;
};

struct loaded_mappings {
    mapping_set mappings;
    std::vector<load_warning> warnings;
};

/// Checks an SSO entry as the reference does (part B §4.1); error code "invalid_mapping",
/// message naming the sso field.
status validate_sso(const sso_spec& sso);

/// Lower-cased `arn:<partition>:iam::<account>:role/awsreservedsso_<permset>_`: the pattern an
/// SSO entry matches, followed by exactly 16 hex digits (A5). An empty partition means `aws`.
std::string sso_pattern_prefix(const sso_spec& sso);

}  // namespace stsauth::mapping
