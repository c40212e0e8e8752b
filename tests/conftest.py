"""Shared test settings: hypothesis profiles (CI runs >= 200 examples per property test), and the
suite-wide check that no Rust panic happens in any test (caught or not: a panic is a bug)."""

import os

import pytest
from hypothesis import HealthCheck, settings
from perpsim import _core


@pytest.fixture(autouse=True)
def no_rust_panic():
    before = _core._panic_count()
    yield
    assert _core._panic_count() == before, "a Rust panic happened in this test (see the captured stderr)"


settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("PERPSIM_HYPOTHESIS_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
)
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
