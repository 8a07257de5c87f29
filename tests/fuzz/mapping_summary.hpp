#pragma once
/// \file
/// What a mapping load produced, reduced to comparable values: outcome, index sizes, warning
/// codes and the answers to a fixed set of lookups. Two loads of equivalent documents must
/// summarise equal; the fuzz targets use this to compare entry points and transformations.

#include "fuzz_support.hpp"
#include "mapping/identity.hpp"
#include "mapping/mapping_set.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::fuzz {

struct mapping_summary {
    bool ok = false;
    std::string code;
    std::size_t roles = 0, sso = 0, users = 0, accounts = 0;
    std::vector<std::string> warning_codes;
    std::vector<std::string> lookups;  ///< one per probe and SSORoleMatch setting, then accounts

    friend bool operator==(const mapping_summary&, const mapping_summary&) = default;
};

/// Identities the seed corpora map (tests/fuzz/corpus/mapping_*): a role session, an IAM user,
/// an SSO permission set, the DynamicFile example and a node role.
inline const std::vector<mapping::identity>& probe_identities() {
    static const std::vector<mapping::identity> probes = [] {
        std::vector<mapping::identity> p(5);
        p[0] = {"arn:aws:sts::111122223333:assumed-role/KubernetesAdmin/session",
                "arn:aws:iam::111122223333:role/KubernetesAdmin", "111122223333", "AROAEXAMPLEROLEID", "session",
                "ASIAEXAMPLE", "sts.us-west-2.amazonaws.com"};
        p[1] = {"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/alice", "111122223333",
                "AIDAEXAMPLEUSERID", "", "AKIAEXAMPLE", "sts.amazonaws.com"};
        p[2] = {"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdminAccess_0123456789abcdef/bob",
                "arn:aws:iam::111122223333:role/AWSReservedSSO_AdminAccess_0123456789abcdef", "111122223333",
                "AROASSOEXAMPLE", "bob", "ASIAEXAMPLE", "sts.us-west-2.amazonaws.com"};
        p[3] = {"arn:aws:sts::000000000098:assumed-role/KubernetesAdmin/s", "arn:aws:iam::000000000098:role/KubernetesAdmin",
                "000000000098", "userid678", "s", "ASIAEXAMPLE", "sts.us-west-2.amazonaws.com"};
        p[4] = {"arn:aws:sts::111122223333:assumed-role/NodeInstanceRole/i-0123456789abcdef0",
                "arn:aws:iam::111122223333:role/NodeInstanceRole", "111122223333", "AROANODE", "i-0123456789abcdef0",
                "ASIAEXAMPLE", "sts.us-west-2.amazonaws.com"};
        return p;
    }();
    return probes;
}

/// The probes as lookup subjects, built once.
inline const std::vector<mapping::subject>& probe_subjects() {
    static const std::vector<mapping::subject> subjects = [] {
        std::vector<mapping::subject> out;
        for (const auto& id : probe_identities()) {
            auto s = mapping::make_subject(id);
            FUZZ_CHECK(s.ok());
            out.push_back(std::move(*s));
        }
        return out;
    }();
    return subjects;
}

inline std::string describe(const mapping::mapping_entry& e) {
    std::string s = std::to_string(static_cast<int>(e.kind)) + "#" + std::to_string(e.index) + ":" + e.arn + ":" +
                    e.username + ":" + e.userid + ":";
    for (const auto& g : e.groups) s += g + ",";
    return s;
}

inline mapping_summary summarize(const result<mapping::loaded_mappings>& r) {
    mapping_summary s;
    s.ok = r.ok();
    if (!r) {
        s.code = r.code();
        return s;
    }
    const auto& m = r->mappings;
    s.roles = m.role_count();
    s.sso = m.sso_count();
    s.users = m.user_count();
    s.accounts = m.account_count();
    FUZZ_CHECK(m.empty() == (s.roles + s.sso + s.users + s.accounts == 0));
    for (const auto& w : r->warnings) s.warning_codes.push_back(w.code);
    for (const auto& subject : probe_subjects()) {
        for (const bool sso_match : {false, true}) {
            const auto found = m.find(subject, mapping::feature_flags{sso_match});
            if (!found) {
                FUZZ_CHECK(found.code() == "arn_userid_mismatch" && m.user_id_strict());
                s.lookups.push_back("error:" + found.code());
            } else if (*found == nullptr) {
                s.lookups.push_back("none");
            } else {
                const auto& e = **found;
                if (e.kind == mapping::entry_kind::sso_role) FUZZ_CHECK(sso_match);
                s.lookups.push_back(describe(e));
            }
        }
    }
    for (const std::string_view account : {"111122223333", "000000000098", "012345678901"})
        s.lookups.push_back(m.account_allowed(account) ? "account" : "no account");
    return s;
}

}  // namespace stsauth::fuzz
