"""check_host against a real OpenSSH server (the ``sshd`` fixture): what it finds, and why a host cannot be used."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import workbench
from workbench.executors.check import check_host

pytestmark = pytest.mark.ssh

# STAND-IN for HTCondor's condor_version (no pool here): prints its first line as the real one does.
CONDOR_VERSION = "#!/bin/sh\necho '$CondorVersion: 23.0.3 2024-01-04 BuildID: 705853 PackageID: 23.0.3-1 $'\n" \
                 "echo '$CondorPlatform: x86_64_Debian12 $'\n"  # fmt: skip


def test_it_finds_python_workbench_and_free_disk_and_writes_nothing(sshd, tmp_path: Path) -> None:
    there = tmp_path / "scans"
    there.mkdir()
    check = check_host(sshd.host, python=sys.executable, remote_dir=str(there), **sshd.connect_options())
    assert check.ok and check.problems == ()
    assert check.python_version == sys.version.split()[0] and check.workbench_version == workbench.__version__
    assert check.dir_exists and check.checked_dir == str(there.resolve()) and check.writable
    assert check.free_bytes is not None and check.free_bytes > 0
    text = check.summary()
    assert text.startswith(f"✔ {sshd.host} ({sshd.user}@{sshd.host}:{sshd.port}): Python ")
    assert f"workbench {workbench.__version__} as here" in text and f"free in {there.resolve()}." in text

    missing = tmp_path / "not" / "yet"
    check = check_host(sshd.host, python=sys.executable, remote_dir=str(missing), **sshd.connect_options())
    assert check.ok and not check.dir_exists and check.checked_dir == str(tmp_path.resolve())
    assert f"(where {missing} would be made)" in check.summary()
    assert not (tmp_path / "not").exists()


def test_a_python_without_workbench_is_named_with_the_fix(sshd, tmp_path: Path) -> None:
    bare = tmp_path / "bare-python"  # the same interpreter without site-packages: no workbench there
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    bare.chmod(0o755)
    check = check_host(sshd.host, python=str(bare), remote_dir=str(tmp_path), **sshd.connect_options())
    assert not check.ok and check.python_version == sys.version.split()[0] and check.workbench_version == ""
    [problem] = check.problems
    assert f"The Python {str(bare)!r} on {sshd.host} has no workbench" in problem and "pip install" in problem


def test_a_submit_host_needs_htcondor_and_only_looks_at_python(sshd, tmp_path: Path) -> None:
    tools = tmp_path / "condor-bin"
    tools.mkdir()
    (tools / "condor_version").write_text(CONDOR_VERSION)
    (tools / "condor_version").chmod(0o755)
    options = sshd.connect_options()
    check = check_host(sshd.host, python="no-such-python3", remote_dir=str(tmp_path), condor=True,
                       condor_bin=str(tools), **options)  # fmt: skip
    assert check.ok and check.condor_version == "HTCondor 23.0.3"
    assert any("No Python 'no-such-python3'" in w for w in check.warnings)  # the pool's nodes may have their own
    assert "HTCondor 23.0.3" in check.summary()

    check = check_host(sshd.host, python=sys.executable, remote_dir=str(tmp_path), condor=True, **options)
    assert not check.ok and "no HTCondor tools on the PATH" in check.problems[0] and "condor_bin" in check.problems[0]


def test_a_host_that_does_not_answer_is_reported_at_once(sshd) -> None:
    t0 = time.monotonic()
    check = check_host(sshd.host, python=sys.executable, **{**sshd.connect_options(), "port": 1})
    assert time.monotonic() - t0 < 5  # no retries with growing pauses: a check answers now
    assert not check.ok and check.destination == ""
    assert check.summary().startswith(f"✖ {sshd.host}: cannot connect.\nCannot connect to ")
    assert "sshd listens on port 1" in check.summary()
