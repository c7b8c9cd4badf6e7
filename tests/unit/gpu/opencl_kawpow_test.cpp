// sb_opencl_tests: the OpenCL KAWPOW kernels (dataset generation and per-period search) on
// every OpenCL device (PoCL in CI) against the CPU reference. Exits 77 (CTest: skipped) when no
// OpenCL device exists at run time.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kawpow_backend_test_support.hpp"
#include "sb/core/hex.hpp"
#include "vectors.hpp"

using namespace sb::test::gpu;
using sb::test::hash_hex;
using sb::test::nonce_hex;

#define SB_TEST_BACKEND "opencl"
#include "kawpow_backend_tests.inc"
