#include "authn/identity_cache.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <random>

namespace stsauth::authn {

namespace {

std::uint64_t random_seed() noexcept {
    try {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd();
    } catch (...) {
        return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
}

/// Relaxed increment of a counter only ever written under its shard's lock.
void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

/// allocate_shared's allocator for stored_answer: the one block it allocates (control block and
/// entry) gets `extra` more bytes, where make_stored copies the entry's strings; `tail` receives
/// their address. Used for that one allocation (the copy kept in the control block only frees).
template <class T>
struct tail_allocator {
    using value_type = T;
    std::size_t extra;
    char** tail;

    tail_allocator(std::size_t extra_bytes, char** tail_out) noexcept : extra(extra_bytes), tail(tail_out) {}
    template <class U>
    tail_allocator(const tail_allocator<U>& other) noexcept : extra(other.extra), tail(other.tail) {}

    T* allocate(std::size_t n) {
        auto* block = static_cast<char*>(::operator new(n * sizeof(T) + extra));
        *tail = block + n * sizeof(T);
        return reinterpret_cast<T*>(block);
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(static_cast<void*>(p)); }

    template <class U>
    bool operator==(const tail_allocator<U>& other) const noexcept {
        return extra == other.extra && tail == other.tail;
    }
};

std::shared_ptr<const stored_answer> make_stored(const answer_view& a) {
    const std::string_view parts[] = {a.arn,    a.account,    a.user_id,    a.reason,
                                      a.sts_error_code, a.host, a.sts_region, a.access_key_id};
    std::size_t bytes = 0;
    for (const auto part : parts) bytes += part.size();
    char* tail = nullptr;
    auto e = std::allocate_shared<stored_answer>(tail_allocator<stored_answer>(bytes, &tail));
    auto put = [&tail](std::string_view s) {
        if (!s.empty()) std::memcpy(tail, s.data(), s.size());
        const std::string_view copy(tail, s.size());
        tail += s.size();
        return copy;
    };
    e->positive = a.positive;
    e->identity = {put(a.arn), put(a.account), put(a.user_id)};
    e->reason = put(a.reason);
    e->sts_error_code = put(a.sts_error_code);
    e->host = put(a.host);
    e->sts_region = put(a.sts_region);
    e->access_key_id = put(a.access_key_id);
    return e;
}

}  // namespace

identity_cache::identity_cache(std::chrono::milliseconds ttl, std::size_t max_entries)
    : ttl_(ttl),
      max_entries_(max_entries),
      // Node indexes are 32-bit and the index holds at most twice the bound.
      per_shard_max_(std::clamp<std::size_t>(max_entries / shard_count, 1, std::size_t{1} << 30)),
      seed_(random_seed()) {}

std::uint32_t identity_cache::tag_of(const crypto::digest& key) const noexcept {
    // Key byte 0 picks the shard; bytes 8..15 (a SHA-256: already uniform) pick the slot, mixed
    // with the seed so that tokens cannot be chosen to pile up on one run of slots.
    std::uint64_t h;
    std::memcpy(&h, key.data() + 8, sizeof h);
    return static_cast<std::uint32_t>(((h ^ seed_) * 0x9e3779b97f4a7c15ULL) >> 32);
}

std::uint32_t identity_cache::lookup(const shard& s, const crypto::digest& key, std::uint32_t tag) noexcept {
    if (s.index.empty()) return none;
    const auto mask = static_cast<std::uint32_t>(s.index.size() - 1);
    for (auto i = tag >> s.index_shift;; i = (i + 1) & mask) {
        const auto& sl = s.index[i];
        if (sl.node == none) return none;
        if (sl.tag == tag && s.nodes[sl.node].key == key) return i;
    }
}

void identity_cache::unlink(shard& s, std::uint32_t n) noexcept {
    auto& e = s.nodes[n];
    (e.prev == none ? s.head : s.nodes[e.prev].next) = e.next;
    (e.next == none ? s.tail : s.nodes[e.next].prev) = e.prev;
}

void identity_cache::link_front(shard& s, std::uint32_t n) noexcept {
    auto& e = s.nodes[n];
    e.prev = none;
    e.next = s.head;
    (s.head == none ? s.tail : s.nodes[s.head].prev) = n;
    s.head = n;
}

void identity_cache::remove(shard& s, std::uint32_t n, std::shared_ptr<const stored_answer>& dropped) noexcept {
    auto& e = s.nodes[n];
    // Backward-shift deletion: each later slot of the run moves into the hole if its home slot
    // is not after the hole, so every remaining key stays reachable from its home without
    // tombstones.
    const auto mask = static_cast<std::uint32_t>(s.index.size() - 1);
    auto hole = lookup(s, e.key, tag_of(e.key));
    for (auto j = (hole + 1) & mask;; j = (j + 1) & mask) {
        const auto sl = s.index[j];
        if (sl.node == none) break;
        const auto home = sl.tag >> s.index_shift;
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            s.index[hole] = sl;
            hole = j;
        }
    }
    s.index[hole].node = none;
    unlink(s, n);
    dropped = std::move(e.answer);
    e.next = s.free;
    s.free = n;
    --s.size;
    s.entries.store(s.size, std::memory_order_relaxed);
}

void identity_cache::reserve_index(shard& s) {
    if (!s.index.empty() && (std::size_t{s.size} + 1) * 2 <= s.index.size()) return;
    const std::size_t slots = s.index.empty() ? 16 : s.index.size() * 2;
    std::vector<slot> index(slots);
    const auto shift = s.index_shift - (s.index.empty() ? 4 : 1);
    const auto mask = static_cast<std::uint32_t>(slots - 1);
    for (auto n = s.head; n != none; n = s.nodes[n].next) {
        const auto tag = tag_of(s.nodes[n].key);
        auto i = tag >> shift;
        while (index[i].node != none) i = (i + 1) & mask;
        index[i] = slot{tag, n};
    }
    s.index = std::move(index);
    s.index_shift = shift;
}

std::shared_ptr<const stored_answer> identity_cache::find(const crypto::digest& key, time_point now) {
    if (!enabled()) return nullptr;
    const auto tag = tag_of(key);
    auto& s = shard_for(key);
    std::shared_ptr<const stored_answer> dropped;  // released after the lock
    std::lock_guard lock(s.mu);
    const auto i = lookup(s, key, tag);
    if (i == none) {
        bump(s.misses);
        return nullptr;
    }
    const auto n = s.index[i].node;
    if (s.nodes[n].expires <= now) {
        remove(s, n, dropped);
        bump(s.expired);
        bump(s.misses);
        return nullptr;
    }
    if (s.head != n) {
        unlink(s, n);
        link_front(s, n);
    }
    bump(s.hits);
    return s.nodes[n].answer;
}

void identity_cache::store(const crypto::digest& key, const cached_answer& a, time_point token_expires_at,
                           time_point now) {
    store(key,
          answer_view{a.positive, a.identity.arn, a.identity.account, a.identity.user_id, a.reason, a.sts_error_code,
                      a.host, a.sts_region, a.access_key_id},
          token_expires_at, now);
}

void identity_cache::store(const crypto::digest& key, const answer_view& answer, time_point token_expires_at,
                           time_point now) {
    if (!enabled()) return;
    const auto expires = std::min(now + ttl_, token_expires_at);
    if (expires <= now) return;
    std::shared_ptr<const stored_answer> shared = make_stored(answer);
    const auto tag = tag_of(key);
    auto& s = shard_for(key);
    // What this store removes is released after the lock: expired tail entries, the entry the
    // bound evicts, or the answer a new one replaces.
    std::array<std::shared_ptr<const stored_answer>, expired_per_store + 1> dropped;
    std::lock_guard lock(s.mu);
    drop_expired_tail(s, now, expired_per_store, dropped.data());
    if (const auto i = lookup(s, key, tag); i != none) {
        const auto n = s.index[i].node;
        dropped.back() = std::exchange(s.nodes[n].answer, std::move(shared));
        s.nodes[n].expires = expires;
        if (s.head != n) {
            unlink(s, n);
            link_front(s, n);
        }
        return;
    }
    // The bound: the least recently used entry makes room (and lends its node) before the new
    // one goes in. It is live: had the tail expired, drop_expired_tail would have made room.
    if (s.size >= per_shard_max_) {
        bump(s.evictions);
        remove(s, s.tail, dropped.back());
    }
    reserve_index(s);
    std::uint32_t n;
    if (s.free != none) {
        n = s.free;
        s.free = s.nodes[n].next;
    } else {
        if (s.nodes.size() == s.nodes.capacity())
            s.nodes.reserve(std::max(s.nodes.size() + 1, std::min(std::max<std::size_t>(16, 2 * s.nodes.size()), per_shard_max_)));
        s.nodes.emplace_back();
        n = static_cast<std::uint32_t>(s.nodes.size() - 1);
    }
    auto& e = s.nodes[n];
    e.key = key;
    e.expires = expires;
    e.answer = std::move(shared);
    const auto mask = static_cast<std::uint32_t>(s.index.size() - 1);
    auto i = tag >> s.index_shift;
    while (s.index[i].node != none) i = (i + 1) & mask;
    s.index[i] = slot{tag, n};
    link_front(s, n);
    ++s.size;
    s.entries.store(s.size, std::memory_order_relaxed);
}

std::size_t identity_cache::drop_expired_tail(shard& s, time_point now, std::size_t limit,
                                              std::shared_ptr<const stored_answer>* dropped) {
    std::size_t n = 0;
    std::shared_ptr<const stored_answer> here;
    while (n < limit && s.tail != none && s.nodes[s.tail].expires <= now) {
        remove(s, s.tail, dropped != nullptr ? dropped[n] : here);
        here.reset();
        ++n;
    }
    if (n != 0) bump(s.expired, n);
    return n;
}

std::size_t identity_cache::sweep(time_point now) {
    if (!enabled()) return 0;
    // In batches, releasing the lock in between: reviews of that shard wait for one batch at most.
    constexpr std::size_t batch = 256;
    std::size_t total = 0;
    for (auto& s : shards_) {
        for (;;) {
            std::lock_guard lock(s.mu);
            const auto n = drop_expired_tail(s, now, batch, nullptr);
            total += n;
            if (n < batch) break;
        }
    }
    return total;
}

cache_stats identity_cache::stats() const {
    cache_stats st;
    for (const auto& s : shards_) {
        st.hits += s.hits.load(std::memory_order_relaxed);
        st.misses += s.misses.load(std::memory_order_relaxed);
        st.evictions += s.evictions.load(std::memory_order_relaxed);
        st.expired += s.expired.load(std::memory_order_relaxed);
        st.entries += s.entries.load(std::memory_order_relaxed);
    }
    return st;
}

}  // namespace stsauth::authn
