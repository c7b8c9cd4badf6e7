// The firmware family of a Stratum client, from the user agent it sent with
// mining.subscribe (reference/stratum.md §2.2 and §4 list the agents). The dashboard
// groups and labels miners by it; nothing else depends on it.
#pragma once

#include <string_view>

namespace sb::bridge::stats {

// A short stable name: "bitaxe" (ESP-Miner / AxeOS), "nerdminer", "cgminer", "bmminer",
// "braiins", "antminer", "whatsminer", "avalon", "cpuminer", "solobridge", "nicehash",
// "kawpowminer", "xmrig", "t-rex", "teamredminer", "nbminer", "srbminer", "unknown" (an agent
// we do not know) or "" (no agent sent). Case-insensitive; never throws.
std::string_view firmware_family(std::string_view user_agent) noexcept;

}  // namespace sb::bridge::stats
