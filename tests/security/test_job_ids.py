"""Finding 2: job ids never leave the bundle, are checked where they enter, and are never run twice."""

from __future__ import annotations

import json

import wbtest_jobs
from wbtest_security import assert_clean

from workbench import _names
from workbench.bundle import create
from workbench.executors.local import run
from workbench.scan import scan


def everything_under(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def test_an_input_whose_id_climbs_out_writes_nothing_outside(tmp_path, outside):
    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3]), tmp_path / "b")
    path = b.input_path(b.job_ids[0])
    data = json.loads(path.read_text())
    data["job_id"] = "../" * 8 + str(outside / "escape").lstrip("/")
    path.write_text(json.dumps(data))
    report = run(b, workers=1, progress=False)
    assert everything_under(outside) == []
    assert report.completed == 2 and len(report.failed) == 1
    assert f"not job {b.job_ids[0]}: the input was edited" in b.stderr_path(b.job_ids[0]).read_text()


def test_a_jobs_txt_line_that_climbs_out_is_refused_before_anything_runs(tmp_path, cli, outside):
    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3]), tmp_path / "b")
    (outside / "in" / "tr").mkdir(parents=True)
    (outside / "in" / "tr" / "trav.json").write_text(b.input_path(b.job_ids[0]).read_text())
    items = b.path / _names.ITEMS
    items.write_text(items.read_text() + "3 " + "../" * 8 + str(outside / "in" / "trav").lstrip("/") + "\n")
    before = everything_under(outside)
    for args in (("run", "b", "--no-progress"), ("status", "b")):
        proc = cli(*args)
        assert_clean(proc)
        assert proc.returncode != 0 and "jobs.txt, line 4" in proc.stderr and "is not '<index> <job id>'" in proc.stderr
    assert_clean(cli("results", "b"))  # the table comes from points.csv
    assert everything_under(outside) == before
    assert not list((b.path / _names.OUTPUTS).iterdir())


def test_a_job_listed_twice_is_refused_not_run_twice(tmp_path, cli):
    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3]), tmp_path / "b")
    items = b.path / _names.ITEMS
    items.write_text(items.read_text() + f"3 {b.job_ids[0]}\n")
    proc = cli("run", "b", "--no-progress")
    assert_clean(proc)
    assert proc.returncode != 0 and f"lists job {b.job_ids[0]} more than once" in proc.stderr
    assert not (b.path / _names.LOGS / _names.EVENT_LOG).exists()
