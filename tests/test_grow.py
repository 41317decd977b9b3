"""Growing a bundle: appended points become jobs, atomically, once each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wbtest_adapt_jobs as J

import workbench as wb
from workbench import _names
from workbench.bundle import Bundle, create
from workbench.errors import ParameterError
from workbench.executors.local import run
from workbench.grow import append_points, read_job_ids
from workbench.scan import point_id

INDEX_FILES = (_names.ITEMS, _names.POINTS, _names.SPECIFICATIONS, _names.INFO)


def _bundle(tmp_path):
    return create(wb.scan(J.lorentz, x=[0.0, 0.5]), tmp_path / "b")


def _point(x):
    return {"x": x, "width": 0.01, "center": 0.1, "fail_from": 9.0, "fail_to": 9.0, "steps": 1}


def _snapshot(b):
    return {name: (b.path / name).read_bytes() for name in INDEX_FILES}


def test_appended_points_are_jobs_with_ids_from_content_and_run(tmp_path):
    b = _bundle(tmp_path)
    rep = append_points(b, [_point(0.25), _point(0.75)])
    assert rep.count == 4 and rep.added == rep.ids
    assert rep.ids[0] == point_id(J.lorentz.name, _point(0.25))
    assert b.job_ids[2:] == list(rep.ids)  # the bundle object reads its index again
    fresh = Bundle(b.path)
    assert fresh.count == 4
    assert fresh.input(rep.ids[1])["index"] == 3
    assert fresh.points().x.tolist() == [0.0, 0.5, 0.25, 0.75]
    assert "job 3 (" in (b.path / _names.SPECIFICATIONS).read_text()
    assert "4 job(s)" in (b.path / _names.SPECIFICATIONS).read_text().splitlines()[0]
    run(fresh, progress=False)
    df = wb.results(fresh)
    assert sorted(df.x) == [0.0, 0.25, 0.5, 0.75]
    assert (df.status == "completed").all()


def test_points_the_bundle_has_are_not_added_twice(tmp_path):
    b = _bundle(tmp_path)
    rep = append_points(b, [_point(0.5), _point(0.3), _point(0.3)])
    assert len(rep.added) == 1 and rep.count == 3
    assert len(set(rep.ids)) == 2
    assert read_job_ids(b)[1] == rep.ids[0]


def test_a_bad_point_is_refused_before_anything_is_written(tmp_path):
    b = _bundle(tmp_path)
    before = _snapshot(b)
    with pytest.raises(ParameterError, match="width"):
        append_points(b, [_point(0.3) | {"width": -1.0}])
    assert _snapshot(b) == before


def test_an_error_at_the_replace_step_leaves_the_old_bundle_whole(tmp_path):
    b = _bundle(tmp_path)
    before = _snapshot(b)

    def boom():
        raise OSError("disk full (injected)")

    with pytest.raises(OSError, match="injected"):
        append_points(b, [_point(0.25)], _before_replace=boom)
    assert _snapshot(b) == before
    assert not list(b.path.glob(".*.append"))  # no temporaries left
    assert Bundle(b.path).count == 2
    run(Bundle(b.path), progress=False)  # the input written without a jobs.txt line is no job
    assert len(wb.results(b.path)) == 2


def test_a_process_killed_mid_append_leaves_the_old_bundle_whole(tmp_path):
    b = _bundle(tmp_path)
    before = _snapshot(b)
    code = (
        "import os, sys; sys.path.insert(0, sys.argv[2]); import wbtest_adapt_jobs\n"
        "from workbench.bundle import Bundle; from workbench.grow import append_points\n"
        "p = dict(x=0.25, width=0.01, center=0.1, fail_from=9.0, fail_to=9.0, steps=1)\n"
        "append_points(Bundle(sys.argv[1]), [p], _before_replace=lambda: os.kill(os.getpid(), 9))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(b.path), str(Path(__file__).parent)])
    assert proc.returncode == -9
    assert _snapshot(b) == before
    assert list(b.path.glob(".*.append"))  # the kill left its temporaries ...
    rep = append_points(Bundle(b.path), [_point(0.25)])  # ... which the next append clears
    assert rep.count == 3
    assert not list(b.path.glob(".*.append"))
