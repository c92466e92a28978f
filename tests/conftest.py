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
