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
