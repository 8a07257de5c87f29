#include "mapping/mapping_set.hpp"

#include "arn/arn.hpp"
#include "common/encoding.hpp"
#include "mapping/arn_key.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <type_traits>

namespace stsauth::mapping {
namespace {

constexpr std::size_t sso_suffix_hex_digits = 16;

bool is_hex_lower(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_word(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// Go's `^[\w+=,.@-]{1,32}$` (`\w` is ASCII-only in Go's regexp).
bool valid_permission_set_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 32) return false;
    for (char c : name) {
        if (!is_word(c) && std::string_view("+=,.@-").find(c) == std::string_view::npos) return false;
    }
    return true;
}

// Where an entry sits in its source, for messages: `mapRoles[3]`, `mapUsers[0].userarn`.
struct where {
    std::string_view list;
    std::size_t index;
    std::string str(std::string_view field = {}) const {
        return field.empty() ? fmt::format("{}[{}]", list, index) : fmt::format("{}[{}].{}", list, index, field);
    }
};

error invalid(const std::string& label, std::string_view why) {
    return make_error("invalid_mapping", fmt::format("{}: {}", label, why));
}

std::string missing_key_message(std::string_view arn_field) {
    return fmt::format("value for {} or userid(if dynamicfileUserIDStrict = true) must be supplied", arn_field);
}

}  // namespace

status validate_sso(const sso_spec& sso) {
    if (sso.account_id.size() != 12 || !std::all_of(sso.account_id.begin(), sso.account_id.end(), is_digit)) {
        return make_error("invalid_mapping", "sso.accountID: must be exactly 12 digits");
    }
    if (!valid_permission_set_name(sso.permission_set_name)) {
        return make_error("invalid_mapping", "sso.permissionSetName: must match ^[\\w+=,.@-]{1,32}$");
    }
    if (!sso.partition.empty() && !arn::known_partition(sso.partition)) {
        return make_error("invalid_mapping", "sso.partition: not a recognized partition");
    }
    return ok_status();
}

std::string sso_pattern_prefix(const sso_spec& sso) {
    // Unlike the reference (part B §4.1 QUIRK), an explicit partition is used as given.
    const std::string_view partition = sso.partition.empty() ? std::string_view("aws") : sso.partition;
    return encoding::to_lower(fmt::format("arn:{}:iam::{}:role/AWSReservedSSO_{}_", partition, sso.account_id,
                                          sso.permission_set_name));
}

result<subject> make_subject(const identity& id) {
    auto key = detail::matching_key(id.canonical_arn);
    if (!key) return make_error("invalid_identity", "identity ARN is not an IAM principal ARN: " + key.err().code);
    return subject{std::move(*key), id.user_id, id.account_id};
}

// One compile: fails on the first invalid entry, or skips it with a warning (EKSConfigMap).
// Entries are moved out of the document; labels are only formatted for messages.
class mapping_set::compiler {
public:
    compiler(const compile_options& options, loaded_mappings& out) : options_(options), out_(out), set_(out.mappings) {
        set_.user_id_strict_ = options.user_id_strict;
    }

    status add_role(role_mapping&& m, std::size_t i) {
        const where at{"mapRoles", i};
        if (options_.source == source_kind::dynamic_file) return add_dynamic(at, entry_kind::role, std::move(m));
        if (m.rolearn.empty() && !m.sso) return reject(invalid(at.str(), "one of rolearn or sso must be supplied"));
        if (!m.rolearn.empty() && m.sso) return reject(invalid(at.str(), "only one of rolearn or sso can be supplied"));
        if (m.sso) {
            if (auto st = validate_sso(*m.sso); !st) return reject(invalid(at.str(), st.err().message));
            return insert(set_.sso_, sso_pattern_prefix(*m.sso), entry_kind::sso_role, at, std::move(m), {});
        }
        auto key = detail::matching_key(m.rolearn);
        if (!key) return reject(invalid(at.str("rolearn"), "not a valid IAM principal ARN (" + key.err().code + ")"));
        return insert(set_.roles_, std::move(*key), entry_kind::role, at, std::move(m), {});
    }

