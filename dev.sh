#!/usr/bin/env bash
# Developer loop: build the extension in release mode and drop it into python/perpsim so that
# `PYTHONPATH=python pytest` tests the working tree without reinstalling.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release -p perpsim-py --quiet
# A new file renamed into place: a Python that has the old one loaded keeps its own copy (cp would
# overwrite the mapped library in place under it).
cp target/release/lib_core.so python/perpsim/.core.tmp.so
mv -f python/perpsim/.core.tmp.so python/perpsim/_core.abi3.so
