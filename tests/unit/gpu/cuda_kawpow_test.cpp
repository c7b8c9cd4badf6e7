// sb_cuda_tests: the CUDA KAWPOW kernels (NVRTC-compiled dataset generation and per-period
// search) on every CUDA device against the CPU reference, and the NVRTC compile of both kernels
// for the architectures solobridge ships, which needs NVRTC but no device. The device cases
// exit 77 (CTest: skipped) when no CUDA device exists at run time.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstdio>
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cuda_api.hpp"
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
#include "kawpow_internal.hpp"
#include "sb/core/hex.hpp"
#include "vectors.hpp"

namespace sb::gpu::detail {
extern const char* const kawpow_search_cu_source;
extern const char* const ethash_dag_cu_source;
}  // namespace sb::gpu::detail

using namespace sb::test::gpu;
using sb::test::hash_hex;
using sb::test::nonce_hex;

#define SB_TEST_BACKEND "cuda"
#include "kawpow_backend_tests.inc"
#include "kawpow_worker_tests.inc"

TEST_CASE("cuda kawpow: the search and dataset kernels compile with NVRTC for sm_80, sm_86, sm_89 and sm_90") {
    namespace d = sb::gpu::detail;
    std::string why;
    const d::nvrtc_api* rtc = d::nvrtc(&why);
    if (!rtc) {
        std::fprintf(stderr, "SKIP: %s\n", why.c_str());
        std::fflush(stderr);
        std::_Exit(skip_exit_code);
    }
    int major = 0, minor = 0;
    rtc->version(&major, &minor);
    MESSAGE("NVRTC " << major << "." << minor << " from " << rtc->library);
    std::string search = d::kawpow_search_cu_source;
    const auto at = search.find(d::kawpow_period_marker);
    REQUIRE(at != std::string::npos);
    search.replace(at, std::string(d::kawpow_period_marker).size(), sb::gpu::progpow_period_source(406578, 23527404 / 2));
    for (const int arch : {80, 86, 89, 90}) {
        CAPTURE(arch);
        d::nvrtc_output out;
        std::string detail;
        CHECK_MESSAGE(d::nvrtc_compile(*rtc, search, "kawpow_search.cu", arch,
                                       {"-DSB_BLOCK_SIZE=256", "-DSB_MAX_CANDIDATES=64"}, out, &detail),
                      detail);
        CHECK(out.cubin);
        CHECK(!out.image.empty());
        CHECK_MESSAGE(d::nvrtc_compile(*rtc, d::ethash_dag_cu_source, "ethash_dag.cu", arch, {}, out, &detail), detail);
        CHECK(!out.image.empty());
    }
    // A broken source is a build error with the compiler's log, not a crash.
    d::nvrtc_output out;
    std::string detail;
    CHECK_FALSE(d::nvrtc_compile(*rtc, "extern \"C\" __global__ void k() { undeclared(); }", "broken.cu", 90, {}, out,
                                 &detail));
    CHECK(detail.find("undeclared") != std::string::npos);
}
