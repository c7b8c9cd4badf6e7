#!/usr/bin/env bash
# One call that checks and measures solobridge's GPU paths on a machine with an NVIDIA GPU:
# every CUDA test (SHA-256d and KAWPOW, the full epoch-0 KAWPOW dataset included), the OpenCL
# tests on the NVIDIA OpenCL driver when it is present, and the SHA-256d and KAWPOW benchmarks
# on CUDA and on that OpenCL device; then one summary. Sized for under 8 minutes on one H100.
#
#   scripts/gpu-check.sh                  build here with CUDA (needs the project's build
#                                         dependencies, scripts/install-deps.sh), then check
#   scripts/gpu-check.sh --prepare DIR    on a Debian build machine: build with CUDA and write a
#                                         self-contained DIR (stripped solobridge, the test
#                                         programs, the shared libraries a bare machine may lack,
#                                         the test vectors, this script; at most 60 MiB)
#   scripts/gpu-check.sh --prebuilt DIR   on the GPU machine: check from DIR (needs the NVIDIA
#                                         driver; NVRTC from the CUDA toolkit for KAWPOW on CUDA)
# Options (checking modes): --seconds S  each benchmark's measured run (default 8)
#                           --epoch E    the KAWPOW benchmark's epoch (default 590, mid-2026)
# Environment: SB_BUILD_DIR (build folder, default build-gpucheck), SB_GPU_CHECK_LOGS (where the
# logs go, default $TMPDIR or /tmp/solobridge-gpu-check-DATE; the summary names it).
# Exit status: 0 when no test failed and every benchmark ran and succeeded; 1 otherwise (also
# when no CUDA device was found: the CUDA benchmarks could not run).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
max_prebuilt_bytes=$((60 * 1024 * 1024))
seconds=8
epoch=590
mode=build
dir=

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "${BASH_SOURCE[0]}"; exit 2; }

while (($#)); do
  case $1 in
    --prepare) mode=prepare; dir=${2:-}; shift 2 || usage ;;
    --prebuilt) mode=prebuilt; dir=${2:-}; shift 2 || usage ;;
    --seconds) seconds=${2:-}; shift 2 || usage ;;
    --epoch) epoch=${2:-}; shift 2 || usage ;;
    -h|--help) usage ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage ;;
  esac
done
if [[ $mode != build && -z $dir ]]; then usage; fi

# ---- building ----------------------------------------------------------------------------

build_targets() {
  local build=$1
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  local generator=()
  if command -v ninja >/dev/null 2>&1 && [[ ! -f $build/CMakeCache.txt ]]; then generator=(-G Ninja); fi
  cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSB_CUDA=ON -DSB_OPENCL=AUTO -DSB_BUILD_TESTS=ON || return 1
  cmake --build "$build" --parallel "$(nproc)" --target solobridge sb_cuda_tests || return 1
  # The OpenCL tests exist when the OpenCL headers were found.
  if cmake --build "$build" --target help | grep -q 'sb_opencl_tests'; then
    cmake --build "$build" --parallel "$(nproc)" --target sb_opencl_tests || return 1
  fi
}

# The newest GLIBC_x.y symbol version the files need.
glibc_needed() {
  objdump -T "$@" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1
}

