// One outbound P2P v1 connection to the coin's node: handshake, headers-first sync into
// a header_chain, new-tip detection (headers, inv, cmpctblock), ping, and relay of a
// found block by announcement (inv, plus headers for peers that sent sendheaders) and
// getdata. Asio lives in src/p2p_peer.cpp only.
//
// Threading: every handler and callback runs on the peer's strand. The header_chain is
// touched only from there, so the caller must not use it concurrently (run the io
// context on one thread, or read the chain from a callback). start(), close() and
// send_block() may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/p2p/addr.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/limits.hpp"

namespace sb::node::p2p {

// A found block as the connections relay it: its bytes, shared by all of them (never
// copied per peer), and the messages that answer a getdata for it, each built once for
// all of them: on first use, or before the getdata arrives (peer_manager::relay builds the
// forms its peers are likely to ask for right after announcing the block), so that the
// answer is one write of bytes that are ready. Thread-safe.
class relayed_block {
public:
    enum class form {
        as_built,    // `block` as serialized: witnesses included; a KAWPOW block as built
        no_witness,  // `block` without witnesses (a getdata MSG_BLOCK without the witness flag)
        compact,     // `cmpctblock` with every transaction prefilled (BIP152): nothing to rebuild
    };
    // A message ready to write: its header (with the payload's checksum) and its payload,
    // written from where they are.
    struct message {
        std::array<std::uint8_t, frame_header_bytes> header{};
        std::shared_ptr<const bytes> payload;
        std::string_view command;  // cmd::block or cmd::cmpctblock
    };

    relayed_block(const chain_params& chain, std::shared_ptr<const bytes> raw);
    relayed_block(const chain_params& chain, bytes raw);
    relayed_block(const relayed_block&) = delete;
    relayed_block& operator=(const relayed_block&) = delete;

    const bytes& raw() const noexcept { return *raw_; }
    // When it was made (relay): the start of the block's P2P timeline.
    std::chrono::steady_clock::time_point made_at() const noexcept { return made_at_; }
    // The message of form f, built on the first call (concurrent callers wait for it).
    // Null for compact where the chain has no compact blocks, for a KAWPOW block, or for a
    // block whose transactions do not parse. no_witness of a block that does not parse is
    // the block as built (what a peer gets today for MSG_BLOCK).
    std::shared_ptr<const message> get(form f);

private:
    std::shared_ptr<const message> build(form f) const;

