"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os

# Matplotlib must never try to open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")

# The job types of tests/wbtest_jobs.py, trusted by name in every process the tests start (a bundle names
# its job type; the user's environment, never the bundle, says which modules may be imported for it).
os.environ.setdefault("WORKBENCH_JOB_TYPES", "wbtest_jobs:counting wbtest_jobs:dying wbtest_jobs:threads")

# A real OpenSSH server on 127.0.0.1 (tests/sshd.py); JupyterLab in headless Chromium (tests/labbrowser.py).
pytest_plugins = ["sshd", "labbrowser"]
