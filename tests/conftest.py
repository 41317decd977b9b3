"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os

# Matplotlib must never try to open a window in tests.
os.environ.setdefault("MPLBACKEND", "Agg")

# A real OpenSSH server on 127.0.0.1 (tests/sshd.py); JupyterLab in headless Chromium (tests/labbrowser.py).
pytest_plugins = ["sshd", "labbrowser"]