    status add_user(user_mapping&& m, std::size_t i) {
        const where at{"mapUsers", i};
        if (options_.source == source_kind::dynamic_file) return add_dynamic(at, entry_kind::user, std::move(m));
        if (m.userarn.empty()) return reject(invalid(at.str("userarn"), "value for userarn must be supplied"));
        auto key = detail::matching_key(m.userarn);
        if (!key) return reject(invalid(at.str("userarn"), "not a valid IAM principal ARN (" + key.err().code + ")"));
        return insert(set_.users_, std::move(*key), entry_kind::user, at, std::move(m), {});
    }

    void add_account(std::string&& account, std::size_t i) {
        if (account.empty()) {
            warn("invalid_entry_skipped", fmt::format("mapAccounts[{}]: empty account id; entry skipped", i));
            return;
        }
        set_.accounts_.insert(std::move(account));
    }

private:
    static const std::string& arn_of(const role_mapping& m) { return m.rolearn; }
    static const std::string& arn_of(const user_mapping& m) { return m.userarn; }

    // Part B §5.4: the key field must be present, else the whole file is rejected; no SSO.
    // Non-strict: keyed by ARN (an unparsable ARN never matched in the reference: skipped).
    // Strict: keyed by userid; the entry's ARN is checked at lookup.
    template <class M>
    status add_dynamic(const where& at, entry_kind kind, M&& m) {
        auto& idx = kind == entry_kind::role ? set_.roles_ : set_.users_;
        const std::string_view arn_field = kind == entry_kind::role ? "rolearn" : "userarn";
        const std::string& arn = arn_of(m);
        if (options_.user_id_strict) {
            if (m.userid.empty()) return invalid(at.str(), missing_key_message(arn_field));
            stored extra;
            if (!arn.empty()) {
                if (auto key = detail::matching_key(arn)) {
                    extra.arn_key = std::move(*key);
                } else {
                    extra.arn_valid = false;
                    warn("invalid_arn", at.str(arn_field) + ": not a valid IAM principal ARN; the entry will never match");
                }
            }
            std::string key = m.userid;
            return insert(idx, std::move(key), kind, at, std::move(m), std::move(extra));
        }
        if (arn.empty()) return invalid(at.str(), missing_key_message(arn_field));
        auto key = detail::matching_key(arn);
        if (!key) {
            warn("invalid_entry_skipped",
                 fmt::format("{}: not a valid IAM principal ARN ({}); entry skipped", at.str(arn_field), key.err().code));
            return ok_status();
        }
        return insert(idx, std::move(*key), kind, at, std::move(m), {});
    }

    template <class M>
    status insert(index& idx, std::string key, entry_kind kind, const where& at, M&& m, stored extra) {
        if (set_.entries_.size() >= std::numeric_limits<std::uint32_t>::max()) {
            return make_error("invalid_mapping", "too many mapping entries");
        }
        const auto slot = static_cast<std::uint32_t>(set_.entries_.size());
        auto [it, inserted] = idx.try_emplace(std::move(key), slot);
        if (!inserted) {
            const auto& first = set_.entries_[it->second].entry;
            const bool first_is_role = first.kind != entry_kind::user;
            warn("duplicate_entry", fmt::format("{}: same {} as {}[{}]; the first entry wins", at.str(), key_name(kind),
                                                first_is_role ? "mapRoles" : "mapUsers", first.index));
            return ok_status();
        }
        extra.entry.kind = kind;
        extra.entry.index = at.index;
        if constexpr (std::is_same_v<std::decay_t<M>, role_mapping>) {
            extra.entry.arn = std::move(m.rolearn);
        } else {
            extra.entry.arn = std::move(m.userarn);
        }
        extra.entry.username = std::move(m.username);
        extra.entry.groups = std::move(m.groups);
        extra.entry.userid = std::move(m.userid);
        set_.entries_.push_back(std::move(extra));
        return ok_status();
    }

