#pragma once
/// \file
/// The verified-identity cache (SPEC-decisions A6): token SHA-256 -> what STS said about it.
/// Positive entries hold the caller identity and, once it was used, what it mapped to under the
/// mapping chain of that moment, tied to that chain (mapping changes apply at once);
/// negative entries remember an STS 403. Each entry lives min(ttl, time left before the token's
/// 15-minute expiry). Bounded (LRU). Thread-safe; sharded to keep lock hold times short.
/// Expired entries go without being looked up again: every store first drops a few expired
/// entries from its shard's LRU tail, and sweep() (the server calls it once a second) drains the
/// expired tails of all shards. Every entry was used within the last ttl of the one at the tail
/// (an entry's expiry is at most ttl after its last store), so once the tail is live the cache
/// holds only entries used in the last ttl.

#include "crypto/crypto.hpp"
#include "sts/response.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::authn {

struct mapped_memo;  // authn::authenticator's: an entry's mapping under one mapping chain

/// Where the authenticator keeps what an entry's identity mapped to under the current mapping
/// chain (SPEC-decisions A6: the mapping is never cached apart from the chain it came from; a
/// new chain makes the memo stale at once). The only part of an entry that changes after it is
/// stored; a copy of an entry starts without one.
class memo_slot {
public:
    memo_slot() = default;
    memo_slot(const memo_slot&) noexcept {}
    memo_slot& operator=(const memo_slot&) noexcept { return *this; }
    ~memo_slot() = default;

    std::shared_ptr<const mapped_memo> load() const noexcept { return p_.load(std::memory_order_acquire); }
    void store(std::shared_ptr<const mapped_memo> m) const noexcept { p_.store(std::move(m), std::memory_order_release); }

private:
    mutable std::atomic<std::shared_ptr<const mapped_memo>> p_;
};

/// What STS said about a token, in owning strings: store()'s other form (the authenticator hands
/// over an answer_view; tests build entries with this).
struct cached_answer {
    bool positive = true;             ///< false: STS rejected the token (403)
    sts::caller_identity identity;    ///< positive entries only
    std::string reason;               ///< negative entries: the STS reason ("sts_rejected")
    std::string sts_error_code;       ///< negative entries: STS's Error.Code
    // What local validation established about the token when it was stored: a hit needs no
    // second validation (the entry cannot outlive the token's expiry, and the key is the hash
    // of the exact token bytes that passed).
    std::string host;           ///< allow-listed STS host
    std::string sts_region;     ///< metric label
    std::string access_key_id;  ///< from X-Amz-Credential
};

/// The same fields as views, copied by store(): what the authenticator hands over, so that an
/// entry's strings are copied once, into the entry.
struct answer_view {
    bool positive = true;
    std::string_view arn;
    std::string_view account;
    std::string_view user_id;
    std::string_view reason;
    std::string_view sts_error_code;
    std::string_view host;
    std::string_view sts_region;
    std::string_view access_key_id;
};

/// An entry as the cache keeps it and find() returns it: cached_answer's fields, its strings
/// copied behind the entry into the block that also holds the shared_ptr's control block. One
/// allocation per entry: a store allocates once and an eviction frees once, touching one block
/// instead of a block and four scattered strings (the eviction's cache misses; "Latest results"
/// in docs/benchmarks.md). The views live as long as the entry.
struct stored_answer {
    struct identity_view {
        std::string_view arn;
        std::string_view account;
        std::string_view user_id;
    };
    bool positive = true;
    identity_view identity;
    std::string_view reason;
    std::string_view sts_error_code;
    std::string_view host;
    std::string_view sts_region;
    std::string_view access_key_id;
    memo_slot mapped;  ///< positive entries: the identity's mapping, kept by the authenticator
};

struct cache_stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t evictions = 0;  ///< removed by the LRU bound while live
    std::uint64_t expired = 0;    ///< removed after their expiry (lookup, store or sweep)
    std::size_t entries = 0;
};

class identity_cache {
public:
    using time_point = std::chrono::system_clock::time_point;

