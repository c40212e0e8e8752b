#!/usr/bin/env bash
# The release wheel, built with the profile of a training run (profile-guided optimisation,
# decision 124): an instrumented wheel runs benches/pgo_train.py (the calls users make most), and
# the compiler builds the final wheel from what it counted (branch weights, inlining, layout;
# ~12 % off a backtest call). The arithmetic is the same IEEE operations in the same order: the
# numbers are the same bits (CI runs the whole test suite against this wheel).
#
#   ./wheel.sh [OUT_DIR]        (default: dist; needs maturin, numpy and pandas)
#
# llvm-profdata must match the compiler's LLVM: it is rustup's llvm-tools component, added here
# when missing. Without it, or off Linux, this builds the plain release wheel and says so.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-dist}"
plain() {
  echo "wheel.sh: $1: building the plain release wheel (no profile)" >&2
  exec maturin build --release --out "$out"
}
[ "$(uname -s)" = Linux ] || plain "profile-guided builds are set up for Linux only"
host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ] && command -v rustup >/dev/null; then
  # A machine without the network fails here (in at most five minutes): the plain wheel then.
  timeout 300 rustup component add llvm-tools >/dev/null 2>&1 || true
fi
[ -x "$profdata" ] || plain "no llvm-profdata for this toolchain (rustup component add llvm-tools)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== wheel.sh: the instrumented wheel =="
RUSTFLAGS="-Cprofile-generate=$work/raw" maturin build --release --out "$work/inst"
# Build scripts ran instrumented too: only the training run's counts are kept.
rm -rf "$work/raw"
python -m zipfile -e "$work"/inst/perpsim-*.whl "$work/site"
echo "== wheel.sh: the training run =="
PYTHONPATH="$work/site" python benches/pgo_train.py
"$profdata" merge -o "$work/merged.profdata" "$work/raw"
echo "== wheel.sh: the wheel, built from the profile =="
RUSTFLAGS="-Cprofile-use=$work/merged.profdata" maturin build --release --out "$out"
