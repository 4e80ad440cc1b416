"""Shared test settings."""

import os

from hypothesis import HealthCheck, settings

# The shared machine is noisy: property tests are bounded in examples, never in wall time.
settings.register_profile(
    "crossborder",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("crossborder")
os.environ.setdefault("CROSSBORDER_CONSORTIUM_KEY", "test-consortium-key-not-for-production")


def pytest_collection_modifyitems(items):
    """The guard's state machine restores chain snapshots of its own, example after example;
    should one ever outlive ape's per-module isolation snapshot, every module after it would
    inherit its state. It runs last, after every other module on the embedded EVM."""
    last = [item for item in items if "test_guard_stateful.py" in item.nodeid]
    items[:] = [item for item in items if "test_guard_stateful.py" not in item.nodeid] + last
