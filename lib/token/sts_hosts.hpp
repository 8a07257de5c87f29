#pragma once
/// \file
/// The STS host allow-list: which host names a presigned GetCallerIdentity URL may point at
/// (SPEC-decisions A2, SPEC-reference §1.3). Pure; built once from configuration.
///
/// Accepted, for the configured partition P:
/// - `sts.amazonaws.com` when P is `aws`;
/// - `sts.<region>.<D>` and `sts-fips.<region>.<D>` where D is P's STS domain or dual-stack domain
///   and `<region>` matches P's region pattern (the SDK's `regionRegex`, e.g. `^cn-\w+-\d+$`);
/// - `sts.<instanceRegion>.<D>` for the server's own region (from IMDS) when configured, whatever
///   its name (the reference's fallback for regions the SDK does not know yet);
/// - exact names from `server.sts.extraHosts`.
/// Host names must be lower-case, without trailing dot, port or percent-encoding.

#include "common/result.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::token {

/// One AWS partition as STS sees it (SPEC-reference §1.3 table).
struct partition_info {
    std::string_view name;
    std::string_view domain;            ///< STS DNS suffix, e.g. `amazonaws.com.cn`
    std::string_view dualstack_domain;  ///< empty when the partition has none (the iso partitions)
    /// The SDK regionRegex `^(<prefix>)\-\w+\-\d+$` as its list of prefixes, each ending in '-'.
    std::span<const std::string_view> region_prefixes;
    bool global_endpoint;  ///< `sts.amazonaws.com` belongs to this partition
};

/// The 8 partitions, in SPEC-reference §1.3 table order.
std::span<const partition_info> known_partitions() noexcept;
/// The partition named `name` (exact), or nullptr.
const partition_info* find_partition(std::string_view name) noexcept;

/// The reference's region identifier check: `^[[:alnum:]]([[:alnum:]\-]*[[:alnum:]])?$`.
bool valid_region(std::string_view region) noexcept;
/// True when `region` passes valid_region() and the partition's region pattern
/// (`us-east-1` is `aws`, `us-gov-west-1` is `aws-us-gov`, not `aws`).
bool region_in_partition(const partition_info& partition, std::string_view region) noexcept;

inline constexpr std::string_view global_sts_host = "sts.amazonaws.com";

/// Metric label of a host (the reference's getStsRegion): `global` for `sts.amazonaws.com`, else
/// the second label (`sts-fips.us-west-2.amazonaws.com` -> `us-west-2`); empty when the host has
/// fewer than three labels.
std::string_view sts_region_label(std::string_view host) noexcept;
/// SigV4 region of a host: `us-east-1` for `sts.amazonaws.com`, else the second label; empty when
/// the host has fewer than three labels.
std::string_view signing_region(std::string_view host) noexcept;

/// The allow-list. Copyable value; check() is const and thread-safe.
class sts_hosts {
public:
    /// Partition `aws`, no instance region, no extra hosts.
    sts_hosts();

    /// Errors (configuration, reported at start-up):
    /// - `unknown_partition`: not one of known_partitions();
    /// - `bad_instance_region`: non-empty and not a lower-case valid_region();
    /// - `bad_extra_host`: an extra host that is not a lower-case DNS name of at least three labels
    ///   whose second label is a valid region (so signing_region() is defined for it).
    ///   Extra hosts are lower-cased first (DNS names are case-insensitive).
    static result<sts_hosts> make(std::string_view partition, std::string_view instance_region = {},
                                  std::span<const std::string> extra_hosts = {});

    /// ok, or error `bad_host` with a reason naming the host (at most 253 characters of it).
    status check(std::string_view host) const;
    bool allows(std::string_view host) const { return check(host).ok(); }

    const partition_info& partition() const noexcept { return *partition_; }
    const std::string& instance_region() const noexcept { return instance_region_; }

private:
    const partition_info* partition_;
    std::string instance_region_;
    std::vector<std::string> exact_;  ///< instance-region fallbacks, then extra hosts
};

}  // namespace stsauth::token
