// The one translation unit that compiles Asio, Asio.SSL and Beast (separate compilation):
// every other file includes only their headers, so a 2-core machine builds them once.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
