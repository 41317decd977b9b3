"""Outputs from other machines never run code: hostile pickles and object arrays are refused, and nothing runs.

Each payload would create a canary file when unpickled; the tests prove the
refusal by the canary's absence, besides the error naming the file.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from workbench import _safepickle
from workbench.errors import OutputError
from workbench.results import load_arrays, results
from workbench.store import convert_legacy


class _Touch:
    """Unpickling this calls ``open(canary, "w")``: it creates the canary file."""

    def __init__(self, canary: str) -> None:
        self.canary = canary

    def __reduce__(self):
        return (open, (self.canary, "w"))


class _System:
    """Unpickling this runs a shell command that creates the canary file."""

    def __init__(self, canary: str) -> None:
        self.canary = canary

    def __reduce__(self):
        return (os.system, (f"touch '{self.canary}'",))


class _EvalPayload:
    def __init__(self, canary: str) -> None:
        self.canary = canary

    def __reduce__(self):
        return (eval, (f"open({self.canary!r}, 'w')",))


def _payloads(canary: str) -> dict[str, bytes]:
    out = {}
    for name, obj in {"open": _Touch(canary), "os.system": _System(canary), "eval": _EvalPayload(canary)}.items():
        for proto in (2, 4, 5):
            out[f"{name}-p{proto}"] = pickle.dumps({"amplitude": 1.0, "evil": obj}, protocol=proto)
    # A numpy object array whose items are the payload: refused before its items are rebuilt.
    out["object-array"] = pickle.dumps({"a": np.array([_Touch(canary), 1], dtype=object)}, protocol=4)
    # numpy's reconstruct asked to build something other than an ndarray (here a dict, itself allowed).
    out["reconstruct-other-class"] = (
        b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94"
        b"\x8c\x08builtins\x94\x8c\x04dict\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94."
    )
    return out


def test_the_canary_works(tmp_path):
    """Control: the plain unpickler does run the payload (so its absence below means something)."""
    canary = tmp_path / "canary"
    pickle.loads(pickle.dumps(_Touch(str(canary)))).close()
    assert canary.exists()


@pytest.mark.parametrize("numpy", [False, True])
def test_the_restricted_unpickler_refuses_code_and_runs_nothing(tmp_path, numpy):
    canary = tmp_path / "canary"
    for name, data in _payloads(str(canary)).items():
        with pytest.raises(OutputError, match="refusing|not a plain-data"):
            _safepickle.loads(data, what=f"payload {name}", allow_numpy=numpy)
        assert not canary.exists(), f"{name} ran code"


def test_plain_numeric_pickles_still_load(tmp_path):
    obj = {"x": np.linspace(0, 1, 5), "n": np.int64(3), "c": np.complex128(1j), "s": "text", "t": (1, 2.0)}
    for proto in (2, 3, 4, 5):
        back = _safepickle.loads(pickle.dumps(obj, protocol=proto), allow_numpy=True)
        np.testing.assert_array_equal(back["x"], obj["x"])
        assert back["n"] == 3 and back["c"] == 1j and back["s"] == "text" and back["t"] == (1, 2.0)
    with pytest.raises(OutputError, match="refusing to load numpy"):
        _safepickle.loads(pickle.dumps(obj, protocol=4))  # numpy only when asked for


def test_hostile_legacy_pickles_are_refused_and_the_rest_converts(demo_bundle, tmp_path):
    canary = tmp_path / "canary"
    jobs = demo_bundle.job_ids
    out = demo_bundle.path / "outputs"
    (out / f"{jobs[0]}.pkl").write_bytes(pickle.dumps({"amplitude": 1.0, "x": _Touch(str(canary))}, protocol=4))
    (out / f"{jobs[1]}.pkl").write_bytes(pickle.dumps({"amplitude": 2.0, "x": _System(str(canary))}, protocol=2))
    (out / f"{jobs[2]}.pkl").write_bytes(pickle.dumps({"amplitude": 3.0, "psi": np.ones(3)}, protocol=4))
    (out / f"{jobs[3]}.pkl").write_bytes(b"\x80\x04\x95 truncated")
    report = convert_legacy(demo_bundle)
    assert not canary.exists()
    assert report.converted == (jobs[2],)
    refused = dict(report.refused)
    assert set(refused) == {jobs[0], jobs[1], jobs[3]}
    assert "builtins.open" in refused[jobs[0]] or "io.open" in refused[jobs[0]]
    assert "system" in refused[jobs[1]]
    assert all(f"{j}.pkl" in refused[j] for j in refused)
    df = results(demo_bundle).set_index("job_id")
    assert df.loc[jobs[2], "status"] == "completed"
    assert (df.loc[[jobs[0], jobs[1], jobs[3]], "status"] == "bad").all()


def test_an_object_array_in_an_npz_is_refused_and_runs_nothing(demo_bundle, fake, tmp_path):
    canary = tmp_path / "canary"
    fake(demo_bundle, demo_bundle.job_ids[:3])
    victim = demo_bundle.job_ids[1]
    buf = io.BytesIO()
    np.savez(buf, trajectory=np.array([_Touch(str(canary))], dtype=object))  # savez pickles object arrays
    demo_bundle.arrays_path(victim).write_bytes(buf.getvalue())
    with pytest.raises(OutputError) as err:
        load_arrays(demo_bundle, victim)
    assert str(demo_bundle.arrays_path(victim)) in str(err.value)
    assert not canary.exists()
    # The scalar table does not touch arrays: everything still loads.
    assert (results(demo_bundle)["status"] == "completed").sum() == 3


@pytest.mark.parametrize("how", ["truncated", "not a zip", "bad member"])
def test_a_damaged_npz_is_an_error_naming_the_file(demo_bundle, fake, how):
    jid = demo_bundle.job_ids[0]
    fake(demo_bundle, [jid])
    path = demo_bundle.arrays_path(jid)
    good = path.read_bytes()
    if how == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif how == "not a zip":
        path.write_bytes(b"\x93NUMPY garbage")
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("trajectory.npy", b"\x93NUMPY\x01\x00 not a header")
    with pytest.raises(OutputError) as err:
        load_arrays(demo_bundle, jid)
    assert str(path) in str(err.value)


def test_info_pickles_stay_plain_data_only(tmp_path):
    data = pickle.dumps({"format": 1, "a": np.arange(3)}, protocol=4)
    with pytest.raises(OutputError, match="refusing to load numpy"):
        _safepickle.loads(data, what="info.pkl")