    const chain_params& chain_;
    std::shared_ptr<const bytes> raw_;
    std::chrono::steady_clock::time_point made_at_;
    std::uint64_t nonce_;  // of the cmpctblock (no short ids: every transaction is prefilled)
    std::mutex mu_;
    std::array<std::optional<std::shared_ptr<const message>>, 3> built_;  // by form; nullopt: not yet
};

// A relayed block's message written to a peer (the found-block timeline).
struct block_sent {
    hash256 hash{};            // internal order
    std::string_view command;  // cmd::block or cmd::cmpctblock
    std::chrono::steady_clock::time_point made_at;      // relayed_block::made_at
    std::chrono::steady_clock::time_point first_write;  // its first bytes were handed to the kernel
    std::chrono::steady_clock::time_point last_write;   // all of it was
    std::size_t bytes = 0;                              // header and payload
};

struct peer_settings {
    std::string address = "127.0.0.1";  // numeric IPv4 or IPv6 (the manager resolves names)
    std::uint16_t port = 0;
    std::chrono::milliseconds connect_timeout = p2p::connect_timeout;
    std::chrono::milliseconds handshake_timeout = p2p::handshake_timeout;
    std::chrono::milliseconds ping_interval = p2p::ping_interval;
    std::chrono::milliseconds ping_timeout = p2p::ping_timeout;
    // Send sendcmpct(0, 2) after the handshake where the chain has compact blocks. Peers
    // told so may fetch a relayed block as cmpctblock (bcoin does); we serve it with
    // every transaction prefilled. Off: they fetch it as block.
    bool compact_blocks = true;
    // Send getaddr once after the handshake and report addr/addrv2 through on_addr.
    bool request_addresses = true;
    // Unix seconds for the header future-time rule; empty: the system clock. Tests of
    // chains dated in the future (Ravencoin regtest KAWPOW, 2083) set it.
    std::function<std::int64_t()> clock;
    // Runs a task on a worker pool. Set: the KAWPOW headers of a headers message or a
    // cmpctblock are light-verified there (milliseconds per header, seconds for a new
    // epoch) while the strand goes on and this peer's socket is not read; empty: verified
    // on the strand. Our own relayed KAWPOW block is not evaluated again (send_block).
    // peer_manager::relay builds a found block's messages there too.
    std::function<void(std::function<void()>)> offload;
    // Ask this peer, each time it fetched a block given to send_block (getdata served),
    // whether its active chain now holds that block: getheaders whose locator is the
    // block's parent alone and whose hash_stop is the block, which Core and bcoin answer
    // with the headers after that parent on their active chain, up to the block: exactly
    // the block's header once they connected it, nothing while they have not (or refused
    // it), another header at its height where they hold a competitor. Sent behind the
    // block and repeated with back-off (relay_probe_wait, doubling, relay_probe_tries in
    // all; limits.hpp) until the block's header comes back, which on_relayed_held reports.
    // Answers go through the same header validation as any headers message. The manager
    // sets it for configured peers only: echoing a header we announced costs a peer
    // nothing, so only the user's own peers are believed.
    bool confirm_relayed = false;
    std::chrono::milliseconds relay_probe_wait = p2p::relay_probe_first_wait;
    int relay_probe_tries = p2p::relay_probe_tries;
};

// What the peer told us in its version message, and what we measured.
struct peer_info {
    std::int32_t version = 0;
    std::uint64_t services = 0;
    std::string user_agent;
    std::int32_t start_height = 0;
    bool wants_headers = false;  // it sent sendheaders
    std::optional<std::chrono::microseconds> latency;  // last ping round trip
    // Highest header height the peer is known to have: start_height, raised by the
    // headers it sent that we hold.
    std::int32_t best_height = 0;
    std::chrono::system_clock::time_point connected_since{};  // handshake completion
    int misbehaviour = 0;  // points collected (low-work headers); dropped at the threshold
};

struct peer_callbacks {
    // The handshake completed (both verack seen).
    std::function<void(const peer_info&)> on_ready;
    // The best header changed; called right after the headers were validated.
    std::function<void(const tip_change&)> on_new_tip;
    // A peer fetched a block given to send_block (hash in internal order): its answer is
    // queued.
    std::function<void(const hash256&)> on_block_served;
    // That answer has been written (it is in the kernel's hands).
    std::function<void(const block_sent&)> on_block_sent;
    // With peer_settings::confirm_relayed: a headers message (or cmpctblock) from this peer
    // passed validation and its last header is a block it fetched whose probe is open:
    // the peer's active chain holds that block. Once per probe; a header that comes back
    // with no probe open for it (unsolicited, repeated, or after the probe ended) is
    // only added to the chain as usual.
    std::function<void(const hash256&)> on_relayed_held;
    // Addresses from an addr/addrv2 message (IPv4/IPv6 only, at most max_addr_entries).
    std::function<void(std::vector<peer_address>)> on_addr;
    // The connection ended: the reason code (p2p_errc; is_punishable tells
    // misbehaviour) and a human-readable line for the log. Called once.
    std::function<void(std::error_code, const std::string&)> on_close;
};

class peer {
public:
    peer(boost::asio::any_io_executor ex, header_chain& headers, peer_settings settings, peer_callbacks callbacks);
    // Closes the connection silently (no further callbacks). Destroy it on the thread
    // that runs the io context, or while that context is not running.
    ~peer();
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;

    // Connects, handshakes and syncs headers.
    void start();
    // Closes the connection (on_close with p2p_errc::closed unless already closed).
    void close();
    // Relays a found block (serialized, witness form when it has witnesses; connections
    // share it and the messages built from it): its header joins the header chain, the peer gets inv(MSG_BLOCK) (and headers when it asked
    // sendheaders), and the block is served on getdata while it is among the newest
    // max_relay_bytes relayed on this connection (limits.hpp; a block relayed again is
    // announced again and kept once). Never pushed unrequested: bcoin
    // disconnects on unsolicited blocks. The header is read in the chain's layout (120 bytes
    // for a Ravencoin KAWPOW block, announced by its final hash); a block whose header
    // cannot be read or hashed (short, X16R, no KAWPOW verifier) is ignored. A KAWPOW
    // block must come from our own verified work: its mix is trusted (every other header
    // check still runs).
    void send_block(std::shared_ptr<relayed_block> block);

    // Snapshots, for the io thread.
    bool ready() const noexcept;
    peer_info info() const;
    // The form this peer most likely fetches a relayed block in: the one it asked for the
    // last time; before that, compact when it was told sendcmpct, else as_built.
    relayed_block::form likely_fetch() const noexcept;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::node::p2p
