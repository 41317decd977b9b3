"""Fixtures of the HTCondor tests: the event-log corpus, small bundles, a fake schedd, a submit host.

No HTCondor pool can run here (neither PyPI nor Debian ships the daemons), so:
the submit descriptions are checked with the real bindings (``htcondor2.Submit``),
the state machine reads logs in the exact format HTCondor writes
(``tests/data/eventlogs``), the local-schedd path talks to :class:`FakeSchedd`,
and the SSH path runs against a real OpenSSH server with stand-in
``condor_*`` scripts on the submit host.  Tests marked ``condor`` need a real
pool and skip when ``condor_status`` does not answer.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench import _names
from workbench.bundle import Bundle
from workbench.jobtype import JobContext
from workbench.scan import scan as make_scan

CORPUS = Path(__file__).parent.parent / "data" / "eventlogs"

#: The job ids the corpus logs carry in their submit events' notes, in bundle order.
IDS = ["3f9a2c1d5e7b8a60", "8c1e0f2a9b3d4e57", "a0b1c2d3e4f50617", "5d6e7f8091a2b3c4",
       "e1f2a3b4c5d6e7f8", "0a1b2c3d4e5f6071", "9e8d7c6b5a493827"]

JOB_TYPE = "condor_test"
CKPT_JOB_TYPE = "condor_test_ckpt"


@pytest.fixture
def ids() -> list[str]:
    """The job ids the corpus logs carry in their submit events' notes, in bundle order."""
    return list(IDS)


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def log_bundle(tmp_path: Path) -> Callable[..., Bundle]:
    """``log_bundle(name, log=None, ids=IDS)``: a minimal bundle folder (items, logs/, outputs/) with a copy of ``log``.

    ``log`` is the name of a corpus file, a path, or None for no log yet.
    """

    def make(name: str = "b", log: str | Path | None = None, ids: list[str] = IDS) -> Bundle:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        (root / _names.LOGS).mkdir(exist_ok=True)
        (root / _names.OUTPUTS).mkdir(exist_ok=True)
        (root / _names.ITEMS).write_text("".join(f"{i} {j}\n" for i, j in enumerate(ids)))
        if log is not None:
            src = CORPUS / log if isinstance(log, str) else Path(log)
            shutil.copyfile(src, root / _names.LOGS / _names.EVENT_LOG)
        return Bundle(root)

    return make


def run_point(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    return {"y": point["x"] * 2.0}


def run_steps(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Counts to ``steps``, saving a checkpoint whenever one is due (and resuming from it)."""
    assert ctx.checkpoint is not None
    state = ctx.checkpoint.load() or {"i": 0}
    i = int(state["i"])
    while i < point["steps"]:
        i += 1
        if i < point["steps"] and ctx.checkpoint.due(i):
            ctx.checkpoint.save({"i": i})  # exits 85 under --exit-on-checkpoint
    return {"steps": i}


def register_job_types() -> None:
    wb.register(wb.JobType(name=JOB_TYPE, params=(wb.Param("x", "float", 0.0),), run=run_point), replace=True)
    wb.register(
        wb.JobType(name=CKPT_JOB_TYPE, params=(wb.Param("steps", "int", 3, min=1),), run=run_steps, checkpointing=True),
        replace=True,
    )


@pytest.fixture
def make_bundle(tmp_path: Path) -> Iterator[Callable[..., Bundle]]:
    """``make_bundle(name, settings=None, job_type=JOB_TYPE, **values)``: a real bundle in ``tmp_path``.

    The test job types are registered for the test only (other tests list the registry).
    """
    from workbench import registry

    register_job_types()

    def make(name: str = "scan", settings: Any = None, job_type: str = JOB_TYPE, **values: Any) -> Bundle:
        if not values:
            values = {"x": [1.0, 2.0, 3.0]} if job_type == JOB_TYPE else {"steps": [2, 3]}
        return wb.create(make_scan(job_type, **values), tmp_path / name, settings=settings)

    yield make
    for name in (JOB_TYPE, CKPT_JOB_TYPE):
        registry._registered.pop(name, None)


class FakeSchedd:
    """Stands in for ``htcondor2.Schedd``: records calls, answers like a schedd, and writes submit events.

    ``submit`` checks that it got a real ``htcondor2.Submit`` and items, appends
    one submit event per item to the log the description names (what the
    schedd does), and returns an object with ``cluster()``.
    """

    def __init__(self, first_cluster: int = 4821, fail: Exception | None = None) -> None:
        self.next_cluster = first_cluster
        self.fail = fail
        self.submits: list[tuple[Any, list[dict[str, str]]]] = []
        self.acts: list[tuple[Any, Any, Any]] = []
        self.queries: list[tuple[str, list[str]]] = []
        self.ads: list[dict[str, Any]] = []

    def submit(self, description: Any, itemdata: Any = None, **kw: Any) -> Any:
        import htcondor2

        assert isinstance(description, htcondor2.Submit)
        items = list(itemdata)
        if self.fail is not None:
            raise self.fail
        cluster = self.next_cluster
        self.next_cluster += 1
        self.submits.append((description, items))
        log = Path(description["initialdir"]) / description["log"]
        with open(log, "a") as f:
            for proc, item in enumerate(items):
                f.write(
                    f"000 ({cluster:03d}.{proc:03d}.000) 2025-03-14 09:12:03 Job submitted from host: "
                    f"<10.0.4.21:9618?addrs=10.0.4.21-9618&alias=submit01.example.edu>\n    {item['job_id']}\n...\n"
                )

        class Result:
            def cluster(self) -> int:
                return cluster

            def num_procs(self) -> int:
                return len(items)

        return Result()

    def act(self, action: Any, job_spec: Any, reason: Any = None) -> dict[str, int]:
        self.acts.append((action, job_spec, reason))
        n = 1 if isinstance(job_spec, (int, str)) else len(job_spec)
        return {"TotalSuccess": n, "TotalError": 0}

    def query(self, constraint: str = "True", projection: list[str] | None = None, **kw: Any) -> list[dict[str, Any]]:
        self.queries.append((constraint, list(projection or [])))
        return list(self.ads)


@pytest.fixture
def fake_schedd() -> FakeSchedd:
    return FakeSchedd()


@pytest.fixture
def schedd_class() -> type[FakeSchedd]:
    return FakeSchedd


# ---------------------------------------------------------------------------
# A submit host over SSH
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def submit_sshd(sshd: Any) -> Any:
    """The session's OpenSSH server (``tests/sshd.py``), standing in as the submit host."""
    return sshd


@pytest.fixture(scope="session")
def pool() -> None:
    """Skips unless a real HTCondor pool answers ``condor_status`` (for tests marked ``condor``)."""
    reason = _pool_reason()
    if reason is not None:
        pytest.skip(reason)


def _pool_reason() -> str | None:
    """Why the ``condor`` tests cannot run here, or None when a pool answers."""
    if shutil.which("condor_status") is None:
        return "no HTCondor pool: condor_status is not installed (no daemons on PyPI or Debian)"
    try:
        r = subprocess.run(["condor_status", "-total"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"no HTCondor pool: condor_status did not answer ({e})"
    if r.returncode != 0:
        return f"no HTCondor pool: condor_status failed: {(r.stderr or r.stdout).strip()[:200]}"
    return None
