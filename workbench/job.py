"""Running one job: the same code on this machine, over SSH and on an HTCondor execute node.

Command line (what ``submit_job.sub`` runs on a pool)::

    python -m workbench.job INPUT.json [--outdir DIR] [--checkpoint-dir DIR]
                                       [--checkpoint-seconds S] [--exit-on-checkpoint]

It loads the job's input, runs the job type's function, writes the result
atomically (``<id>.arrays.npz`` then ``<id>.result.json``, the latter last so
its presence means "done"), and on an exception prints the traceback to stderr
and exits 1.  After writing a checkpoint with ``--exit-on-checkpoint`` it exits
85, HTCondor's ``checkpoint_exit_code``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import numbers
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import _names
from ._atomic import atomic_write
from ._bounded import read_bounded
from .checkpoint import Checkpoint, CheckpointExit
from .errors import JobError, JobTypeError
from .jobtype import JobContext, JobType

__all__ = ["JobOutcome", "Runner", "run_job", "write_result", "main"]


@dataclass(frozen=True)
class JobOutcome:
    """How one run of a job ended."""

    job_id: str
    exit_code: int  # 0 done, 1 failed, 85 checkpointed (restart me)
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def _split_results(job_id: str, results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not isinstance(results, Mapping):
        raise JobError(
            f"Job {job_id}: the run function returned a {type(results).__name__}; it must return a dict of "
            "names to numbers, texts or numpy arrays."
        )
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in results.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise JobError(f"Job {job_id}: result name {key!r} is not an identifier; use names like 'energy'.")
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, str)):
            scalars[key] = value
        elif isinstance(value, numbers.Integral):
            scalars[key] = int(value)
        elif isinstance(value, numbers.Real):
            v = float(value)
            if math.isfinite(v):
                scalars[key] = v
            else:
                # JSON has no NaN or infinity; keep them exact in the arrays file instead.
                arrays[key] = np.asarray(v)
        elif isinstance(value, (np.ndarray, list, tuple, numbers.Complex)):
            arr = np.asarray(value)
            if arr.dtype == object:
                raise JobError(
                    f"Job {job_id}: result {key!r} holds Python objects ({type(value).__name__}); return numbers, "
                    "texts or numeric numpy arrays."
                )
            arrays[key] = arr
        else:
            raise JobError(
                f"Job {job_id}: result {key!r} is a {type(value).__name__}; return numbers, texts or numpy arrays."
            )
    return scalars, arrays


def write_result(outdir: Path, job_input: Mapping[str, Any], results: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Write a job's result files atomically; ``<id>.result.json`` last."""
    job_id = job_input["job_id"]
    scalars, arrays = _split_results(job_id, results)
    _names.check_job_id(job_id, "the job's input")  # the files' names are made from it
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(outdir / _names.arrays_name(job_id), buf.getvalue())
    record = {
        "format": _names.RESULT_FORMAT,
        "job_id": job_id,
        "index": job_input.get("index"),
        "job_type": job_input.get("job_type"),
        "params": job_input.get("params", {}),
        "scalars": scalars,
        "arrays": sorted(arrays),
        **meta,
    }
    atomic_write(outdir / _names.result_name(job_id), json.dumps(record, allow_nan=False).encode())


@dataclass(frozen=True)
class Runner:
    """The code one job type runs: found by the job type's name where the job runs, never named by a bundle.

    ``ref`` is the import path bundles record in every input (``"run"``); an
    input whose job type or ``"run"`` disagrees with this runner's is refused,
    so a crafted input can neither pick another function nor run the job
    type's function under another name.
    """

    job_type: str
    ref: str | None
    run: Any

    @classmethod
    def of(cls, job_type: JobType) -> Runner:
        try:
            ref = job_type.ref
        except JobTypeError:
            ref = None
        return cls(job_type.name, ref, job_type.run)

    @classmethod
    def named(cls, name: Any) -> Runner:
        """The runner of the job type called ``name`` in the registry (built-in, installed, made or registered here)."""
        from .registry import get_job_type

        return cls.of(get_job_type(name))

    def check(self, job_input: Mapping[str, Any], where: str) -> None:
        """Refuse ``job_input`` (read from ``where``) unless it is a job of this runner's job type."""
        name, ref = job_input.get("job_type"), job_input.get("run", self.ref)
        if name != self.job_type or ref != self.ref:
            raise JobError(
                f"{where} is a job of type {_shown(name)} running {_shown(ref)}, but this is a run of job type "
                f"{self.job_type!r}, whose function is {self.ref!r}. A bundle names its job type and cannot choose "
                "the code: the input was edited or belongs to another bundle, so it is not run. Re-create the "
                "bundle from its scan."
            )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _run_function(job_input: Mapping[str, Any]) -> Any:
    """The run function of the job type the input names, from the registry, if the input's ``"run"`` agrees."""
    runner = Runner.named(job_input.get("job_type"))
    runner.check(job_input, "The job's input")
    return runner.run


def _read_input(input_path: str | os.PathLike[str], job_id: str) -> dict[str, Any]:
    """The job's input, refused unless it is a JSON object of the job named by its file."""
    _names.check_job_id(job_id, f"the name of {input_path}")
    try:
        job_input = json.loads(read_bounded(input_path, _MAX_INPUT_BYTES))
    except (ValueError, RecursionError) as e:
        raise JobError(f"{input_path} is not JSON ({str(e)[:200]}); the bundle is damaged. Re-create it.") from None
    except OSError as e:
        raise JobError(f"Cannot read the job's input {input_path}: {e.strerror or e}.") from None
    if not isinstance(job_input, dict) or not isinstance(job_input.get("params"), dict):
        raise JobError(f"{input_path} is not a job's input (a JSON object with 'params'); the bundle is damaged.")
    if job_input.get("job_id") != job_id:
        raise JobError(
            f"{input_path} says it is job {_shown(job_input.get('job_id'))}, not job {job_id}: the input was "
            "edited or moved, so it is not run. Re-create the bundle from its scan."
        )
    return job_input


