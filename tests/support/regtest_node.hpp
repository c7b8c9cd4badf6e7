// A real bcoin regtest node for integration tests: started on free loopback ports in a
// private directory, killed when the test process dies (PR_SET_PDEATHSIG), stopped by
// the destructor. Installed by scripts/regtest-node.sh (scripts/install-deps.sh).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

#include <rapidjson/document.h>

#include "child_process.hpp"

namespace sb::test {

class regtest_node {
public:
    // Starts the node and waits until its log says it listens on its RPC and P2P ports
    // (on fresh ports again, up to 3 launches, when bcoin could not bind them). Fails the
    // current test (REQUIRE) when bcoin is not installed or does not come up.
    regtest_node();
    ~regtest_node();
    regtest_node(const regtest_node&) = delete;
    regtest_node& operator=(const regtest_node&) = delete;

    std::uint16_t rpc_port() const noexcept { return rpc_port_; }
    std::uint16_t p2p_port() const noexcept { return p2p_port_; }
    std::uint16_t wallet_port() const noexcept { return wallet_port_; }
    const std::string& api_key() const noexcept { return api_key_; }
    std::string rpc_url() const { return "http://127.0.0.1:" + std::to_string(rpc_port_); }
    const std::string& dir() const noexcept { return dir_; }

    // Blocking JSON-RPC call for test set-up (not the code under test). Returns the
    // `result` member; fails the test on transport errors or a JSON-RPC error.
    rapidjson::Document rpc(const std::string& method, const std::string& params_json = "[]");
    // Same against the wallet RPC port.
    rapidjson::Document wallet_rpc(const std::string& method, const std::string& params_json = "[]");
    // Raw reply body of a call (result and error members as the node sent them).
    std::string rpc_raw(std::uint16_t port, const std::string& method, const std::string& params_json);

    // getbestblockhash: the tip's hash as displayed (hex, reversed byte order).
    std::string best_hash();
    // An address of the node's own wallet ("default" account).
    std::string wallet_address();
    // Mines blocks to address with generatetoaddress; fails the test unless all were mined.
    void generate(int blocks, const std::string& address);

    // Kills the node at once (fault tests); the destructor then does nothing.
    void kill_now();
    // Kills the node and starts a fresh one on the same ports with the same key. The
    // chain is in memory: the new node starts again from genesis.
    void restart();
    // Last lines of the node's log, for failure messages.
    std::string log_tail(std::size_t lines = 30) const;

private:
    // Starts bcoin on the ports chosen and waits for it. false: it exited because a port
    // was taken (only when may_retry; otherwise that fails the test).
    bool launch(bool may_retry);
    std::unique_ptr<child_process> process_;
    std::uint16_t rpc_port_ = 0;
    std::uint16_t p2p_port_ = 0;
    std::uint16_t wallet_port_ = 0;
    std::string api_key_;
    std::string dir_;
};

// An unused TCP port on 127.0.0.1 below the kernel's ephemeral range (bound and
// released; the caller binds it soon after), so that no port-0 listener or outgoing
// connection is given it meanwhile.
std::uint16_t free_loopback_port();

}  // namespace sb::test
