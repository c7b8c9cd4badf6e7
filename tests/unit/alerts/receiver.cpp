#include "receiver.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace sb::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// ---- certificates ----------------------------------------------------------------------

namespace {

void need(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    need(ext != nullptr, "extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

X509* make_cert(EVP_PKEY* key, const char* cn, long serial, X509* issuer) {
    X509* x = X509_new();
    need(x != nullptr, "X509_new");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
    return x;
}

void write_pem(const std::filesystem::path& p, X509* cert, EVP_PKEY* key) {
    FILE* f = std::fopen(p.c_str(), "w");
    need(f != nullptr, "fopen");
    const bool ok = cert != nullptr ? PEM_write_X509(f, cert) == 1
                                    : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    need(ok, "PEM write");
}

}  // namespace

test_ca::test_ca(const std::string& dns_name) {
    dir = std::filesystem::temp_directory_path() /
          ("sb-alerts-ca-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir);
    ca_file = dir / "ca.pem";
    cert_file = dir / "cert.pem";
    key_file = dir / "key.pem";

    EVP_PKEY* ca_key = EVP_EC_gen("P-256");
    EVP_PKEY* key = EVP_EC_gen("P-256");
    need(ca_key != nullptr && key != nullptr, "EVP_EC_gen");
    X509* ca = make_cert(ca_key, "solobridge test CA", 1, nullptr);
    add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ca, ca, NID_subject_key_identifier, "hash");
    need(X509_sign(ca, ca_key, EVP_sha256()) > 0, "sign CA");

    X509* leaf = make_cert(key, dns_name.c_str(), 2, ca);
    add_ext(leaf, ca, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(leaf, ca, NID_key_usage, "critical,digitalSignature");
    add_ext(leaf, ca, NID_ext_key_usage, "serverAuth");
    add_ext(leaf, ca, NID_subject_alt_name, ("DNS:" + dns_name + ",IP:127.0.0.1").c_str());
    add_ext(leaf, ca, NID_authority_key_identifier, "keyid");
    need(X509_sign(leaf, ca_key, EVP_sha256()) > 0, "sign leaf");

    write_pem(ca_file, ca, nullptr);
    write_pem(cert_file, leaf, nullptr);
    write_pem(key_file, nullptr, key);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}

test_ca::~test_ca() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

// ---- receiver --------------------------------------------------------------------------

struct http_receiver::impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::optional<ssl::context> tls;
    std::thread thread;

    mutable std::mutex mutex;
    std::vector<received_request> requests;
    std::deque<unsigned> statuses;
    std::string retry_after;
    bool hang = false;
    std::size_t failed_handshakes = 0;
    std::vector<std::shared_ptr<void>> held;  // hung sessions, kept open until the end

    template <class Stream>
    struct session : std::enable_shared_from_this<session<Stream>> {
        impl* owner;  // outlives every session: they end with its io_context
        Stream stream;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::response<http::string_body> res;

        template <class... A>
        session(impl* o, A&&... a) : owner(o), stream(std::forward<A>(a)...) {}

        void start() {
            if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
                read();
            } else {
                stream.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                    if (ec) {
                        std::lock_guard lock(self->owner->mutex);
                        ++self->owner->failed_handshakes;
                        return;
                    }
                    self->read();
                });
            }
        }

        void read() {
            http::async_read(stream, buffer, req, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec) self->on_request();
            });
        }

        void on_request() {
            received_request r;
            r.method = std::string(req.method_string());
            r.target = std::string(req.target());
            for (const auto& f : req) {
                std::string name(f.name_string());
                std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
                r.headers[name] = std::string(f.value());
            }
            r.body = req.body();
            if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
                const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
                if (name != nullptr) r.sni = name;
            }
            unsigned status = 200;
            std::string retry_after;
            {
                std::lock_guard lock(owner->mutex);
                owner->requests.push_back(std::move(r));
                if (owner->hang) {
                    owner->held.push_back(this->shared_from_this());
                    return;
                }
                if (!owner->statuses.empty()) {
                    status = owner->statuses.front();
                    owner->statuses.pop_front();
                }
                retry_after = owner->retry_after;
            }
            res.version(11);
            res.result(status);
            res.set(http::field::connection, "close");
            if ((status == 429 || status == 503) && !retry_after.empty()) res.set(http::field::retry_after, retry_after);
            res.body() = "{\"ok\":" + std::string(status < 300 ? "true" : "false") + "}";
            res.prepare_payload();
            http::async_write(stream, res, [self = this->shared_from_this()](beast::error_code, std::size_t) {
                beast::error_code ignored;
                beast::get_lowest_layer(self->stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
            });
        }
    };

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
            if (ec) return;
            if (tls)
                std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(this, std::move(s), *tls)->start();
            else
                std::make_shared<session<beast::tcp_stream>>(this, std::move(s))->start();
            accept();
        });
    }
};

http_receiver::http_receiver(std::uint16_t port, const std::string& cert_file, const std::string& key_file)
    : impl_(std::make_unique<impl>()) {
    if (!cert_file.empty()) {
        impl_->tls.emplace(ssl::context::tls_server);
        impl_->tls->use_certificate_chain_file(cert_file);
        impl_->tls->use_private_key_file(key_file, ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->accept();
    impl_->thread = std::thread([i = impl_.get()] { i->io.run(); });
}

http_receiver::~http_receiver() {
    asio::post(impl_->io, [i = impl_.get()] {
        beast::error_code ignored;
        i->acceptor.close(ignored);
        i->io.stop();
    });
    impl_->thread.join();
}

std::uint16_t http_receiver::port() const { return impl_->acceptor.local_endpoint().port(); }

void http_receiver::script(std::vector<unsigned> statuses, std::string retry_after_s) {
    std::lock_guard lock(impl_->mutex);
    impl_->statuses.assign(statuses.begin(), statuses.end());
    impl_->retry_after = std::move(retry_after_s);
}

void http_receiver::hang(bool on) {
    std::lock_guard lock(impl_->mutex);
    impl_->hang = on;
}

std::vector<received_request> http_receiver::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::size_t http_receiver::count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests.size();
}

std::size_t http_receiver::failed_handshakes() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->failed_handshakes;
}

std::uint16_t closed_port() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace sb::test
