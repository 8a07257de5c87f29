#pragma once
/// \file
/// The authentication pipeline, with no HTTP in it: token -> local validation -> verified-identity
/// cache -> STS -> ARN -> identity mapping -> decision. Asynchronous (STS and EC2 answer later);
/// the completion is called exactly once, on whatever thread finished the work.

#include "authn/identity_cache.hpp"
#include "common/result.hpp"
#include "mapping/backend.hpp"
#include "mapping/identity.hpp"
#include "mapping/mapping_set.hpp"
#include "sts/sts_client.hpp"
#include "token/token.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stsauth::authn {

/// The four outcomes (STYLE: never merged). HTTP status and metrics follow from them.
enum class verdict {
    authenticated,  ///< 200, authenticated: true
    denied,         ///< 200 (403 with legacyDenyStatus), authenticated: false: bad token, STS said no, not mapped
    throttled,      ///< 429: STS throttled us
    unavailable,    ///< 503: STS unreachable, timed out, 5xx or answered nonsense
};

/// What the call to STS looked like, for the reference's STS metrics.
struct sts_call {
    unsigned http_status = 0;  ///< 0: no HTTP answer (transport failure)
    sts::outcome_kind kind = sts::outcome_kind::unavailable;
    /// From asking the STS client to its answer: a free pooled connection or a new one, the
    /// exchange, retries; for a review that joined an identical token's request, its own wait.
    std::chrono::steady_clock::duration elapsed{};
};

struct decision {
    verdict kind = verdict::denied;
    std::string reason;         ///< stable machine reason: "ok", a token reason, "sts_rejected", "not_mapped", ...
    std::string metric_result;  ///< reference label: success, invalid_token, sts_error, sts_throttling, uknown_user
    std::string detail;         ///< short human text for the log; never a secret
    std::string sts_region;     ///< metric label of the token's STS host ("" if the token was not valid)
    std::optional<mapping::identity> identity;  ///< set once STS answered with a usable identity
    std::string backend;        ///< mapping backend that matched
    std::string username;
    std::vector<std::string> groups;
    bool cache_hit = false;
    std::optional<sts_call> sts;  ///< set when an STS request was made for this review
};

/// One backend of the mapping chain, as loaded right now.
struct chain_backend {
    std::string name;  ///< "MountedFile", "EKSConfigMap", "DynamicFile", "AccessEntries"
    std::shared_ptr<const mapping::mapping_set> mappings;
    std::vector<std::string> reserved_prefixes;
};

/// The mapping chain: an immutable snapshot, swapped whole on reload.
struct mapping_chain {
    std::vector<chain_backend> backends;
    mapping::feature_flags flags;
    /// When set, maps instead of mapping::map_identity over `backends`: the access-entries chain
    /// (ACCESS-ENTRIES C2.3), where the authentication mode filters the backends. It must be as
    /// immutable as the rest of the snapshot (it may run on any thread).
    std::function<mapping::mapping_outcome(const mapping::identity&)> map;
};

/// Resolves an EC2 instance id to its private DNS name ({{EC2PrivateDNSName}}).
class ec2_resolver {
public:
    using callback = std::function<void(result<std::string>)>;
    virtual ~ec2_resolver() = default;
    virtual void private_dns_name(std::string instance_id, callback cb) = 0;

protected:
    ec2_resolver() = default;
    ec2_resolver(const ec2_resolver&) = default;
    ec2_resolver& operator=(const ec2_resolver&) = default;
};

struct authenticator_config {
    token::validation_config validation;
    std::string cluster_id;
    std::chrono::milliseconds cache_ttl{60'000};  ///< A6; 0 disables
    std::size_t cache_max_entries = 100'000;
};

class authenticator {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;
    using chain_fn = std::function<std::shared_ptr<const mapping_chain>()>;
    using completion = std::function<void(decision)>;

    /// `sts` and `ec2` (may be null: node templates are then denied) must outlive this object.
    authenticator(authenticator_config config, sts::sts_client& sts, chain_fn chain, ec2_resolver* ec2,
                  clock_fn clock);

    /// Runs the pipeline for one bearer token. `done` is called exactly once.
    void authenticate(std::string_view token, completion done);

    /// Maps an identity STS already vouched for (used after the STS step and by tests).
    void map(mapping::identity id, decision d, completion done) const;

    cache_stats cache_statistics() const { return cache_.stats(); }
    /// Drops expired cache entries now (the server calls this once a second); returns how many.
    std::size_t sweep_cache() { return cache_.sweep(clock_()); }
    const authenticator_config& config() const noexcept { return config_; }

private:
    /// What the pipeline keeps about the token once it passed validation.
    struct token_facts {
        crypto::digest key;  ///< SHA-256 of the token: cache and in-flight key
        std::string access_key_id;
        std::string host;
        std::string sts_region;
        std::chrono::system_clock::time_point expires_at;
        std::chrono::steady_clock::time_point asked;  ///< when STS was asked (sts_call::elapsed)
    };
    void on_sts(const sts::sts_outcome& outcome, token_facts&& facts, decision&& d, completion done);
    /// A cache hit: the entry's memo when it was made under the current chain, else the identity
    /// mapped now (and the memo made when the chain alone decided).
    void on_hit(const stored_answer& hit, decision&& d, completion done) const;

    authenticator_config config_;
    sts::sts_client& sts_;
    chain_fn chain_;
    ec2_resolver* ec2_;
    clock_fn clock_;
    identity_cache cache_;
};

}  // namespace stsauth::authn
