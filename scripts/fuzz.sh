#!/usr/bin/env bash
# A libFuzzer campaign over every fuzz target (tests/fuzz), under AddressSanitizer and
# UndefinedBehaviorSanitizer with the project's ignore list (cmake/sanitizer-ignorelist.txt).
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# SECONDS is each target's own time (libFuzzer -max_total_time): a campaign over all N
# targets takes about N x SECONDS plus the build. Without TARGETs, every target that
# tests/fuzz/CMakeLists.txt declares runs, in that order.
#
# Builds with clang into build-fuzz/ (SB_FUZZ=ON, SB_SANITIZE=address,undefined, no GPU
# backends). Each target starts from its committed seeds, tests/fuzz/corpus/<target>, and
# from the scratch corpus of earlier campaigns, build-fuzz/campaign/corpus/<target>, where
# libFuzzer also writes the new inputs it finds (never into the committed seeds; see
# docs/FUZZING.md on adding a minimized input to them). Crash, leak, timeout and
# out-of-memory reproducers go to build-fuzz/campaign/artifacts/<target>/.
#
# Prints per target: executions, executions per second, coverage (libFuzzer's cov: edges
# and ft: features at the end), corpus size and crashes; the same table is written to
# build-fuzz/campaign/summary.tsv. Exits 1 when any target crashed (after running the
# others), naming each reproducer; 2 on a usage or build error.
#
# Environment: SB_FUZZ_PARALLEL (default 1) targets run at once (the campaign then
# takes about N x SECONDS / SB_FUZZ_PARALLEL); SB_FUZZ_NICE (default 19) niceness of the
# build and the runs; SB_FUZZ_BUILD_DIR (default build-fuzz); SB_FUZZ_ARGS extra
# libFuzzer flags for every target (e.g. "-max_len=4096").
#
# Needs clang and its sanitizer and libFuzzer runtime: Debian 12's clang and
# libclang-rt-14-dev. When they are missing the script installs them with apt-get (as
# root, or through sudo); scripts/install-deps.sh does not, as CI does not fuzz.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift

build=${SB_FUZZ_BUILD_DIR:-build-fuzz}
nice_level=${SB_FUZZ_NICE:-19}
campaign=$build/campaign

all_targets=$(sed -n 's/^sb_add_fuzz_target(\([a-z0-9_]*\).*/\1/p' tests/fuzz/CMakeLists.txt)
if [[ $# -gt 0 ]]; then
  targets=("$@")
  for t in "${targets[@]}"; do
    grep -qx "$t" <<<"$all_targets" || { echo "fuzz: no target '$t' (have: ${all_targets//$'\n'/ })" >&2; exit 2; }
  done
else
  mapfile -t targets <<<"$all_targets"
fi

# --- the toolchain -------------------------------------------------------------------
have_toolchain() {
  command -v clang++ >/dev/null 2>&1 &&
    [[ -f $(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-$(uname -m).a ]]
}
if ! have_toolchain; then
  echo "fuzz: installing clang and libclang-rt-14-dev (the libFuzzer and sanitizer runtimes)"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "fuzz: need root or sudo to install clang libclang-rt-14-dev" >&2; exit 2; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
  have_toolchain || { echo "fuzz: clang's libFuzzer runtime is still missing" >&2; exit 2; }
fi

# --- the build -------------------------------------------------------------------------
if [[ ! -f $build/CMakeCache.txt ]]; then
  launcher=()
  command -v ccache >/dev/null 2>&1 &&
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
    -DSB_FUZZ=ON -DSB_SANITIZE=address,undefined -DSB_CUDA=OFF -DSB_OPENCL=OFF >/dev/null ||
    { echo "fuzz: configuring $build failed" >&2; exit 2; }
fi
grep -q '^SB_FUZZ:BOOL=ON' "$build/CMakeCache.txt" ||
  { echo "fuzz: $build is not a SB_FUZZ=ON build; remove it or set SB_FUZZ_BUILD_DIR" >&2; exit 2; }
echo "fuzz: building ${#targets[@]} targets in $build"
nice -n "$nice_level" cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/#/sb_fuzz_}" ||
  { echo "fuzz: build failed" >&2; exit 2; }

# --- the campaign ----------------------------------------------------------------------
mkdir -p "$campaign/logs" "$campaign/rows"
summary=$campaign/summary.tsv
# shellcheck disable=SC2206  # word splitting of the extra flags is intended
extra=(${SB_FUZZ_ARGS:-})
# A value of libFuzzer's -print_final_stats block in a log.
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

# Runs one target; leaves its table row in rows/<t>.tsv and its reproducers, one a line,
# in rows/<t>.crashes.
run_target() {
  local t=$1
  local corpus=$campaign/corpus/$t artifacts=$campaign/artifacts/$t log=$campaign/logs/$t.log
  local marker=$campaign/logs/.$t.start
  mkdir -p "$corpus" "$artifacts"
  touch "$marker"
  local rc=0
  nice -n "$nice_level" "$build/tests/fuzz/sb_fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=25 -artifact_prefix="$artifacts/" "${extra[@]}" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  local execs rate last cov ft units found
  execs=$(final_stat number_of_executed_units "$log")
  rate=$(final_stat average_exec_per_sec "$log")
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(find "$corpus" -type f | wc -l)
  # Reproducers of this run only: an older one stays in its folder until removed.
  found=$(find "$artifacts" -type f -newer "$marker" | sort)
  rm -f "$marker"
  if [[ $rc -ne 0 && -z $found ]]; then found="(exit status $rc without a reproducer; see $log)"; fi
  printf '%s\n' "$found" | sed '/^$/d' >"$campaign/rows/$t.crashes"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-0}" "${rate:-0}" "${cov:-?}" "${ft:-?}" \
    "$units" "$(wc -l <"$campaign/rows/$t.crashes")" >"$campaign/rows/$t.tsv"
  echo "fuzz: $t done: ${execs:-0} executions, ${rate:-0}/s, cov ${cov:-?} ft ${ft:-?}, $(wc -l <"$campaign/rows/$t.crashes") crashes"
}

parallel=${SB_FUZZ_PARALLEL:-1}
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $parallel at a time (logs in $campaign/logs)"
running=0
for t in "${targets[@]}"; do
  rm -f "$campaign/rows/$t.tsv" "$campaign/rows/$t.crashes"
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  echo "fuzz: $t for ${seconds}s"
  run_target "$t" &
  running=$((running + 1))
done
wait

printf 'target\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus\tcrashes\n' >"$summary"
crashed=()
for t in "${targets[@]}"; do
  if [[ -f $campaign/rows/$t.tsv ]]; then
    cat "$campaign/rows/$t.tsv" >>"$summary"
    while IFS= read -r f; do crashed+=("$t: $f"); done <"$campaign/rows/$t.crashes"
  else
    printf '%s\t%s\t-\t-\t-\t-\t-\tnot run\n' "$t" "$seconds" >>"$summary"
    crashed+=("$t: the run left no result (see $campaign/logs/$t.log)")
  fi
done

echo
column -t -s $'\t' "$summary"
echo "fuzz: scratch corpora in $campaign/corpus, logs in $campaign/logs, table in $summary"
if [[ ${#crashed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED, reproducers (run the target binary on one to see the report):" >&2
  printf '  %s\n' "${crashed[@]}" >&2
  exit 1
fi
echo "fuzz: no crashes"
