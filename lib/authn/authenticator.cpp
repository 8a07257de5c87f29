#include "authn/authenticator.hpp"

#include "authn/identity.hpp"
#include "common/encoding.hpp"
#include "mapping/template.hpp"

#include <type_traits>
#include <variant>

namespace stsauth::authn {
namespace {

decision deny(decision&& d, std::string reason, std::string metric, std::string detail) {
    d.kind = verdict::denied;
    d.reason = std::move(reason);
    d.metric_result = std::move(metric);
    d.detail = std::move(detail);
    return d;
}

/// The matched entry's username and groups rendered: authenticated, or denied when a template
/// cannot be filled.
decision render(const mapping::matched& m, decision&& d, const std::optional<std::string>& dns_name) {
    auto user = mapping::render_user(m, *d.identity, dns_name);
    d.backend = m.backend;
    if (!user) return deny(std::move(d), user.err().code, "uknown_user", user.err().message);
    d.kind = verdict::authenticated;
    d.reason = "ok";
    d.metric_result = "success";
    d.username = std::move(user->username);
    d.groups = std::move(user->groups);
    return d;
}

/// A match whose username needs the instance's private DNS name, which EC2 must give first.
struct ec2_step {
    mapping::matched m;
    decision d;
    std::string instance_id;
};

/// What the mapping chain says about an identity: the final decision, or the EC2 step before it.
using resolution = std::variant<decision, ec2_step>;

resolution resolve(const mapping_chain* chain, mapping::identity id, decision&& d, bool have_ec2) {
    std::vector<mapping::backend_ref> refs;
    if (chain) {
        refs.reserve(chain->backends.size());
        for (const auto& b : chain->backends) refs.push_back({b.name, b.mappings.get(), b.reserved_prefixes});
    }
    const mapping::feature_flags flags = chain ? chain->flags : mapping::feature_flags{};
    auto outcome = chain && chain->map ? chain->map(id) : mapping::map_identity(refs, id, flags);
    d.identity = std::move(id);

    if (auto* acct = std::get_if<mapping::account_allowed>(&outcome)) {
        d.kind = verdict::authenticated;
        d.reason = "ok";
        d.metric_result = "success";
        d.backend = acct->backend;
        d.username = acct->username;
        return d;
    }
    if (auto* nm = std::get_if<mapping::not_mapped>(&outcome)) {
        std::string detail = "identity is not mapped";
        for (const auto& e : nm->errors) detail += "; " + e.message;
        return deny(std::move(d), nm->errors.empty() ? "not_mapped" : nm->errors.front().code, "uknown_user", detail);
    }
    if (auto* den = std::get_if<mapping::denied>(&outcome)) {
        d.backend = den->backend;
        return deny(std::move(d), den->reason.code, "uknown_user", den->reason.message);
    }

    auto& m = std::get<mapping::matched>(outcome);
    std::optional<result<std::string>> instance;
    if (mapping::needs_ec2_dns_name(m)) instance = mapping::instance_id_for_ec2(*d.identity);
    if (!instance || !instance->ok()) return render(m, std::move(d), std::nullopt);  // render_user reports a missing instance id
    if (!have_ec2) return deny(std::move(d), "ec2_unavailable", "uknown_user", "no EC2 client configured for {{EC2PrivateDNSName}}");
    return ec2_step{std::move(m), std::move(d), std::move(instance->value())};
}

/// Completes a resolution: at once, or once EC2 answered.
void dispatch(resolution r, ec2_resolver* ec2, authenticator::completion done) {
    if (auto* final = std::get_if<decision>(&r)) {
        done(std::move(*final));
        return;
    }
    auto& step = std::get<ec2_step>(r);
    ec2->private_dns_name(std::move(step.instance_id),
                          [m = std::move(step.m), d = std::move(step.d), done = std::move(done)](result<std::string> name) mutable {
                              if (!name) {
                                  done(deny(std::move(d), name.err().code, "uknown_user", name.err().message));
                                  return;
                              }
                              done(render(m, std::move(d), std::move(*name)));
                          });
}

}  // namespace

/// A positive cache entry's mapping under one mapping chain: the decision the chain gave the
/// first review that used the entry. Valid exactly while that chain is the current one; the
/// weak pointer names the chain without keeping a replaced one (and its mapping sets) alive.
struct mapped_memo {
    std::weak_ptr<const mapping_chain> chain;
    decision outcome;

