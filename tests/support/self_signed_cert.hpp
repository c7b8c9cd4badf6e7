// A throw-away self-signed certificate (P-256, CN localhost, valid from a minute ago for a
// day) and its key, written as PEM files, for TLS listeners in tests and benchmarks.
#pragma once

#include <cstdio>
#include <filesystem>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace sb::test {

// Writes the certificate to cert and the key to key; false when OpenSSL or a file failed.
inline bool write_self_signed_pem(const std::filesystem::path& cert, const std::filesystem::path& key) {
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    bool ok = pkey != nullptr && x != nullptr;
    if (ok) {
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
        X509_set_pubkey(x, pkey);
        X509_NAME* name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1,
                                   -1, 0);
        X509_set_issuer_name(x, name);
        ok = X509_sign(x, pkey, EVP_sha256()) > 0;
    }
    auto write = [](const std::filesystem::path& path, auto&& body) {
        FILE* f = std::fopen(path.c_str(), "w");
        if (f == nullptr) return false;
        const bool written = body(f);
        return std::fclose(f) == 0 && written;
    };
    if (ok) ok = write(cert, [x](FILE* f) { return PEM_write_X509(f, x) == 1; });
    if (ok)
        ok = write(key, [pkey](FILE* f) {
            return PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
        });
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ok;
}

}  // namespace sb::test
