#!/usr/bin/env bash
# Measures the runner and `cargo test` on generated suites of 1k / 10k / 100k cases: wall time
# and peak RSS (GNU time). Results go to stdout as a Markdown table; see BENCHMARKS.md.
#
#   bash benches/measure.sh [SIZES...]      # default: 1000 10000 100000
#
# Needs GNU time (/usr/bin/time, Debian package `time`) and, for the nextest rows,
# cargo-nextest. Works in a scratch folder under target/, which it leaves for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=("${@:-1000 10000 100000}")
read -r -a sizes <<<"${sizes[*]}"
scratch="$root/target/measure"
mkdir -p "$scratch"
export CARGO_TARGET_DIR="$root/target"

cargo build -q --release --bin voice-harness --example gen_cases
bin="$root/target/release/voice-harness"
gen="$root/target/release/examples/gen_cases"

# `time -v` prints "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23" and
# "Maximum resident set size (kbytes): 1234".
measure() {
  local log="$scratch/time.log"
  /usr/bin/time -v -o "$log" "$@" >/dev/null 2>&1 || true
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}' | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(grep 'Maximum resident set size' "$log" | awk '{print int($NF / 1024)}')
  echo "$wall s | $rss MiB"
}

echo "| what | cases | wall | peak RSS |"
echo "| --- | ---: | ---: | ---: |"

# Startup: the runner on one case, best of 20.
one="$scratch/one"
rm -rf "$one" && mkdir -p "$one" && cp cases/billing_inquiry_v1.json "$one/"
best=999
for _ in $(seq 20); do
  start=$(date +%s%N); "$bin" run "$one" -q >/dev/null; end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 )); (( ms < best )) && best=$ms
done
echo "| runner startup (1 case, best of 20) | 1 | ${best} ms | |"

for n in "${sizes[@]}"; do
  suite="$scratch/suite_$n"
  [ -d "$suite" ] || "$gen" "$suite" "$n" 2>/dev/null
  echo "| runner \`run\` | $n | $(measure "$bin" run "$suite" -q) |"
  echo "| runner \`run --json\` | $n | $(measure "$bin" run "$suite" -q --json "$scratch/report_$n.json") |"
done

# Realistic length (issue #12): 10–20 turns a call, with the JSON report (about 11 KB a case).
for n in "${sizes[@]}"; do
  (( n < 10000 )) && continue
  suite="$scratch/long_$n"
  [ -d "$suite" ] || "$gen" --long "$suite" "$n" 2>/dev/null
  echo "| runner \`run\`, realistic length | $n | $(measure "$bin" run "$suite" -q) |"
  echo "| runner \`run --json\`, realistic length | $n | $(measure "$bin" run "$suite" -q --json "$scratch/long_report_$n.json") |"
  rm -f "$scratch/long_report_$n.json"
done

# cargo test: a scratch crate with the generated suite as its cases/, snapshots accepted once.
for n in "${sizes[@]}"; do
  (( n > 10000 )) && continue  # 100k snapshot files: see BENCHMARKS.md
  crate="$scratch/crate_$n"
  if [ ! -d "$crate/snapshots" ]; then
    rm -rf "$crate" && mkdir -p "$crate/tests"
    cp -r "$scratch/suite_$n" "$crate/cases"
    cat >"$crate/Cargo.toml" <<TOML
[package]
name = "measure_$n"
version = "0.0.0"
edition = "2024"
publish = false

[dev-dependencies]
voice-harness = { path = "$root", default-features = false, features = ["harness"] }

[[test]]
name = "cases"
harness = false

[workspace]
TOML
    echo 'voice_harness::harness!();' >"$crate/tests/cases.rs"
    # As the README recommends: spares insta a `cargo metadata` per test process (nextest).
    mkdir -p "$crate/.cargo"
    printf '[env]\nINSTA_WORKSPACE_ROOT = { value = "", relative = true }\n' >"$crate/.cargo/config.toml"
    (cd "$crate" && INSTA_UPDATE=always cargo test -q --release --test cases >/dev/null 2>&1 || true)
  fi
  (cd "$crate" && cargo test -q --release --test cases --no-run >/dev/null 2>&1)
  echo "| \`cargo test\` (built, snapshots present) | $n | $(cd "$crate" && CI=true measure cargo test -q --release --test cases) |"
  if command -v cargo-nextest >/dev/null; then
    echo "| \`cargo nextest run\` (built) | $n | $(cd "$crate" && CI=true measure cargo nextest run --release --test cases) |"
  fi
done
