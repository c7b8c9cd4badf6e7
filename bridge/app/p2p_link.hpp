// The daemon's P2P link to the user's node: a header chain kept in the data directory,
// one peer reconnected with back-off, new tips passed on at once, found blocks relayed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"

namespace sb::app {

struct p2p_link_options {
    std::string address;  // numeric IP of the node's P2P port
    std::uint16_t port = 0;
    std::string data_dir;  // headers-<chain>.dat lives here
    std::function<void()> on_new_tip;  // after a header that moved the best tip validated
    std::function<void(std::string_view)> log;
};

class p2p_link {
public:
    // strand: all P2P work runs there.
    p2p_link(boost::asio::any_io_executor strand, const chain_params& chain, p2p_link_options options);
    ~p2p_link();
    p2p_link(const p2p_link&) = delete;
    p2p_link& operator=(const p2p_link&) = delete;

    void start();
    // Announces a found block to the peer (served when it asks). Thread-safe.
    void relay(bytes block);
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// False for chains whose headers the P2P client cannot validate yet (Ravencoin KAWPOW).
bool p2p_supported(const chain_params& chain) noexcept;

}  // namespace sb::app
