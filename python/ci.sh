#!/usr/bin/env bash
# The Python package's CI (issue #26): build it from this checkout in a fresh venv, as a user's
# `pip install .` would (maturin fetched by pip's build isolation, the runner compiled by
# cargo), install pytest and pytest-xdist, and run python/tests (which run the plugin under
# -n 2 too). A missing install step, a test that fails, or no test at all (pytest's exit 5)
# fails.
#
#   bash python/ci.sh
#
# CARGO_TARGET_DIR (default: this checkout's target/) is shared with cargo, so after
# `cargo test` the runner's release build is the only new compile. PYTHON picks the
# interpreter (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
python="${PYTHON:-python3}"

venv=$(mktemp -d "${TMPDIR:-/tmp}/voice-harness-ci.XXXXXX")
trap 'rm -rf "$venv"' EXIT

echo "== python: a fresh venv ($("$python" --version))"
"$python" -m venv "$venv"
# The checkout's own settings must not leak in: an override of the runner would hide a
# runner missing from the install.
unset VOICE_HARNESS_BIN PYTHONPATH

echo "== python: pip install . (the runner: cargo build --release, in $CARGO_TARGET_DIR)"
start=$(date +%s)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root"
echo "installed in $(( $(date +%s) - start )) s"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pytest>=7" "pytest-xdist>=3"

# Run from outside the checkout, so `import voice_harness` is the installed package and not
# ./python (the tests' rootdir is still the checkout: its pyproject.toml).
cd "$venv"
run_tests() {
  local status=0
  "$venv/bin/python" -m pytest "$root/python/tests" -p no:cacheprovider "$@" || status=$?
  if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests in $root/python/tests" >&2
  fi
  return "$status"
}
echo "== python: the installed runner and package"
"$venv/bin/voice-harness" --version
"$venv/bin/python" -c 'import voice_harness; print(voice_harness.__file__, voice_harness.find_runner())'
echo "== python: pytest python/tests"
run_tests -q

# The known pitfall of a binary shipped as a script: under --target and --user it lands in a
# folder on no PATH. `python -m voice_harness` must find it there all the same.
echo "== python: python -m voice_harness after pip install --target and --user"
start=$(date +%s)
"$venv/bin/python" -m pip wheel --quiet --no-deps --disable-pip-version-check -w "$venv/wheels" "$root"
wheel=$(ls "$venv"/wheels/voice_harness-*.whl)
echo "built $(basename "$wheel") in $(( $(date +%s) - start )) s"
# The base interpreter (not a shim that needs PATH), whose scripts folder has no runner.
base=$("$python" -c 'import sys; print(sys.executable)')
found_under() {  # found_under DIR ENV...: the runner python -m voice_harness uses is in DIR
  local found
  found=$(env PATH=/usr/bin:/bin "${@:2}" "$base" -c \
    'import voice_harness; print(voice_harness.find_runner())')
  case "$found" in
    "$1"/*) echo "found $found" ;;
    *) echo "error: expected the runner under $1, found $found" >&2; return 1 ;;
  esac
  env PATH=/usr/bin:/bin "${@:2}" "$base" -m voice_harness --version
}
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --target "$venv/t" "$wheel"
found_under "$venv/t" PYTHONPATH="$venv/t"
PIP_ROOT_USER_ACTION=ignore PYTHONUSERBASE="$venv/u" "$base" -m pip install --quiet --user \
  --disable-pip-version-check --no-warn-script-location "$wheel"
found_under "$venv/u" PYTHONUSERBASE="$venv/u"
