# Developer targets. The CI script (.ci/run) runs lint and the README's test command.
.PHONY: build-dev install wheel lint format test test-rust test-python bench bench-floors asan clean

PY ?= python

# The extension in release mode, dropped into python/perpsim (an editable install picks it up).
build-dev:
	./dev.sh

# A regular install with the test dependencies (builds the wheel from source).
install:
	$(PY) -m pip install ".[test]"

# The release wheel in dist/, built from the profile of a training run (wheel.sh).
wheel:
	./wheel.sh dist

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	ruff check python tests benches
	ruff format --check python tests benches
	$(PY) -m mypy.stubtest perpsim._core
	cd python && $(PY) -m mypy --ignore-missing-imports perpsim

format:
	cargo fmt --all
	ruff check --fix python tests benches
	ruff format python tests benches

test: test-rust test-python

test-rust:
	cargo test -p perpsim-engine

test-python:
	$(PY) -m pytest

bench:
	cargo bench -p perpsim-engine
	$(PY) benches/bench_strategies.py
	$(PY) benches/bench_montecarlo.py

# The numba floors of issue 12 beside perpsim (numba is an optional bench dependency).
bench-floors:
	$(PY) benches/bench_mc_floor.py
	$(PY) benches/bench_w1_floor.py

# The test suite against an AddressSanitizer build (nightly Rust; asan.sh says what it skips).
asan:
	./asan.sh

clean:
	cargo clean
	rm -f python/perpsim/_core.abi3.so