prepare() {
  local out=$1 build=${SB_BUILD_DIR:-$root/build-gpucheck}
  for tool in objdump strip ldd; do
    command -v $tool >/dev/null 2>&1 || { echo "gpu-check: --prepare needs $tool (binutils, libc-bin)" >&2; return 1; }
  done
  build_targets "$build" || { echo "gpu-check: the build failed" >&2; return 1; }
  rm -rf "$out" && mkdir -p "$out/bin" "$out/lib" "$out/vectors" || return 1
  local b
  for b in "$build/solobridge" "$build/tests/sb_cuda_tests" "$build/tests/sb_opencl_tests"; do
    [[ -x $b ]] || { echo "gpu-check: $b was not built (is CUDA on? OpenCL headers?)" >&2; return 1; }
    strip --strip-unneeded -o "$out/bin/$(basename "$b")" "$b" || return 1
  done
  # Every shared library the programs load except glibc's own, which any Linux has (its
  # version is checked at run time against MANIFEST), and the ICD loader they open at run
  # time (OpenCL on a machine without Debian's ocl-icd).
  local lib
  while read -r lib; do
    cp -L "$lib" "$out/lib/" || return 1
  done < <(ldd "$out"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
           grep -Ev '/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*)\.so' | sort -u)
  local icd
  icd=$(ldconfig -p | awk '/libOpenCL\.so\.1 .*x86-64/ {print $NF; exit}')
  if [[ -n $icd ]]; then cp -L "$icd" "$out/lib/"; else echo "gpu-check: no libOpenCL.so.1 here to ship" >&2; fi
  strip --strip-unneeded "$out"/lib/* 2>/dev/null
  # This machine's glibc, for a GPU machine whose own is older than the libraries above need
  # (Debian 12's libstdc++ wants 2.36; Ubuntu 22.04 has 2.35): the programs then run through
  # this loader. libpthread, libdl and librt are the stubs that libraries built for older
  # glibc still name.
  mkdir -p "$out/glibc" || return 1
  local name path
  for name in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1; do
    path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ {print $NF; exit}')
    [[ -n $path ]] || { echo "gpu-check: $name not found to ship" >&2; return 1; }
    cp -L "$path" "$out/glibc/$name" || return 1
  done
  chmod +x "$out/glibc/ld-linux-x86-64.so.2"
  cp "$root"/tests/vectors/*.json "$out/vectors/" || return 1
  cp "${BASH_SOURCE[0]}" "$out/gpu-check.sh" && chmod +x "$out/gpu-check.sh"
  {
    echo "solobridge gpu-check bundle"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown}")"
    echo "glibc_needed: $(glibc_needed "$out"/bin/* "$out"/lib/*)"
    echo "glibc_shipped: $(ldd --version | awk 'NR == 1 {print $NF}')"
    echo "cuda: $(grep -m1 'CMAKE_CUDA_COMPILER_VERSION' "$build/CMakeFiles/"*/CMakeCUDACompiler.cmake 2>/dev/null | grep -o '"[^"]*"' | tr -d '"')"
    echo "files:"
    (cd "$out" && find . -type f -printf '  %p %s\n' | sort)
  } > "$out/MANIFEST"
  local bytes
  bytes=$(du -sb "$out" | cut -f1)
  echo "gpu-check: wrote $out: $((bytes / 1024 / 1024)) MiB ($bytes bytes), limit $((max_prebuilt_bytes / 1024 / 1024)) MiB"
  cat "$out/MANIFEST"
  if ((bytes > max_prebuilt_bytes)); then
    echo "gpu-check: $out is larger than $((max_prebuilt_bytes / 1024 / 1024)) MiB" >&2
    return 1
  fi
  echo "gpu-check: copy $out to the GPU machine and run: $(basename "$out")/gpu-check.sh --prebuilt $(basename "$out")"
}

# ---- checking ----------------------------------------------------------------------------

logs=${SB_GPU_CHECK_LOGS:-${TMPDIR:-/tmp}/solobridge-gpu-check-$(date +%Y%m%d-%H%M%S)}
summary=()
failures=0

note() { summary+=("$1"); }

# step NAME TIMEOUT_S CMD...: runs CMD with its output in $logs/NAME.log (and on screen);
# sets step_rc.
step() {
  local name=$1 limit=$2
  shift 2
  echo "==== $name: $*"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$logs/$name.log"
  step_rc=${PIPESTATUS[0]}
  if ((step_rc == 124 || step_rc == 137)); then echo "==== $name: timed out after $limit s"; fi
}

# The doctest totals line of a log, shortened: "12 passed, 0 failed, 3 skipped".
test_totals() {
  grep -m1 'test cases:' "$1" | sed -E 's/.*test cases: *([0-9]+) \| *([0-9]+) passed \| *([0-9]+) failed \| *([0-9]+) skipped.*/\2 passed, \3 failed, \4 skipped (of \1)/'
}

run_tests() {
  local name=$1 program=$2
  step "$name" 300 env SB_TEST_KAWPOW_FULL_DAG=1 "$program"
  case $step_rc in
    0) note "$name: PASS ($(test_totals "$logs/$name.log"))" ;;
    77) note "$name: SKIPPED (no device: $(grep -m1 '^SKIP' "$logs/$name.log" | cut -c1-160))" ;;
    *) note "$name: FAIL (exit $step_rc; $(test_totals "$logs/$name.log"); see $logs/$name.log)"; failures=$((failures + 1)) ;;
  esac
}

run_bench() {
  local name=$1
  shift
  step "$name" 240 "$@"
  if ((step_rc != 0)); then
    note "$name: FAIL (exit $step_rc; see $logs/$name.log)"
    failures=$((failures + 1))
    return
  fi
  local line
  while read -r line; do note "$name: $line"; done < <(grep -E '^(sha256d|kawpow-dag|kawpow) ' "$logs/$name.log")
}

