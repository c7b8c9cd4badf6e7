#include "stats/firmware.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace sb::bridge::stats {
namespace {

bool contains_ci(std::string_view hay, std::string_view needle) noexcept {
    if (needle.size() > hay.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        std::size_t j = 0;
        while (j < needle.size() &&
               std::tolower(static_cast<unsigned char>(hay[i + j])) == static_cast<unsigned char>(needle[j]))
            ++j;
        if (j == needle.size()) return true;
    }
    return false;
}

// Needle (lower case) → family, first match wins: the more specific needles come first
// (Braiins' bmminer fork says "bosminer" or "Braiins"; Antminer stock firmware is a
// bmminer/cgminer descendant that names the model).
constexpr std::array<std::pair<std::string_view, std::string_view>, 22> families = {{
    {"bitaxe", "bitaxe"},
    {"esp-miner", "bitaxe"},
    {"axeos", "bitaxe"},
    {"nerdminer", "nerdminer"},
    {"han_solominer", "nerdminer"},
    {"braiins", "braiins"},
    {"bosminer", "braiins"},
    {"antminer", "antminer"},
    {"whatsminer", "whatsminer"},
    {"avalon", "avalon"},
    {"bmminer", "bmminer"},
    {"cgminer", "cgminer"},
    {"cpuminer", "cpuminer"},
    {"solobridge", "solobridge"},
    {"nicehash", "nicehash"},
    {"kawpowminer", "kawpowminer"},
    {"xmrig", "xmrig"},
    {"t-rex", "t-rex"},
    {"teamredminer", "teamredminer"},
    {"nbminer", "nbminer"},
    {"srbminer", "srbminer"},
    {"ethminer", "kawpowminer"},
}};

}  // namespace

std::string_view firmware_family(std::string_view user_agent) noexcept {
    if (user_agent.empty()) return "";
    for (const auto& [needle, family] : families)
        if (contains_ci(user_agent, needle)) return family;
    return "unknown";
}

}  // namespace sb::bridge::stats
