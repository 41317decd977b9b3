"""The results table, array outputs on demand, and old pickled results."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.bundle import create
from workbench.errors import OutputError
from workbench.jobtypes.demo import steady_state
from workbench.results import arrays, job_output, load_arrays
from workbench.scan import scan as make_scan
from workbench.select import sel
from workbench.store import convert_legacy


def test_a_row_per_job_with_parameters_outputs_and_state(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:10])
    df = wb.results(demo_bundle)
    assert len(df) == 15
    assert list(df.columns) == [
        "index", "job_id", "drive_freq", "damping", "force", "periods", "rtol",
        "amplitude", "phase", "steps", "converged", "status", "runtime", "host", "error",
    ]  # fmt: skip
    assert list(df["index"]) == list(range(15)) and list(df["job_id"]) == demo_bundle.job_ids
    done = df[df.status == "completed"]
    assert len(done) == 10 and (df.status == "unsubmitted").sum() == 5
    for _, r in done.iterrows():
        assert r["amplitude"] == pytest.approx(steady_state(r["drive_freq"], r["damping"], r["force"])[0])
    assert str(df["status"].dtype) == "category" and "bad" in df["status"].cat.categories
    assert df["steps"].dtype == float  # ints with missing rows: NaN, as pandas does
    assert str(df["converged"].dtype) == "boolean"
    assert df.loc[0, "host"] == "testhost" and df.loc[0, "runtime"] == pytest.approx(0.01)
    meta = df.attrs["workbench"]
    assert meta["job_type"] == "demo" and meta["dims"] == [["drive_freq"], ["damping"]]
    assert meta["outputs"] == ["amplitude", "phase", "steps", "converged"]
    assert meta["bundle"] == str(demo_bundle.path)


def test_an_output_named_like_a_parameter_or_column_gets_a_suffix(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:2], extra={"damping": 7.0, "status": "fine", "ok": 1})
    df = wb.results(demo_bundle)
    assert {"damping_out", "status_out", "ok_out"} <= set(df.columns)
    assert df.loc[0, "damping_out"] == 7.0 and df.loc[0, "damping"] == 0.05
    assert df.loc[0, "status"] == "completed"


def test_results_list_outputs_once_and_take_the_rest_from_the_log(demo_bundle, fake, monkeypatch):
    from workbench.eventlog import EventWriter

    ids = demo_bundle.job_ids
    log = EventWriter(demo_bundle.log_path, 1)
    log.submitted(enumerate(ids[:6]))
    for proc in range(3):
        log.executing(proc)
    log.terminated(0, 0, 1.0)
    fake(demo_bundle, ids[:2])  # job 1's result arrived ahead of its events (a sync)
    listed = []
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == "outputs":
            listed.append(path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    df = wb.results(demo_bundle)
    assert len(listed) == 1  # by the results cache; the job states come from the log alone
    assert list(df["status"][:7]) == ["completed", "completed", "running", "idle", "idle", "idle", "unsubmitted"]


def test_failed_jobs_carry_the_end_of_their_traceback(tmp_path):
    from wbtest_jobs import counting  # tests/ is on the path

    from workbench.registry import register

    register(counting, replace=True)
    b = create(make_scan(counting, x=[1, 2, 3], fail_on=2), tmp_path / "b")
    wb.run(b, workers=1, progress=False)
    df = wb.results(b)
    assert list(df["status"]) == ["completed", "failed", "completed"]
    assert "told to fail on" in df.loc[1, "error"]
    assert df.loc[0, "y"] == 1 and df.loc[2, "label"] == "x3"


def test_arrays_load_on_demand_for_a_selection_only(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids)
    # Another job's arrays are damaged: a selection that does not include it still loads.
    demo_bundle.arrays_path(demo_bundle.job_ids[-1]).write_bytes(b"PK\x03\x04 broken")
    df = wb.results(demo_bundle)
    pick = sel(df, damping=0.1)
    got = arrays(demo_bundle, pick, "trajectory")
    assert list(got) == list(pick["job_id"]) and all(a.shape == (16,) for a in got.values())
    stacked = arrays(demo_bundle, pick, "trajectory", stack=True)
    assert stacked.shape == (5, 16)
    with pytest.raises(OutputError, match="corrupt"):
        load_arrays(demo_bundle, demo_bundle.job_ids[-1])
    assert len(arrays(demo_bundle, df["job_id"], "trajectory", errors="skip")) == 14
    with pytest.raises(OutputError, match="no array output"):
        load_arrays(demo_bundle, demo_bundle.job_ids[0], ["nope"])


def test_job_output_gathers_everything_of_one_job(demo_bundle, fake):
    jid = demo_bundle.job_ids[4]
    fake(demo_bundle, [jid])
    out = job_output(demo_bundle, jid)
    assert out["index"] == 4 and out["params"]["drive_freq"] == 0.75
    assert set(out["scalars"]) == {"amplitude", "phase", "steps", "converged"}
    assert out["arrays"]["trajectory"].shape == (16,) and out["error"] is None
    assert out["meta"]["host"] == "testhost" and out["meta"]["format"] == 1
    missing = job_output(demo_bundle, demo_bundle.job_ids[5])
    assert missing["arrays"] == {} and "no result yet" in missing["error"]


def _legacy(bundle, jid, obj):
    path = bundle.path / "outputs" / f"{jid}.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def test_old_pickled_results_are_named_then_converted_safely(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:2])
    a, b = demo_bundle.job_ids[2], demo_bundle.job_ids[3]
    _legacy(demo_bundle, a, {"amplitude": np.float64(2.5), "steps": np.int32(7), "psi": np.arange(4.0), "note": "old"})
    _legacy(demo_bundle, b, {"results": {"amplitude": 1.5}, "runtime": 3.0, "host": "oldhost"})
    df = wb.results(demo_bundle)
    row = df.set_index("job_id").loc[a]
    assert row["status"] == "bad" and "--convert-legacy" in row["error"]
    report = convert_legacy(demo_bundle)
    assert report.converted == (a, b) and report.refused == ()
    df = wb.results(demo_bundle).set_index("job_id")
    assert df.loc[a, "status"] == "completed" and df.loc[a, "amplitude"] == 2.5 and df.loc[a, "steps"] == 7
    assert df.loc[b, "runtime"] == 3.0 and df.loc[b, "host"] == "oldhost"
    np.testing.assert_array_equal(load_arrays(demo_bundle, a)["psi"], np.arange(4.0))
    assert convert_legacy(demo_bundle).converted == ()  # done once


def test_the_cli_converts_and_exports(demo_bundle, fake, tmp_path, capsys):
    from workbench.cli import main

    fake(demo_bundle, demo_bundle.job_ids[:3])
    _legacy(demo_bundle, demo_bundle.job_ids[3], {"amplitude": 9.0})
    assert main(["results", str(demo_bundle.path), "--convert-legacy"]) == 0
    assert "Converted 1" in capsys.readouterr().out
    out = tmp_path / "r.parquet"
    assert main(["results", str(demo_bundle.path), "--parquet", str(out), "--csv", str(tmp_path / "r.csv")]) == 0
    from workbench.export import read_export

    back = read_export(out)
    assert (back["status"] == "completed").sum() == 4 and back.attrs["workbench"]["job_type"] == "demo"
    assert (tmp_path / "r.csv.meta.json").is_file()
    if os.environ.get("WB_HAVE_TABLES"):  # pragma: no cover - PyTables is not installed here
        assert main(["results", str(demo_bundle.path), "--hdf5", str(tmp_path / "r.h5")]) == 0
    else:
        assert main(["results", str(demo_bundle.path), "--hdf5", str(tmp_path / "r.h5")]) == 2
        assert "pip install tables" in capsys.readouterr().err


def test_results_of_a_path_and_a_bundle_agree(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:4])
    pd.testing.assert_frame_equal(wb.results(demo_bundle), wb.results(str(demo_bundle.path)))
