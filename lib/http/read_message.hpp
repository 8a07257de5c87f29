#pragma once
/// \file
/// Beast's `http::async_read` loop over a `tls_stream`, written out as steps: feed the parser
/// what is buffered, read more while it needs more, and let an end of stream end a body
/// delimited by it. The STS client (reading answers) and the fake STS (reading requests) both
/// use it. Reads are tried in place (`tls_stream::try_read_some`): when OpenSSL has the bytes,
/// no operation is started and no completion posted; Beast's read_op and read_some_op are two
/// composed layers over a type-erased executor, copied per message, that cost more than the
/// parse. Heavy (Asio): include it only from the .cpp files that drive connections.
///
/// A reader calls `read_message` and does what the returned step says:
///
///     void read() {
///         const auto step = http::read_message(stream_, buffer_, *parser_, max_read);
///         switch (step.what) {
///         case http::read_step::next::done: return on_read(step.ec);
///         case http::read_step::next::wait_readable: return stream_.async_wait_readable(... read() ...);
///         case http::read_step::next::read_operation:
///             return stream_.async_read_some(step.space, [](ec, n) {
///                 buffer_.commit(n);
///                 if (ec) return on_read(http::read_ended(*parser_, ec));
///                 read();
///             });
///         }
///     }
///
/// It is a loop, not recursion: a message in many small records costs no stack.

#include "http/tls_stream.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>

namespace stsauth::http {

/// What a message reader does next.
struct read_step {
    enum class next {
        done,            ///< the read is over: `ec` is its outcome (none: the parser is done)
        wait_readable,   ///< nothing to read yet: wait for the socket, then call read_message again
        read_operation,  ///< OpenSSL must write first: read into `space` with the stream's operation
    };
    next what = next::done;
    boost::system::error_code ec;
    boost::asio::mutable_buffer space;  ///< read_operation: prepared in the buffer; commit what arrives
};

/// The outcome of a read the stream ended with `ec`: a close_notify before any byte of a message
/// is `http::error::end_of_stream` (the peer is done); inside one, the parser's verdict on the
/// end (complete when the body is delimited by the end of the stream, else `partial_message`);
/// any other error as it is.
template <class Parser>
boost::system::error_code read_ended(Parser& parser, boost::system::error_code ec) {
    if (ec != boost::asio::error::eof) return ec;
    if (!parser.got_some()) return boost::beast::http::error::end_of_stream;
    ec = {};
    parser.put_eof(ec);
    return ec;
}

/// Parses what `buffer` holds into `parser` and reads from `stream` in place while the parser
/// needs more, reading at most `max_read` bytes at a time; the buffer's max_size bounds what a
/// message may leave unparsed (beyond it: `http::error::buffer_overflow`). Parser errors, the
/// stream's errors and the deadline's timeout end the read as they are (see read_ended).
template <class Parser>
read_step read_message(tls_stream& stream, boost::beast::flat_buffer& buffer, Parser& parser, std::size_t max_read) {
    using next = read_step::next;
    for (;;) {
        if (parser.is_done()) return {};
        if (buffer.size() != 0) {
            boost::system::error_code ec;
            const std::size_t used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (!ec && used != 0) continue;  // e.g. the header is done, its body follows in the buffer
            if (ec && ec != boost::beast::http::error::need_more) return {next::done, ec, {}};
        }
        const std::size_t size = boost::beast::read_size(buffer, max_read);
        if (size == 0) return {next::done, boost::beast::http::error::buffer_overflow, {}};
        const auto space = buffer.prepare(size);
        const auto r = stream.try_read_some(space.data(), space.size());
        if (r.want == 1) return {next::wait_readable, {}, {}};
        // OpenSSL wants to write first (a renegotiation, a key update): the stream's operation
        // copes. No bytes and no error is not expected; the operation is the safe answer.
        if (r.want != 0 || (r.n == 0 && !r.ec)) return {next::read_operation, {}, space};
        buffer.commit(r.n);
        if (r.ec) return {next::done, read_ended(parser, r.ec), {}};
    }
}

}  // namespace stsauth::http
