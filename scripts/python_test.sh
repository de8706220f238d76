#!/usr/bin/env bash
# The Python package (issue #27): builds the `imbarb` wheel with maturin, installs it in a fresh
# virtual environment beside the pinned test requirements and the SB3 peer (for the one-minute
# smoke of the side-by-side), then runs pytest on python/tests. Also checks the extension crate
# (its own Cargo workspace) with rustfmt and clippy. Needs python3 (3.9 or newer) with venv and
# pip reaching PyPI. Usage: scripts/python_test.sh [VENV_DIR] (default target/py-venv, reused).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${1:-$root/target/py-venv}

echo "== python crate: cargo fmt --check, clippy"
(cd python && cargo fmt --check && cargo clippy -q --all-targets -- -D warnings)

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
echo "== installing the test requirements and the SB3 peer into $venv"
"$venv/bin/pip" install -q --no-cache-dir --upgrade pip
# No wheel cache: torch and its CUDA libraries would take another 4 GB of disk.
"$venv/bin/pip" install -q --no-cache-dir -r python/requirements-test.txt -r bench/requirements-peer.txt

echo "== building the wheel"
rm -rf target/wheels
(cd python && "$venv/bin/maturin" build --release --quiet --out "$root/target/wheels")
"$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/imbarb-*.whl

echo "== pytest python/tests"
# From the tests' directory's parent so that `import imbarb` finds the installed wheel, not the
# source tree (which has no compiled extension).
cd python/tests
"$venv/bin/python" -m pytest -q -rs -p no:cacheprovider .
