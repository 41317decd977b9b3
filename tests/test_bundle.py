from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import wbtest_jobs

from workbench import _names
from workbench.bundle import create, open_bundle, plan_bundle, write_bundle
from workbench.errors import BundleError, BundleExistsError, BundleFormatError, OutputError, ScanError
from workbench.scan import scan
from workbench.sources import Linspace

GOLDEN = Path(__file__).parent / "data" / "golden" / "bundle"
NAME = "it's a \"scan\""
TEXT_FILES = (_names.PARAMETERS, _names.SPECIFICATIONS, _names.ITEMS, _names.POINTS, _names.SUBMIT)


def small_scan():
    return scan(wbtest_jobs.counting, x=[1, 2, 3], mode=["a", "b"])


def test_layout_and_golden_files_in_a_path_with_spaces_and_quotes(tmp_path):
    path = tmp_path / "my scans 'v1'" / NAME
    b = create(small_scan(), path)
    assert b.path == path
    assert sorted(os.listdir(path)) == sorted(
        [_names.INFO, _names.INPUTS, _names.LOGS, _names.OUTPUTS, *TEXT_FILES]
    )
    # One input per job, in a folder named after the first two characters of its id.
    inputs = sorted(p.relative_to(path).as_posix() for p in (path / _names.INPUTS).rglob("*") if p.is_file())
    assert inputs == sorted(f"inputs/{j[:2]}/{j}.json" for j in b.job_ids)
    assert os.listdir(path / _names.OUTPUTS) == [] and os.listdir(path / _names.LOGS) == []
    # No temporary directories are left beside the bundle.
    assert os.listdir(path.parent) == [NAME]
    if os.environ.get("WORKBENCH_REGEN_GOLDEN"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for f in TEXT_FILES:
            (GOLDEN / f).write_text((path / f).read_text())
    for f in TEXT_FILES:
        assert (path / f).read_text() == (GOLDEN / f).read_text(), f"{f} differs from tests/data/golden/bundle/{f}"


def test_info_and_inputs(tmp_path):
    b = create(small_scan(), tmp_path / "b")
    info = b.info
    assert info["format"] == _names.BUNDLE_FORMAT
    assert info["job_type"] == "wbtest-counting" and info["count"] == 6
    assert info["shape"] == {"x": 3, "mode": 2}
    assert set(info["versions"]) == {"workbench", "python", "numpy"}
    assert info["scan"] == small_scan().to_dict()
    assert b.scan == small_scan()
    first = b.input(b.job_ids[0])
    assert first["params"] == {"x": 1, "mode": "a", "fail_on": -1, "sleep": 0.0}
    assert first["index"] == 0 and first["job_id"] == b.job_ids[0]
    pts = b.points()
    assert list(pts.columns) == ["index", "job_id", "x", "mode", "fail_on", "sleep"]
    assert list(pts["job_id"]) == b.job_ids


def test_existing_bundle_is_not_overwritten_unless_asked(tmp_path):
    path = tmp_path / "b"
    b = create(small_scan(), path)
    (path / _names.OUTPUTS / "keep.txt").write_text("precious")
    with pytest.raises(BundleExistsError, match=r"already exists.*overwrite=True \(--overwrite"):
        create(scan(wbtest_jobs.counting, x=[9]), path)
    assert (path / _names.OUTPUTS / "keep.txt").read_text() == "precious"
    assert open_bundle(path).count == 6
    b2 = create(scan(wbtest_jobs.counting, x=[9]), path, overwrite=True)
    assert b2.count == 1 and not (path / _names.OUTPUTS / "keep.txt").exists()
    assert os.listdir(tmp_path) == ["b"]
    del b


def test_both_ways_in_refuse_an_existing_bundle_with_the_same_advice(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    create(small_scan(), "b")
    advice = (r"Choose another path, open it with workbench.open_bundle\({}\), or replace it with "
              r"overwrite=True \(--overwrite on the command line\)\.$")
    where = re.escape(str(tmp_path / "b"))
    with pytest.raises(BundleExistsError, match=rf"^{where} already exists\. " + advice.format("'b'")):
        create(small_scan(), "b")  # before rendering: the path as given
    with pytest.raises(BundleExistsError, match=rf"^{where} already exists\. " + advice.format(repr(str(tmp_path / "b")))):
        write_bundle(plan_bundle(small_scan(), name="b"), "b")


def test_a_folder_that_is_not_a_bundle_is_never_replaced(tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(BundleExistsError, match="is not a workbench bundle"):
        create(small_scan(), precious, overwrite=True)
    assert (precious / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("fail_at", ["text", "info"])
def test_a_crash_while_writing_leaves_nothing_under_the_final_name(tmp_path, monkeypatch, fail_at):
    import workbench.bundle as bundle_mod

    plan = plan_bundle(small_scan(), name="b")
    calls = {"n": 0}
    real = bundle_mod._write_text

    def flaky_text(path, text):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(path, text)

    def flaky_dumps(obj):
        raise KeyboardInterrupt

    if fail_at == "text":
        monkeypatch.setattr(bundle_mod, "_write_text", flaky_text)
        with pytest.raises(BundleError, match="No space left on device.*nothing was left at that path"):
            write_bundle(plan, tmp_path / "b")
    else:
        monkeypatch.setattr(bundle_mod._safepickle, "dumps", flaky_dumps)
        with pytest.raises(KeyboardInterrupt):
            write_bundle(plan, tmp_path / "b")
    assert os.listdir(tmp_path) == []


def test_a_crash_while_overwriting_keeps_the_old_bundle(tmp_path, monkeypatch):
    import workbench.bundle as bundle_mod

    create(small_scan(), tmp_path / "b")
    monkeypatch.setattr(bundle_mod._safepickle, "dumps", lambda obj: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(BundleError):
        create(scan(wbtest_jobs.counting, x=[9]), tmp_path / "b", overwrite=True)
    assert open_bundle(tmp_path / "b").count == 6 and os.listdir(tmp_path) == ["b"]


def test_plan_is_pure_and_summarises(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = plan_bundle(small_scan(), name="b")
    text = plan.summary(specs=2)
    assert "6 job(s) of type 'wbtest-counting'" in text
    assert "queue job_index, job_id from jobs.txt" in text
    assert "job 0 (" in text and "job 2 (" not in text and "... 4 more" in text
    assert os.listdir(tmp_path) == []


def test_scan_errors_stop_the_bundle(tmp_path):
    with pytest.raises(ScanError, match="x = 2000 is above 1000"):
        create(scan(wbtest_jobs.counting, x=[1, 2000]), tmp_path / "b")
    assert os.listdir(tmp_path) == []


def test_opening_what_is_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="the folder does not exist"):
        open_bundle(tmp_path / "missing")
    with pytest.raises(BundleError, match="not a workbench bundle .* no info.pkl"):
        open_bundle(tmp_path)
    b = create(small_scan(), tmp_path / "b")
    info = dict(b.info, format=99)
    (b.path / _names.INFO).write_bytes(pickle.dumps(info))
    with pytest.raises(BundleFormatError, match="format 99, but this workbench reads formats 1, 2"):
        open_bundle(b.path)


def test_a_format_1_bundle_with_unsharded_inputs_still_runs(tmp_path):
    """Bundles written before inputs were sharded keep working: same results, nothing to convert."""
    from workbench.executors.local import run
    from workbench.results import results

    b = create(small_scan(), tmp_path / "old")
    first = b.input(b.job_ids[0])
    for jid in b.job_ids:  # the format-1 layout: inputs/<job_id>.json
        os.rename(b.input_path(jid), b.path / _names.INPUTS / _names.input_name(jid))
    for shard in {jid[:2] for jid in b.job_ids}:
        os.rmdir(b.path / _names.INPUTS / shard)
    (b.path / _names.INFO).write_bytes(pickle.dumps(dict(b.info, format=1)))
    old = open_bundle(b.path)
    assert old.input(old.job_ids[0]) == first
    run(old, workers=1, progress=False)
    df = results(old)
    assert (df["status"] == "completed").all() and sorted(df["y"]) == [1, 1, 4, 4, 9, 9]


def test_info_pickle_that_would_run_code_is_refused(tmp_path):
    b = create(small_scan(), tmp_path / "b")
    canary = tmp_path / "canary"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    (b.path / _names.INFO).write_bytes(pickle.dumps({"format": 1, "x": Evil()}))
    with pytest.raises(OutputError, match="refusing to load posix.system"):
        open_bundle(b.path)
    assert not canary.exists()


def test_submit_description_parses_with_the_real_bindings(tmp_path):
    import htcondor2

    b = create(scan("demo", drive_freq=Linspace(0.5, 1.5, 4)), tmp_path / "b")
    sub = htcondor2.Submit((b.path / _names.SUBMIT).read_text())
    assert sub["log"] == "logs/scan.log"
    cwd = os.getcwd()
    os.chdir(b.path)  # items are read from jobs.txt relative to the submit directory
    try:
        items = list(sub.itemdata())
    finally:
        os.chdir(cwd)
    assert [(int(i["job_index"]), i["job_id"]) for i in items] == list(enumerate(b.job_ids))


def test_long_numeric_axes_render_exactly_as_short_ones():
    """Long axes are encoded in bulk; every text must equal what the per-value encoders give."""
    import csv
    import io
    import json

    from workbench.bundle import _fmt_value
    from workbench.scan import canonical_json, point_id

    tricky = [1.0, 2.0, 1e-7, 1.5e-16, 3.25, 0.1 + 0.2, 100.0, 1e-300, 0.0005, 7.000000000001, 12.5e-5]
    drive = tricky + [20.0 + k * 1e-3 for k in range(1, 1500)]
    s = scan("demo", drive_freq=drive, periods=[60, 61])
    plan = plan_bundle(s, name="long")
    rows = list(csv.reader(io.StringIO(plan.files[_names.POINTS])))
    specs = [ln for ln in plan.files[_names.SPECIFICATIONS].splitlines() if ln.startswith("job ")]
    assert len(plan.inputs) == len(s) == len(rows) - 1 == len(specs)
    for i, pt in enumerate(s.points()):
        canon = canonical_json(pt)
        assert plan.inputs[i].endswith(f'"params": {canon}}}\n') and json.loads(plan.inputs[i])["params"] == pt
        assert plan.job_ids[i] == point_id("demo", pt)
        assert rows[i + 1][2:] == [str(pt[n]) for n in s.job_type.param_names]
        assert specs[i].endswith(f"drive_freq = {_fmt_value(pt['drive_freq'])}, periods = {pt['periods']}")


def test_rendered_inputs_hold_each_point_and_its_id(tmp_path):
    from workbench.scan import point_id

    s = scan(wbtest_jobs.counting, x=[1, 2, 3], fail_on=[7, 8, 9], mode=["a", "b"], zip=[("x", "fail_on")])
    b = create(s, tmp_path / "b")
    for i, jid in enumerate(b.job_ids):
        inp = b.input(jid)
        assert inp["params"] == s.point(i) and inp["index"] == i
        assert jid == point_id(s.job_type.name, s.point(i))
    spec = (b.path / _names.SPECIFICATIONS).read_text().splitlines()
    assert spec[-1] == f"job 5 ({b.job_ids[5]}): x = 3, mode = 'b', fail_on = 9"