    bool made_under(const std::shared_ptr<const mapping_chain>& current) const noexcept {
        return !chain.owner_before(current) && !current.owner_before(chain);
    }
};

authenticator::authenticator(authenticator_config config, sts::sts_client& sts, chain_fn chain, ec2_resolver* ec2,
                             clock_fn clock)
    : config_(std::move(config)),
      sts_(sts),
      chain_(std::move(chain)),
      ec2_(ec2),
      clock_(std::move(clock)),
      cache_(config_.cache_ttl, config_.cache_max_entries) {}

void authenticator::authenticate(std::string_view token, completion done) {
    const auto now = clock_();
    decision d;

    // Phase 1: the verified-identity cache (A6), keyed by the SHA-256 of the exact token bytes.
    // An entry exists only for bytes that passed every local rule and lives no longer than the
    // token, so a hit needs no second validation. Over-long tokens are not even hashed.
    const bool hashable = token.size() <= config_.validation.max_token_bytes;
    const crypto::digest key = hashable ? crypto::sha256(token) : crypto::digest{};
    if (hashable) {
        if (auto hit = cache_.find(key, now)) {
            d.cache_hit = true;
            d.sts_region = hit->sts_region;
            if (!hit->positive) {
                done(deny(std::move(d), std::string(hit->reason), "sts_error",
                          "STS rejected this token earlier: " + std::string(hit->sts_error_code)));
                return;
            }
            on_hit(*hit, std::move(d), std::move(done));
            return;
        }
    }

    // Phase 2: local validation. Nothing leaves the process for a token that fails it.
    auto validated = token::validate(token, config_.validation, now);
    if (!validated) {
        done(deny(std::move(d), validated.err().code, "invalid_token", validated.err().message));
        return;
    }
    d.sts_region = validated->sts_region;
    token_facts facts{key,
                      std::move(validated->access_key_id),
                      validated->host,
                      std::move(validated->sts_region),
                      validated->expires_at,
                      std::chrono::steady_clock::now()};

    // Phase 3: ask STS. Identical tokens in flight share one request (dedupe key).
    sts::sts_request request{std::move(validated->host), std::move(validated->target), config_.cluster_id,
                             encoding::hex_encode(facts.key)};
    sts_.get_caller_identity(std::move(request),
                             [this, facts = std::move(facts), d = std::move(d), done = std::move(done)](
                                 const sts::sts_outcome& outcome) mutable {
                                 on_sts(outcome, std::move(facts), std::move(d), std::move(done));
                             });
}

void authenticator::on_sts(const sts::sts_outcome& outcome, token_facts&& facts, decision&& d, completion done) {
    d.sts = sts_call{outcome.http_status, outcome.kind, std::chrono::steady_clock::now() - facts.asked};
    switch (outcome.kind) {
        case sts::outcome_kind::ok: {
            // Only an identity that can be used is cached: an unusable one is asked again.
            auto id = make_identity(outcome.identity, facts.access_key_id, facts.host);
            if (!id) {
                // STS vouched for something we cannot use: the reference calls this an STS error.
                done(deny(std::move(d), id.err().code, "sts_error", id.err().message));
                return;
            }
            // The entry copies what it keeps, into one block (stored_answer).
            cache_.store(facts.key,
                         answer_view{true, outcome.identity.arn, outcome.identity.account, outcome.identity.user_id, {},
                                     {}, facts.host, facts.sts_region, facts.access_key_id},
                         facts.expires_at, clock_());
            map(std::move(*id), std::move(d), std::move(done));
            return;
        }
        case sts::outcome_kind::rejected:
            cache_.store(facts.key,
                         answer_view{false, {}, {}, {}, outcome.reason, outcome.sts_error_code, facts.host, facts.sts_region,
                                     facts.access_key_id},
                         facts.expires_at, clock_());
            done(deny(std::move(d), outcome.reason, "sts_error", outcome.detail));
            return;
        case sts::outcome_kind::throttled:
            d.kind = verdict::throttled;
            d.metric_result = "sts_throttling";
            break;
        case sts::outcome_kind::unavailable:
        case sts::outcome_kind::bad_response:
            d.kind = verdict::unavailable;
            d.metric_result = "sts_error";
            break;
    }
    d.reason = outcome.reason;
    d.detail = outcome.detail;
    done(std::move(d));
}

void authenticator::on_hit(const stored_answer& hit, decision&& d, completion done) const {
    const auto chain = chain_();
    if (const auto memo = hit.mapped.load(); memo && memo->made_under(chain)) {
        done(memo->outcome);  // what this chain gave this identity on the entry's first use
        return;
    }
    auto id = make_identity(hit.identity.arn, hit.identity.account, hit.identity.user_id, hit.access_key_id, hit.host);
    if (!id) {
        done(deny(std::move(d), id.err().code, "sts_error", id.err().message));
        return;
    }
    auto r = resolve(chain.get(), std::move(*id), std::move(d), ec2_ != nullptr);
    // Only what the chain alone decided is kept: an EC2 lookup is asked again each time.
    if (const auto* final = std::get_if<decision>(&r)) hit.mapped.store(std::make_shared<const mapped_memo>(mapped_memo{chain, *final}));
    dispatch(std::move(r), ec2_, std::move(done));
}

void authenticator::map(mapping::identity id, decision d, completion done) const {
    const auto chain = chain_();
    dispatch(resolve(chain.get(), std::move(id), std::move(d), ec2_ != nullptr), ec2_, std::move(done));
}

}  // namespace stsauth::authn
