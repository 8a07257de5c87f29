#include "http/io_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace stsauth::http {

namespace net = boost::asio;

namespace {

// The pool and context index of the calling thread, set for the duration of run().
thread_local const io_pool* current_pool = nullptr;
thread_local std::size_t current_context = io_pool::npos;

struct running_here {
    running_here(const io_pool* p, std::size_t i) {
        current_pool = p;
        current_context = i;
    }
    ~running_here() {
        current_pool = nullptr;
        current_context = io_pool::npos;
    }
    running_here(const running_here&) = delete;
    running_here& operator=(const running_here&) = delete;
};

/// An io_context whose two-phase teardown (execution_context::shutdown, then destroy) the pool
/// can run itself, across all its contexts.
class pool_context final : public net::io_context {
public:
    pool_context() : net::io_context(1) {}
    void shutdown_services() { shutdown(); }
    void destroy_services() { destroy(); }
};

}  // namespace

struct io_pool::impl {
    using guard = net::executor_work_guard<net::io_context::executor_type>;

    explicit impl(std::size_t n) {
        contexts.reserve(n);
        guards.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            contexts.push_back(std::make_unique<pool_context>());
            guards.emplace_back(contexts.back()->get_executor());
        }
    }

    /// Handlers still queued when the pool goes may own objects with I/O objects on several
    /// contexts (an STS client's lanes, a session answered from another context). Destroying
    /// the contexts one by one would free context 0's services while context 1's queue still
    /// holds such an object. So: every context's pending handlers are destroyed first, while
    /// every service exists (twice: destructors may post to a context already emptied), and
    /// only then are the services destroyed.
    ~impl() {
        guards.clear();
        for (int pass = 0; pass < 2; ++pass) {
            for (auto& c : contexts) c->shutdown_services();
        }
        for (auto& c : contexts) c->destroy_services();
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    std::vector<std::unique_ptr<pool_context>> contexts;
    std::vector<guard> guards;  ///< keep run() going while a context has nothing to do
    std::atomic<std::size_t> next{0};
};

io_pool::io_pool(std::size_t contexts) {
    if (contexts == 0) throw std::invalid_argument("io_pool: at least one context");
    impl_ = std::make_unique<impl>(contexts);
}

io_pool::~io_pool() = default;

std::size_t io_pool::size() const noexcept { return impl_->contexts.size(); }

net::io_context& io_pool::at(std::size_t i) noexcept { return *impl_->contexts[i]; }

net::io_context& io_pool::next() noexcept {
    const auto n = impl_->next.fetch_add(1, std::memory_order_relaxed);
    return *impl_->contexts[n % impl_->contexts.size()];
}

std::size_t io_pool::current_index() const noexcept { return current_pool == this ? current_context : npos; }

void io_pool::run() {
    std::vector<std::thread> threads;
    threads.reserve(size() - 1);
    for (std::size_t i = 1; i < size(); ++i) {
        threads.emplace_back([this, i] {
            running_here here(this, i);
            impl_->contexts[i]->run();
        });
    }
    {
        running_here here(this, 0);
        impl_->contexts[0]->run();
    }
    for (auto& t : threads) t.join();
}

void io_pool::stop() {
    for (auto& c : impl_->contexts) c->stop();
}

}  // namespace stsauth::http
