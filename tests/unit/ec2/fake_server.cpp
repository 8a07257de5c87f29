#include "fake_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace stsauth::ec2::testing {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::optional<std::string> seen_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() &&
            std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
            return v;
    }
    return std::nullopt;
}

struct fake_server::impl {
    asio::io_context ioc;
    std::optional<ssl::context> tls;
    tcp::acceptor acceptor{ioc};
    handler h;
    mutable std::mutex mu;
    std::vector<seen_request> seen;
    std::vector<std::shared_ptr<void>> parked;  ///< hanging sessions, kept open until the server stops
    std::thread thread;

    void record(seen_request r) {
        std::lock_guard lock(mu);
        seen.push_back(std::move(r));
    }
    void accept();
};

namespace {

template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    session(fake_server::impl& owner, Stream stream) : owner_(owner), stream_(std::move(stream)), timer_(owner.ioc) {}

    void start() {
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            read();
        } else {
            stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](const error_code& ec) {
                if (!ec) self->read();
            });
        }
    }

private:
    void read() {
        req_ = {};
        bhttp::async_read(stream_, buffer_, req_, [self = this->shared_from_this()](const error_code& ec, std::size_t) {
            if (!ec) self->on_request();
        });
    }

    void on_request() {
        seen_request r;
        r.method = std::string(req_.method_string());
        r.target = std::string(req_.target());
        r.body = req_.body();
        r.at = std::chrono::steady_clock::now();
        for (const auto& f : req_) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        reply_ = owner_.h(r);
        owner_.record(std::move(r));
        if (reply_.hang) {
            owner_.parked.push_back(this->shared_from_this());  // on the server thread, like every handler
            return;
        }
        timer_.expires_after(reply_.delay);
        timer_.async_wait([self = this->shared_from_this()](const error_code&) { self->respond(); });
    }

    void respond() {
        res_ = {};
        res_.version(11);
        res_.result(reply_.status);
        res_.set(bhttp::field::content_type, reply_.content_type);
        res_.keep_alive(false);
        res_.body() = reply_.body;
        res_.prepare_payload();
        bhttp::async_write(stream_, res_, [self = this->shared_from_this()](const error_code&, std::size_t) {
            error_code ignored;
            beast::get_lowest_layer(self->stream_).shutdown(tcp::socket::shutdown_both, ignored);
            beast::get_lowest_layer(self->stream_).close(ignored);
        });
    }

    fake_server::impl& owner_;
    Stream stream_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    bhttp::request<bhttp::string_body> req_;
    bhttp::response<bhttp::string_body> res_;
    canned_reply reply_;
};

}  // namespace

void fake_server::impl::accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
        if (ec) return;
        if (tls) {
            std::make_shared<session<ssl::stream<tcp::socket>>>(*this, ssl::stream<tcp::socket>(std::move(socket), *tls))
                ->start();
        } else {
            std::make_shared<session<tcp::socket>>(*this, std::move(socket))->start();
        }
        accept();
    });
}

fake_server::fake_server(handler h, std::optional<http::pem_pair> pem) : impl_(std::make_unique<impl>()) {
    impl_->h = std::move(h);
    if (pem) {
        impl_->tls.emplace(ssl::context::tls_server);
        impl_->tls->use_certificate_chain(asio::buffer(pem->cert_pem));
        impl_->tls->use_private_key(asio::buffer(pem->key_pem.reveal()), ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

fake_server::~fake_server() {
    impl_->ioc.stop();
    impl_->thread.join();
    impl_->parked.clear();
}

unsigned short fake_server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::vector<seen_request> fake_server::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->seen;
}

std::size_t fake_server::request_count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->seen.size();
}

test_cert::test_cert(std::vector<std::string> dns_names) {
    http::cert_request req;
    req.common_name = "stsauth-ec2-test";
    req.dns_names = std::move(dns_names);
    req.ip_addresses = {"127.0.0.1"};
    req.validity = std::chrono::hours(24);
    auto made = http::generate_self_signed(req);
    if (!made) throw std::runtime_error("cannot generate a test certificate: " + made.err().message);
    pem = std::move(*made);
    static std::atomic<int> n{0};
    ca_file = (std::filesystem::temp_directory_path() /
               ("stsauth-ec2-test-ca-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".pem"))
                  .string();
    std::ofstream out(ca_file, std::ios::binary | std::ios::trunc);
    out << pem.cert_pem;
    if (!out.flush()) throw std::runtime_error("cannot write " + ca_file);
}

test_cert::~test_cert() {
    std::error_code ignored;
    std::filesystem::remove(ca_file, ignored);
}

unsigned short unused_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace stsauth::ec2::testing
