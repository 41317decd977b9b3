"""Finding 9: reads of bundle files are bounded and never block; uploads never follow a link out of the bundle."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from wbtest_security import assert_clean

from workbench.errors import OutputError, TransportError
from workbench.results import load_arrays, load_result, results


def test_a_result_linked_to_dev_zero_is_a_bad_row(done, cli):
    jid = done.job_ids[0]
    path = done.result_path(jid)
    path.unlink()
    path.symlink_to("/dev/zero")
    with pytest.raises(OutputError, match="not a regular file"):
        load_result(done, jid)
    table = results(done, cache=False)
    assert table["status"].iloc[0] == "bad" and "not a regular file" in table["error"].iloc[0]
    proc = cli("results", "b", timeout=60)
    assert_clean(proc)
    assert proc.returncode == 0


def test_a_result_that_is_a_fifo_does_not_hang_results(done, cli):
    jid = done.job_ids[1]
    path = done.result_path(jid)
    path.unlink()
    os.mkfifo(path)
    proc = cli("results", "b", timeout=60)  # the old reader waited for a writer for ever
    assert_clean(proc)
    assert proc.returncode == 0
    with pytest.raises(OutputError, match="not a regular file"):
        load_result(done, jid)
    arrays = done.arrays_path(jid)
    arrays.unlink()
    os.mkfifo(arrays)
    with pytest.raises(OutputError, match="not a regular file"):
        load_arrays(done, jid)


def test_an_npz_that_declares_more_than_it_holds_is_refused_before_allocation(done):
    jid = done.job_ids[2]
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (1 << 31,)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("series.npy", header.getvalue() + b"\0" * 4096)  # 16 GiB declared, 4 kB held
    done.arrays_path(jid).write_bytes(buf.getvalue())
    with pytest.raises(OutputError, match=r"declares 17,179,869,184 bytes but holds"):
        load_arrays(done, jid)


@pytest.mark.ssh
def test_an_upload_never_follows_a_link_out_of_the_bundle(sshd, tmp_path, outside):
    import wbtest_jobs

    from workbench.bundle import create
    from workbench.executors.ssh import run as ssh_run
    from workbench.scan import scan

    secret = outside / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY----- not for the remote\n")
    b = create(scan(wbtest_jobs.counting, x=[1]), tmp_path / "b")
    (b.path / "notes.txt").symlink_to(secret)
    remote = tmp_path / "remote"
    with pytest.raises(TransportError, match="symbolic link .* outside"):
        ssh_run(b, remote_dir=str(remote), python=sys.executable, env={"PYTHONPATH": str(Path(__file__).parent.parent)},
                progress=False, host=sshd.host, **sshd.connect_options())  # fmt: skip
    shipped = [p for p in remote.rglob("*") if p.is_file()] if remote.exists() else []
    assert not any("not for the remote" in p.read_text(errors="replace") for p in shipped)
