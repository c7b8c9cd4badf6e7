// A local webhook receiver for the alerts tests: a real HTTP (or HTTPS) server on
// 127.0.0.1 that records every request and answers with scripted statuses. And a
// throw-away certificate authority made at test time with OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sb::test {

// A CA and a server certificate it signed (P-256, valid one hour), as PEM files in a
// temporary directory removed on destruction. The server certificate names `dns_name`
// and 127.0.0.1.
struct test_ca {
    explicit test_ca(const std::string& dns_name = "localhost");
    ~test_ca();
    test_ca(const test_ca&) = delete;
    test_ca& operator=(const test_ca&) = delete;
    std::filesystem::path dir, ca_file, cert_file, key_file;
};

struct received_request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string sni;  // the TLS server name the client sent (empty: none, or plain HTTP)
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class http_receiver {
public:
    // Listens on 127.0.0.1:port (0: a free port) at once; TLS with the certificate and key
    // when cert_file is not empty.
    explicit http_receiver(std::uint16_t port = 0, const std::string& cert_file = {}, const std::string& key_file = {});
    ~http_receiver();
    http_receiver(const http_receiver&) = delete;
    http_receiver& operator=(const http_receiver&) = delete;

    std::uint16_t port() const;
    // The statuses of the next responses, in order (with "Retry-After: retry_after_s" on
    // 429 and 503 when it is not empty); 200 after them.
    void script(std::vector<unsigned> statuses, std::string retry_after_s = {});
    // While true, requests are read and recorded but never answered.
    void hang(bool on);
    std::vector<received_request> requests() const;
    std::size_t count() const;
    // TLS handshakes that failed (a client that refused the certificate).
    std::size_t failed_handshakes() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
std::uint16_t closed_port();

}  // namespace sb::test
