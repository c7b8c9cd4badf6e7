// sb_opencl_tests: the OpenCL KAWPOW kernels (dataset generation and per-period search) on
// every OpenCL device (PoCL in CI) against the CPU reference. Exits 77 (CTest: skipped) when no
// OpenCL device exists at run time.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kawpow_backend_test_support.hpp"
// The device worker on this backend (kawpow_worker_tests.inc).
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "dispatch/algorithm.hpp"
#include "dispatch/dispatcher.hpp"
#include "fake_node.hpp"  // io_runner
#include "mining/device_worker.hpp"
#include "raven_template.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/uint256.hpp"
#include "share_tally.hpp"
#include "sb/core/hex.hpp"
#include "vectors.hpp"

using namespace sb::test::gpu;
using sb::test::hash_hex;
using sb::test::nonce_hex;

#define SB_TEST_BACKEND "opencl"
#include "kawpow_backend_tests.inc"
#include "kawpow_worker_tests.inc"
