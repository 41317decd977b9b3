"""Helpers of the security tests (tests/security/): the command line as a user runs it, and what it must not print."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class CLI:
    """``python -m workbench ...`` in a fresh process, as a user types it."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    """No Python traceback reached the user."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