check() {
  local bin=$1
  mkdir -p "$logs" || exit 1
  # NVRTC lives with nvcc; the CUDA backend looks in $CUDA_HOME/lib64 among other places.
  if [[ -z ${CUDA_HOME:-} ]] && command -v nvcc >/dev/null 2>&1; then
    CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
    export CUDA_HOME
  fi
  # OpenCL: the NVIDIA driver only (not PoCL or another CPU platform a build machine may have).
  local vendors=$logs/opencl-vendors nvidia_icd=
  mkdir -p "$vendors"
  if [[ -f /etc/OpenCL/vendors/nvidia.icd ]]; then
    cp /etc/OpenCL/vendors/nvidia.icd "$vendors/"
    nvidia_icd=/etc/OpenCL/vendors/nvidia.icd
  elif ldconfig -p 2>/dev/null | grep -q 'libnvidia-opencl\.so\.1'; then
    echo libnvidia-opencl.so.1 > "$vendors/nvidia.icd"
    nvidia_icd="$vendors/nvidia.icd (written: the driver's libnvidia-opencl.so.1 without an ICD file)"
  fi
  export OCL_ICD_VENDORS=$vendors

  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm); $(getconf GNU_LIBC_VERSION 2>/dev/null)"
    if command -v nvidia-smi >/dev/null 2>&1; then
      nvidia-smi --query-gpu=index,name,memory.total,clocks.max.sm,clocks.max.mem,driver_version,pci.bus_id \
        --format=csv 2>&1
    else
      echo "nvidia-smi: not found"
    fi
    command -v nvcc >/dev/null 2>&1 && nvcc --version | tail -2
    echo "CUDA_HOME=${CUDA_HOME:-unset}; OpenCL ICD: ${nvidia_icd:-none found (OpenCL checks skipped)}"
  } 2>&1 | tee "$logs/environment.log"
  note "machine: $(grep -m1 -E '^0, ' "$logs/environment.log" || echo 'no nvidia-smi')"

  step devices 60 "$bin/solobridge" devices
  local cuda_dev opencl_dev
  cuda_dev=$(awk '$1 ~ /^cuda:/ {print $1; exit}' "$logs/devices.log")
  opencl_dev=$(awk '$1 ~ /^opencl:/ {print $1; exit}' "$logs/devices.log")
  [[ -n $nvidia_icd ]] || opencl_dev=

  run_tests cuda-tests "$bin/sb_cuda_tests"
  if [[ -z $opencl_dev ]]; then
    note "opencl-tests: not run (no NVIDIA OpenCL device)"
  elif [[ ! -x $bin/sb_opencl_tests ]]; then
    note "opencl-tests: not run (built without OpenCL: no OpenCL headers)"
  else
    run_tests opencl-tests "$bin/sb_opencl_tests"
  fi

  if [[ -n $cuda_dev ]]; then
    run_bench "bench-sha256d-$cuda_dev" "$bin/solobridge" bench sha256d --device "$cuda_dev" --seconds "$seconds"
    run_bench "bench-kawpow-$cuda_dev" "$bin/solobridge" bench kawpow --device "$cuda_dev" --epoch "$epoch" --seconds "$seconds"
  else
    note "CUDA benchmarks: not run (no CUDA device; see $logs/devices.log)"
    failures=$((failures + 1))
  fi
  if [[ -n $opencl_dev ]]; then
    run_bench "bench-sha256d-$opencl_dev" "$bin/solobridge" bench sha256d --device "$opencl_dev" --seconds "$seconds"
    run_bench "bench-kawpow-$opencl_dev" "$bin/solobridge" bench kawpow --device "$opencl_dev" --epoch "$epoch" --seconds "$seconds"
  fi

  echo
  echo "================================ gpu-check summary ================================"
  printf '%s\n' "${summary[@]}" | tee "$logs/summary.txt"
  echo "logs: $logs"
  ((failures == 0))
}

started=$SECONDS
case $mode in
  prepare)
    prepare "$dir"
    exit $?
    ;;
  prebuilt)
    [[ -x $dir/bin/solobridge ]] || { echo "gpu-check: $dir/bin/solobridge not found (made by --prepare?)" >&2; exit 1; }
    dir=$(cd "$dir" && pwd)
    needed=$(awk '/^glibc_needed:/ {print $2}' "$dir/MANIFEST" 2>/dev/null)
    have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
    mkdir -p "$logs/bin" || exit 1
    # Each program through a wrapper: with the bundle's libraries first, and through the
    # bundle's own glibc loader when this machine's glibc is older than they need.
    if [[ -n $needed && -n $have && $(printf '%s\n%s\n' "$needed" "$have" | sort -V | head -1) == "$needed" ]]; then
      launch="export LD_LIBRARY_PATH=\"$dir/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\"; exec"
      note "runtime: this machine's glibc $have (the bundle needs $needed)"
    else
      launch="exec \"$dir/glibc/ld-linux-x86-64.so.2\" --library-path \"$dir/lib:$dir/glibc\""
      note "runtime: the bundle's glibc loader (this machine has glibc ${have:-unknown}; the bundle needs $needed)"
    fi
    for b in "$dir"/bin/*; do
      printf '#!/bin/sh\n%s "%s" "$@"\n' "$launch" "$b" > "$logs/bin/$(basename "$b")"
      chmod +x "$logs/bin/$(basename "$b")"
    done
    export SB_TEST_VECTORS_DIR=$dir/vectors
    check "$logs/bin"
    rc=$?
    ;;
  build)
    build=${SB_BUILD_DIR:-$root/build-gpucheck}
    build_targets "$build" || { echo "gpu-check: the build failed" >&2; exit 1; }
    note "build: $build ($((SECONDS - started)) s)"
    mkdir -p "$build/gpu-check-bin"
    for b in solobridge tests/sb_cuda_tests tests/sb_opencl_tests; do
      if [[ -x $build/$b ]]; then ln -sf "$build/$b" "$build/gpu-check-bin/"; fi
    done
    check "$build/gpu-check-bin"
    rc=$?
    ;;
esac
echo "gpu-check: $((SECONDS - started)) s in all"
exit $rc