#: A job's input is a few hundred bytes; a larger one is not read whole.
_MAX_INPUT_BYTES = 16 << 20


@contextlib.contextmanager
def _output_to(stdout_path: str | os.PathLike[str] | None, stderr_path: str | os.PathLike[str] | None) -> Iterator[None]:
    """Send what the job prints (Python's ``print`` and compiled code writing to fd 1 and 2) to its log files.

    Why: a local worker process shares the kernel's stdout and stderr, so a
    job's progress lines would land in the notebook cell that started the run,
    run together from several workers.  On a pool the job's ``output``/``error``
    files already catch them, and nothing is redirected (``None``).
    """
    if stdout_path is None:
        yield
        return
    targets = [(1, sys.stdout, "stdout", stdout_path)]
    if stderr_path is not None:
        targets.append((2, sys.stderr, "stderr", stderr_path))
    saved: list[tuple[int, int, Any, str]] = []
    try:
        for fd, stream, name, path in targets:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
            with open(path, "a", encoding="utf-8") as f:
                saved.append((fd, os.dup(fd), stream, name))
                os.dup2(f.fileno(), fd)
            # A text stream on the redirected descriptor, line-buffered: a crash loses no finished line.
            setattr(sys, name, open(fd, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False))  # noqa: SIM115
        yield
    finally:
        for fd, copy, stream, name in reversed(saved):
            current = getattr(sys, name)
            try:
                current.flush()
            finally:
                current.close()  # closefd=False: the descriptor stays, restored just below
                os.dup2(copy, fd)
                os.close(copy)
                setattr(sys, name, stream)


def run_job(
    input_path: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_seconds: float | None = None,
    exit_on_checkpoint: bool = False,
    stderr_path: str | os.PathLike[str] | None = None,
    runner: Runner | None = None,
    stdout_path: str | os.PathLike[str] | None = None,
) -> JobOutcome:
    """Run the job described by ``input_path`` and write its result into ``outdir``.

    The function that runs is the one of the job type the input names, found
    in the registry (or ``runner``'s, which the input must name); the input
    must be the job its file name says. Exceptions from the job are caught:
    the traceback goes to ``stderr_path`` (or is returned in the outcome) and
    the exit code is 1.  With ``stdout_path``, what the job prints goes to that
    file (and its stderr to ``stderr_path``) instead of this process's output.
    """
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc)
    job_id = Path(input_path).name.removesuffix(_names.INPUT_SUFFIX)
    try:
        job_input = _read_input(input_path, job_id)
        if runner is None:
            fn = _run_function(job_input)
        else:
            runner.check(job_input, str(input_path))
            fn = runner.run
        ckpt = None
        if job_input.get("checkpointing"):
            ckpt = Checkpoint(
                Path(checkpoint_dir or outdir) / _names.checkpoint_name(job_id),
                every_seconds=checkpoint_seconds,
                exit_after_save=exit_on_checkpoint,
            )
        ctx = JobContext(job_id=job_id, checkpoint=ckpt)
        with _output_to(stdout_path, stderr_path):
            results = fn(job_input["params"], ctx)
        meta = {
            "runtime": time.perf_counter() - t0,
            "host": socket.gethostname(),
            "started": started.isoformat(timespec="milliseconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        }
        write_result(Path(outdir), job_input, results, meta)
        if ckpt is not None:
            ckpt.clear()
        return JobOutcome(job_id, 0, time.perf_counter() - t0)
    except CheckpointExit:
        return JobOutcome(job_id, _names.CHECKPOINT_EXIT_CODE, time.perf_counter() - t0)
    except BaseException as e:  # noqa: BLE001 - a job's failure must never take the executor down
        if isinstance(e, KeyboardInterrupt):
            raise
        text = traceback.format_exc()
        report = f"[{datetime.now().isoformat(timespec='seconds')}] job {job_id} failed on {socket.gethostname()}\n{text}"
        if stderr_path is not None:
            with open(stderr_path, "a", encoding="utf-8") as f:
                f.write(report)
        else:  # on a pool, stderr is the job's error= file
            sys.stderr.write(report)
        last = text.strip().splitlines()[-1] if text.strip() else repr(e)
        return JobOutcome(job_id, 1, time.perf_counter() - t0, last)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.job", description="Run one job of a workbench bundle.")
    parser.add_argument("input", help="the job's input file (inputs/<shard>/<job_id>.json)")
    parser.add_argument("--outdir", default=".", help="where to write <job_id>.result.json and .arrays.npz")
    parser.add_argument("--checkpoint-dir", default=None, help="where the checkpoint lives (default: --outdir)")
    parser.add_argument("--checkpoint-seconds", type=float, default=None, help="wall time between checkpoints")
    parser.add_argument(
        "--exit-on-checkpoint",
        action="store_true",
        default=None,
        help=f"exit {_names.CHECKPOINT_EXIT_CODE} after each checkpoint (default: on under HTCondor)",
    )
    args = parser.parse_args(argv)
    exit_on_ckpt = args.exit_on_checkpoint if args.exit_on_checkpoint is not None else "_CONDOR_JOB_AD" in os.environ
    outcome = run_job(
        args.input,
        args.outdir,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_seconds=args.checkpoint_seconds,
        exit_on_checkpoint=exit_on_ckpt,
    )
    return outcome.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
