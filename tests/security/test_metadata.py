"""Finding 10: malformed metadata (info.pkl, jobs.txt, points.csv) gives a clean message, never a traceback.

(A damaged ``logs/local_runs.json`` is left to the run-records module being rewritten; the crafted
``state.npz`` is in test_total_readers.py.)
"""

from __future__ import annotations

import pytest
from wbtest_security import assert_clean

from workbench import _names, _safepickle

COMMANDS = (("status", "b"), ("results", "b"), ("run", "b", "--no-progress"))


def run_all(cli) -> list:
    procs = [cli(*args) for args in COMMANDS]
    for proc in procs:
        assert_clean(proc)
    return procs


@pytest.mark.parametrize(("key", "value"), [("name", None), ("settings", "x"), ("count", "many"), ("scan", 5),
                                            ("count", 7), ("settings", {"python": 5})])  # fmt: skip
def test_a_damaged_info_pkl(done, cli, key, value):
    info = dict(done.info)
    if value is None:
        del info[key]
    else:
        info[key] = value
    (done.path / _names.INFO).write_bytes(_safepickle.dumps(info))
    procs = run_all(cli)
    assert any(p.returncode == 2 and "damaged" in p.stderr for p in procs)


@pytest.mark.parametrize("items", [None, b"\x00\xff\xfe", b"0\n1\n2\n", b"0 x\n"])
def test_a_damaged_jobs_txt(done, cli, items):
    path = done.path / _names.ITEMS
    if items is None:
        path.unlink()
    else:
        path.write_bytes(items)
    procs = run_all(cli)
    assert procs[0].returncode == 2 and "jobs.txt" in procs[0].stderr


def test_points_csv_that_disagrees_with_jobs_txt(done, cli):
    (done.path / _names.RESULTS_CACHE).unlink(missing_ok=True)
    path = done.path / _names.POINTS
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]))
    proc = run_all(cli)[1]
    assert proc.returncode == 2 and "do not list the same jobs" in proc.stderr
