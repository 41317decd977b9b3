"""Exports round-trip with the scan's metadata."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from workbench.export import export, read_export
from workbench.results import results
from workbench.select import grid, sel


@pytest.fixture
def table(demo_bundle, fake):
    fake(demo_bundle, demo_bundle.job_ids[:12], extra={"label": "tag", "count": 3})
    demo_bundle.result_path(demo_bundle.job_ids[12]).write_text("{ broken")
    return results(demo_bundle)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_round_trips_with_its_metadata(table, tmp_path, suffix):
    path = export(table, tmp_path / f"r{suffix}")
    back = read_export(path)
    pd.testing.assert_frame_equal(back, table)
    assert back.attrs["workbench"] == table.attrs["workbench"]
    meta = back.attrs["export"]
    assert meta["bundle"]["job_type"] == "demo" and meta["bundle"]["count"] == 15
    assert meta["bundle"]["scan"]["sources"]["damping"] == {"kind": "list", "items": [0.05, 0.1, 0.2]}
    # Selections work on what was read back.
    g = grid(back, "amplitude", ("damping", "drive_freq"))
    assert g.shape == (3, 5)


def test_a_selection_exports_too(table, tmp_path):
    part = sel(table, damping=0.1)
    path = export(part, tmp_path / "part.csv")
    meta = json.loads((tmp_path / "part.csv.meta.json").read_text())
    assert meta["table"]["bundle"] == table.attrs["workbench"]["bundle"]
    pd.testing.assert_frame_equal(read_export(path).reset_index(drop=True), part.reset_index(drop=True))


def test_a_bundle_exports_directly(demo_bundle, fake, tmp_path):
    fake(demo_bundle, demo_bundle.job_ids[:3])
    back = read_export(export(demo_bundle.path, tmp_path / "all.parquet"))
    assert len(back) == 15 and (back["status"] == "completed").sum() == 3


def test_unknown_formats_and_missing_hdf5_say_so(table, tmp_path):
    with pytest.raises(ValueError, match="end it in .csv, .parquet or .h5"):
        export(table, tmp_path / "r.xlsx")
    if importlib.util.find_spec("tables") is None:
        with pytest.raises(ModuleNotFoundError, match="pip install tables"):
            export(table, tmp_path / "r.h5")
    else:  # pragma: no cover - PyTables is not installed here
        back = read_export(export(table, tmp_path / "r.h5"))
        assert len(back) == len(table)


def test_format_names_and_suffixes_pick_the_same_formats(table, tmp_path):
    from workbench.export import _format

    for name, fmt in [("csv", "csv"), (".CSV", "csv"), ("parquet", "parquet"), ("pq", "parquet"), ("hdf5", "hdf5"),
                      ("h5", "hdf5"), ("hdf", "hdf5")]:  # fmt: skip
        assert _format(tmp_path / "r.txt", name) == fmt
    with pytest.raises(ValueError, match="use 'csv', 'parquet' or 'hdf5'"):
        _format(tmp_path / "r.csv", "xlsx")
    path = export(table, tmp_path / "r.data", format="pq")
    assert len(read_export(path, format="parquet")) == len(table)
