"""Fixtures and hypothesis profiles; helpers shared by tests live in helpers.py."""

import warnings

# PyG 2.8 still calls torch.jit.script at import; torch 2.13 deprecates it.
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated",
                        category=DeprecationWarning)

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# Property tests: a CI profile that runs in about a minute, and a longer one for local
# runs (HYPOTHESIS_PROFILE=long pytest tests/test_properties.py).
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
