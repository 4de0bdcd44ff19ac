#!/usr/bin/env bash
# A short fuzz run for CI (issue #30): every target for FUZZ_SECONDS seconds (default 20)
# on its seed corpus (fuzz/seeds.sh), one target at a time. A crash, a hang (an input that
# takes over 10 s) or a broken invariant fails the script; libFuzzer leaves the input in
# fuzz/artifacts/<target>/, and fuzz/README.md says how to minimize and keep it.
#
# Only a stable toolchain is here: RUSTC_BOOTSTRAP=1 lets it take the nightly flags
# cargo-fuzz passes (-Zsanitizer=address). With a nightly toolchain it is not needed.
#
# Targets (fuzz/Cargo.toml, listed by `cargo fuzz list`): load validate protocol merge numbers
# tool_arguments sse retell import. sse and retell talk to servers on 127.0.0.1.
#
# Usage: fuzz/ci.sh [TARGET...]   (default: every target; FUZZ_SECONDS=N to change the time)
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-20}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# The runner writes the merge target's seed reports.
(cd .. && cargo build --quiet --bin voice-harness)
./seeds.sh

cargo fuzz build -O
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

for target in "${targets[@]}"; do
    echo "fuzz/ci.sh: $target for ${seconds}s"
    # -timeout: an input slower than 10 s is a hang; -rss_limit_mb: a leak or a blow-up.
    # sse and retell talk to a server thread of their own on loopback, which lives until
    # the process exits: LeakSanitizer reports its thread-local bookkeeping (32 bytes from
    # __cxa_thread_atexit_impl) as a leak. Not a leak of ours, so they run without it.
    extra=()
    case "$target" in sse | retell) extra=(-detect_leaks=0) ;; esac
    cargo fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${extra[@]}" 2>"artifacts-$target.log" || {
        tail -n 60 "artifacts-$target.log" >&2
        echo "fuzz/ci.sh: $target FAILED; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    }
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "artifacts-$target.log" || true
    rm -f "artifacts-$target.log"
done
echo "fuzz/ci.sh: ${#targets[@]} targets, ${seconds}s each: no crash, hang or invariant failure"
