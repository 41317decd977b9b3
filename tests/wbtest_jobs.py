"""Job types used by the tests (importable by name, so subprocess runners find them too)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench.jobtype import Cost, JobContext, JobType, error, warning
from workbench.params import Param


def run_counting(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Sleeps, fails for x == fail_on, and records each completion in $WBTEST_LEDGER."""
    if point["sleep"]:
        time.sleep(point["sleep"])
    if point["x"] == point["fail_on"]:
        raise ValueError(f"x = {point['x']} is the value this job was told to fail on")
    ledger = os.environ.get("WBTEST_LEDGER")
    if ledger:
        fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"{ctx.job_id}\n".encode())
        os.close(fd)
    return {"y": point["x"] ** 2, "half": point["x"] / 2, "label": f"x{point['x']}", "series": np.arange(point["x"] + 1.0)}


def _check(p: Mapping[str, Any]) -> list:
    out = []
    if p["x"] > 1000:
        out.append(error(f"x = {p['x']} is above 1000, where this job type is not valid", "x"))
    if p["x"] == 13:
        out.append(warning("x = 13 is unlucky", "x"))
    return out


counting = JobType(
    name="wbtest-counting",
    title="Counting (tests)",
    params=(
        Param("x", "int", 0, min=-10_000, max=10_000, help="The number."),
        Param("mode", "choice", "a", choices=("a", "b")),
        Param("fail_on", "int", -1),
        Param("sleep", "float", 0.0, min=0.0, scannable=False),
    ),
    run=run_counting,
    checks=(_check,),
    cost=lambda p: Cost(seconds=1.0 + p["x"] % 3, memory_mb=100 + p["x"] % 7),
    cost_uses=("x",),
)


def run_dying(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Sleeps, then kills its own process for x == die_on, the way a crash or the out-of-memory killer does."""
    if point["sleep"]:
        time.sleep(point["sleep"])
    if point["x"] == point["die_on"]:
        how = point["how"]
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), {"kill": signal.SIGKILL, "segv": signal.SIGSEGV, "term": signal.SIGTERM}[how])
        time.sleep(60)  # the signal arrives first
    return {"y": point["x"] ** 2}


dying = JobType(
    name="wbtest-dying",
    title="Dying (tests)",
    params=(
        Param("x", "int", 0),
        Param("die_on", "int", -1),
        Param("how", "choice", "kill", choices=("kill", "segv", "exit", "term")),
        Param("sleep", "float", 0.0, min=0.0, scannable=False),
    ),
    run=run_dying,
)


def run_threads(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Reports the threads numpy's BLAS may use in this job, the OpenMP variable and the process."""
    from threadpoolctl import threadpool_info

    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    time.sleep(point["sleep"])
    return {"blas_threads": blas[0] if blas else -1, "omp": os.environ.get("OMP_NUM_THREADS", ""), "pid": os.getpid()}


threads = JobType(
    name="wbtest-threads",
    title="Threads (tests)",
    params=(Param("x", "int", 0), Param("sleep", "float", 0.0, min=0.0, scannable=False)),
    run=run_threads,
)


def run_chatty(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Prints in every way a job can: ctx.log, print, sys.stderr, and compiled code's writes to fd 1 and 2."""
    import sys

    ctx.log(f"chatty {point['x']}: ctx.log")
    print(f"chatty {point['x']}: print")
    print(f"chatty {point['x']}: sys.stderr", file=sys.stderr)
    os.write(1, f"chatty {point['x']}: fd 1\n".encode())
    os.write(2, f"chatty {point['x']}: fd 2\n".encode())
    return {"y": point["x"]}


chatty = JobType(
    name="wbtest-chatty",
    params=(Param("x", "int", 1),),
    run=run_chatty,
)
