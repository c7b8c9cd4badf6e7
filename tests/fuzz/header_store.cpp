// Fuzz target: arbitrary bytes as the P2P header store file (headers-<chain>.dat). The
// first byte picks the chain (Bitcoin regtest, or Ravencoin regtest with its 120-byte
// KAWPOW records); the rest is the file. It is opened as the daemon opens it without the
// node's RPC (read_store_anchor, a chain rooted at the stored anchor, open_store), or
// rooted at genesis when it holds no anchor. Nothing may crash; the replay must use the
// cheap KAWPOW check only and leave the file cut after its last good record (prefix plus
// whole records); opening the result again must give the same chain and the same file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include "sb/core/chain.hpp"
#include "sb/node/p2p/anchor.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/pow/kawpow.hpp"

namespace p2p = sb::node::p2p;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// One directory per process (libFuzzer's -fork and -jobs run several), made once; in
// memory (/dev/shm) where there is one: on ext4 every input's truncate and write-back cost
// 20 times the parsing.
const std::filesystem::path& store_dir() {
    static const std::filesystem::path dir = [] {
        std::error_code ec;
        const std::filesystem::path base =
            std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                           : std::filesystem::temp_directory_path();
        // libFuzzer ends without running atexit handlers: the folders of processes that
        // are gone are removed here instead.
        constexpr std::string_view prefix = "sb-fuzz-header-store-";
        for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
            const std::string name = e.path().filename().string();
            if (name.starts_with(prefix) && !std::filesystem::exists("/proc/" + name.substr(prefix.size()), ec))
                std::filesystem::remove_all(e.path(), ec);
        }
        auto d = base / (std::string(prefix) + std::to_string(::getpid()));
        std::filesystem::remove_all(d);
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

// The daemon's replay check (node-client's p2p/kawpow_verifier.hpp): the final hash from
// the claimed mix. A stored header is never evaluated in full.
std::error_code cheap_only(const sb::ravencoin::kawpow_header& h, p2p::kawpow_check check_kind, sb::hash256& final_hash) {
    check(check_kind == p2p::kawpow_check::hash_only);
    final_hash = sb::pow::kawpow::final_hash_from_mix(h.header_hash(), h.mix_hash, h.nonce64);
    return {};
}

struct opened {
    sb::hash256 root{};
    std::int32_t root_height = 0;
    sb::hash256 tip{};
    std::int32_t tip_height = 0;
    std::size_t headers = 0;
    std::uintmax_t file_bytes = 0;
};

opened open_as_daemon(const sb::chain_params& chain, const std::filesystem::path& file) {
    p2p::header_chain c(chain);
    c.set_kawpow_verifier(cheap_only);
    std::string why;
    const bool anchored = p2p::anchor_header_chain(c, std::nullopt, store_dir(), why);
    if (anchored) {
        check(why.find("header store not used") == std::string::npos);
    } else {
        check(!c.open_store(store_dir()));
    }
    opened o{c.root().hash, c.root().height, c.tip().hash, c.tip().height, c.size(), std::filesystem::file_size(file)};
    // Prefix: tag, magic, root hash; an anchored one adds height, work, a KAWPOW flag
    // and the root header as on the wire.
    const std::uintmax_t prefix = anchored ? 4 + 4 + 32 + 4 + 32 + 1 + c.wire(c.root()).size() : 4 + 4 + 32;
    // Records are the size of the headers the chain mines now (120 bytes on KAWPOW chains).
    const std::uintmax_t record = chain.header_bytes_at(std::numeric_limits<std::uint32_t>::max());
    check(o.file_bytes >= prefix && (o.file_bytes - prefix) % record == 0);
    check((o.file_bytes - prefix) / record >= o.headers - 1);
    check(o.tip_height >= o.root_height && std::uintmax_t(o.tip_height - o.root_height) < o.headers);
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const sb::chain_params& chain =
        sb::params((data[0] & 1) != 0 ? sb::network::ravencoin_regtest : sb::network::bitcoin_regtest);
    const std::filesystem::path file = p2p::header_chain::store_path(store_dir(), chain);
    std::FILE* f = std::fopen(file.c_str(), "wb");
    check(f != nullptr);
    check(std::fwrite(data + 1, 1, size - 1, f) == size - 1);
    check(std::fclose(f) == 0);

    const opened first = open_as_daemon(chain, file);
    const opened again = open_as_daemon(chain, file);
    check(again.root == first.root && again.root_height == first.root_height && again.tip == first.tip &&
          again.tip_height == first.tip_height && again.headers == first.headers &&
          again.file_bytes == first.file_bytes);
    return 0;
}
