// Members that exist only so tests can observe or steer a part (counters of internal
// state, knobs, actions nothing in the daemon takes) are private: the class befriends
// test::access<itself>, which the tests specialize (tests/support/node_access.hpp,
// tests/support/bridge_access.hpp) to reach them. Production code never names it.
#pragma once

namespace sb::test {

template <class T>
struct access;

}  // namespace sb::test