    std::string_view key_name(entry_kind kind) const {
        if (options_.user_id_strict) return "userid";
        switch (kind) {
            case entry_kind::role: return "rolearn";
            case entry_kind::sso_role: return "sso permission set";
            case entry_kind::user: return "userarn";
        }
        return "key";
    }

    status reject(error e) {
        if (options_.source == source_kind::eks_configmap) {
            // The reference skips invalid aws-auth entries and keeps the valid ones.
            warn("invalid_entry_skipped", e.message + "; entry skipped");
            return ok_status();
        }
        return e;
    }

    void warn(std::string code, std::string message) { out_.warnings.push_back({std::move(code), std::move(message)}); }

    const compile_options& options_;
    loaded_mappings& out_;
    mapping_set& set_;
};

result<loaded_mappings> compile(mapping_document doc, const compile_options& options) {
    loaded_mappings out;
    mapping_set::compiler c(options, out);
    auto& set = out.mappings;
    set.entries_.reserve(doc.roles.size() + doc.users.size());
    set.roles_.reserve(doc.roles.size());
    set.users_.reserve(doc.users.size());
    set.accounts_.reserve(doc.accounts.size());
    for (std::size_t i = 0; i < doc.roles.size(); ++i) {
        if (auto st = c.add_role(std::move(doc.roles[i]), i); !st) return st.err();
    }
    for (std::size_t i = 0; i < doc.users.size(); ++i) {
        if (auto st = c.add_user(std::move(doc.users[i]), i); !st) return st.err();
    }
    for (std::size_t i = 0; i < doc.accounts.size(); ++i) c.add_account(std::move(doc.accounts[i]), i);
    return out;
}

result<const mapping_entry*> mapping_set::find_exact(const index& idx, std::string_view key, const subject& who) const {
    auto it = idx.find(std::string(key));
    if (it == idx.end()) return static_cast<const mapping_entry*>(nullptr);
    const stored& s = entries_[it->second];
    if (user_id_strict_ && !s.entry.arn.empty() && (!s.arn_valid || s.arn_key != who.arn_key)) {
        return make_error("arn_userid_mismatch", "ARN does not match User ID");
    }
    return &s.entry;
}

result<const mapping_entry*> mapping_set::find(const subject& who, const feature_flags& flags) const {
    const std::string_view key = user_id_strict_ ? std::string_view(who.user_id) : std::string_view(who.arn_key);
    if (key.empty()) return static_cast<const mapping_entry*>(nullptr);
    for (const index* idx : {&roles_, &users_}) {
        auto hit = find_exact(*idx, key, who);
        if (!hit || *hit != nullptr) return hit;
    }
    if (user_id_strict_ || !flags.sso_role_match || sso_.empty()) return static_cast<const mapping_entry*>(nullptr);
    // `..._<permset>_<16 hex>`: strip the hex digits and look the prefix up.
    const std::string_view arn = who.arn_key;
    if (arn.size() <= sso_suffix_hex_digits + 1) return static_cast<const mapping_entry*>(nullptr);
    const auto prefix = arn.substr(0, arn.size() - sso_suffix_hex_digits);
    const auto suffix = arn.substr(prefix.size());
    if (prefix.back() != '_' || !std::all_of(suffix.begin(), suffix.end(), is_hex_lower)) {
        return static_cast<const mapping_entry*>(nullptr);
    }
    auto it = sso_.find(std::string(prefix));
    if (it == sso_.end()) return static_cast<const mapping_entry*>(nullptr);
    return &entries_[it->second].entry;
}

bool mapping_set::account_allowed(std::string_view account_id) const {
    return !account_id.empty() && accounts_.contains(std::string(account_id));
}

}  // namespace stsauth::mapping
