"""Shared test configuration.

Under CI (the CI environment variable is set), hypothesis runs derandomized: the same
examples every run, so CI's verdict depends on the change, not on the draw. Locally it
keeps exploring new examples on every run.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def pytest_addoption(parser):
    """``pytest --accumulator=plain``: every backward pass of the run uses the plain dense
    accumulator (microgradrnn.accumulate.Plain) instead of the fast one, so the gradient
    tests check both (tests/test_engine_accumulate.py runs them that way)."""
    parser.addoption("--accumulator", default="fast", choices=("fast", "plain"))


def pytest_configure(config):
    if config.getoption("accumulator") == "plain":
        from microgradrnn import accumulate

        accumulate._kind = accumulate.Plain