    /// ttl == 0 disables the cache; max_entries bounds the whole cache.
    identity_cache(std::chrono::milliseconds ttl, std::size_t max_entries);

    bool enabled() const noexcept { return ttl_.count() > 0 && max_entries_ > 0; }

    /// The entry for `key`, shared (entries are immutable once stored), or null.
    std::shared_ptr<const stored_answer> find(const crypto::digest& key, time_point now);
    /// Stores for min(ttl, token_expires_at - now); nothing when that is not positive.
    void store(const crypto::digest& key, const answer_view& answer, time_point token_expires_at, time_point now);
    void store(const crypto::digest& key, const cached_answer& answer, time_point token_expires_at, time_point now);

    /// Drops the expired entries at the LRU tail of every shard; returns how many went.
    std::size_t sweep(time_point now);

    cache_stats stats() const;

    /// Expired tail entries a store drops before it inserts (twice the insert rate drains
    /// any backlog; bounded so a store never holds its shard lock for long).
    static constexpr std::size_t expired_per_store = 2;

private:
    static constexpr std::size_t shard_count = 16;
    static constexpr std::uint32_t none = UINT32_MAX;

    /// One entry, with its LRU links (indexes into shard::nodes): a store allocates no list or
    /// map node of its own, and the tail's expiry is checked without an index lookup. A free
    /// node keeps the free list in `next`.
    struct node {
        crypto::digest key;
        time_point expires;
        std::shared_ptr<const stored_answer> answer;
        std::uint32_t prev = none;  ///< toward the front (more recently used)
        std::uint32_t next = none;  ///< toward the tail
    };
    /// An open-addressing index slot (linear probing over a power-of-two array): the high 32 bits
    /// of the key's seeded hash (its home slot is their top bits, so a backward shift needs no
    /// node) and the node; node == none: empty. A miss reads index slots only.
    struct slot {
        std::uint32_t tag;
        std::uint32_t node = none;
    };
    /// Counters written under the shard lock only (relaxed load + store, no locked add) and read
    /// without it by stats().
    using counter = std::atomic<std::uint64_t>;
    struct alignas(64) shard {
        mutable std::mutex mu;
        std::vector<slot> index;  ///< empty until the first store; at most half full
        std::vector<node> nodes;  ///< grows up to the shard's bound, never shrinks
        std::uint32_t head = none, tail = none, free = none;
        std::uint32_t size = 0;
        unsigned index_shift = 32;  ///< 32 - log2(index.size())
        counter hits{0}, misses{0}, evictions{0}, expired{0}, entries{0};
    };

    shard& shard_for(const crypto::digest& key) noexcept { return shards_[key[0] % shard_count]; }
    std::uint32_t tag_of(const crypto::digest& key) const noexcept;
    /// The index slot holding `key` (whose tag is `tag`), or none.
    static std::uint32_t lookup(const shard& s, const crypto::digest& key, std::uint32_t tag) noexcept;
    /// Removes node `n` (lock held): index slot, LRU links; the node goes to the free list and
    /// its answer is moved to `dropped` (released after the lock).
    void remove(shard& s, std::uint32_t n, std::shared_ptr<const stored_answer>& dropped) noexcept;
    static void unlink(shard& s, std::uint32_t n) noexcept;
    static void link_front(shard& s, std::uint32_t n) noexcept;
    /// Makes room in the index for one more key (doubling and rehashing when half full).
    void reserve_index(shard& s);
    /// Pops up to `limit` expired entries from the tail of `s` (lock held); returns how many.
    /// Their answers go to dropped[0..n) when `dropped` is given, else they are released here.
    std::size_t drop_expired_tail(shard& s, time_point now, std::size_t limit, std::shared_ptr<const stored_answer>* dropped);

    std::chrono::milliseconds ttl_;
    std::size_t max_entries_;
    std::size_t per_shard_max_;
    std::uint64_t seed_;  ///< per cache: where a key lands cannot be chosen by whoever picks tokens
    std::array<shard, shard_count> shards_;
};

}  // namespace stsauth::authn
