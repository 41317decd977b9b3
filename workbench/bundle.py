"""Job bundles: render a scan into files (pure), write them atomically, open them again.

A bundle is one directory::

    info.pkl            metadata (format version, job type, scan, counts, versions, host)
    inputs/             one JSON input per job: <first 2 characters of job_id>/<job_id>.json
    logs/               the event log (scan.log) and per-job stdout/stderr
    outputs/            per job: <job_id>.result.json (+ <job_id>.arrays.npz)
    parameters.txt      the scan for people: each parameter, its source and values
    specifications.txt  one line per job
    points.csv          the points as a table (index, job_id, every parameter)
    jobs.txt            the items of submit_job.sub's single ``queue ... from``
    submit_job.sub      the HTCondor submit description
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import platform
import re
import shutil
import socket
import tempfile
import uuid
from glob import escape as glob_escape
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _names, _safepickle
from ._bounded import read_bounded
from .errors import BundleError, BundleExistsError, BundleFormatError, JobTypeError, ScanError
from .scan import Scan, canonical_json, point_id
from .settings import RunSettings
from .sources import NumericValues, spacing
from .submit import render_submit

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BundlePlan", "Bundle", "plan_bundle", "write_bundle", "create", "open_bundle"]


# ---------------------------------------------------------------------------
# Rendering (pure)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BundlePlan:
    """Everything a bundle will contain, computed but not yet written."""

    name: str
    info: dict[str, Any]
    files: dict[str, str]  # relative path -> text, for the small files
    job_ids: list[str]
    inputs: list[str] = field(repr=False)  # JSON text per job, aligned with job_ids
    #: Jobs of the whole bundle: more than ``job_ids`` for a preview (:func:`plan_bundle` with ``head``),
    #: which renders only the first jobs and scales the sizes of the per-job files from them.
    count: int | None = None

    @property
    def is_preview(self) -> bool:
        return self.count is not None and self.count != len(self.job_ids)

    def _size(self, rel: str, text: str) -> int:
        size = len(text.encode())
        if self.is_preview and rel in _PER_JOB_FILES:
            return round(size * (self.count or 0) / max(1, len(self.job_ids)))
        return size

    def summary(self, *, specs: int = 5) -> str:
        """What would be written, for ``--dry`` runs and the form's preview."""
        n = self.count if self.count is not None else len(self.job_ids)
        inputs = sum(len(t) for t in self.inputs) * n / max(1, len(self.inputs))
        total = sum(self._size(p, t) for p, t in self.files.items()) + inputs
        out = [
            f"Bundle {self.name!r}: {n:,} job(s) of type {self.info['job_type']!r}, "
            f"about {total / 1e6:.2f} MB in {len(self.files) + n + 1:,} files.",
            "",
            "Files:",
            f"  {_names.INFO}",
            f"  {_names.INPUTS}/  ({n:,} files, e.g. {_names.input_relpath(self.job_ids[0])})",
            f"  {_names.LOGS}/",
            f"  {_names.OUTPUTS}/",
        ]
        about = "about " if self.is_preview else ""
        out += [
            f"  {p}  ({about if p in _PER_JOB_FILES else ''}{self._size(p, t):,} bytes)" for p, t in sorted(self.files.items())
        ]
        out += ["", f"{_names.SUBMIT}:", *("  " + ln for ln in self.files[_names.SUBMIT].splitlines())]
        lines = self.files[_names.SPECIFICATIONS].splitlines()
        first_job = next((i for i, ln in enumerate(lines) if ln.startswith("job ")), len(lines))
        out += ["", f"{_names.SPECIFICATIONS} (first {specs}):", *("  " + ln for ln in lines[: first_job + specs])]
        if n > specs:
            out.append(f"  ... {n - specs:,} more")
        return "\n".join(out)


#: The files with a line per job, whose size a preview scales from its first jobs.
_PER_JOB_FILES = frozenset((_names.SPECIFICATIONS, _names.ITEMS, _names.POINTS))


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        text = f"{v:.12g}"
        return text if any(c in text for c in ".eni") else text + ".0"
    return repr(v) if isinstance(v, str) else str(v)


def _values_summary(values: Sequence[Any]) -> str:
    n = len(values)
    shown = ", ".join(_fmt_value(v) for v in values) if n <= 8 else (
        ", ".join(_fmt_value(v) for v in values[:3]) + ", ..., " + ", ".join(_fmt_value(v) for v in values[-2:])
    )
    extra = ""
    even = spacing(values)
    if even is not None:
        kind, by = even
        extra = f"  (step {_fmt_value(by)})" if kind == "step" else f"  (ratio {by:.6g})"
    return f"values ({n}): {shown}{extra}"


def render_parameters(scan: Scan) -> str:
    """``parameters.txt``: the scan definition for people."""
    jt = scan.job_type
    cost = scan.cost
    shape = " x ".join(f"{d.label} {len(d)}" for d in scan.axes) or "a single point"
    out = [
        f"Job type: {jt.name} ({jt.title})",
        f"Jobs: {len(scan):,} = {shape}",
        f"Estimated cost: {cost.core_hours:.3g} core-hours{' (sampled)' if cost.estimated else ''}; "
        f"per job at most {cost.max_seconds:.3g} s, {cost.max_memory_mb:.3g} MB memory, {cost.max_disk_mb:.3g} MB disk",
        "",
    ]
    for p in jt.params:
        src = scan.sources[p.name]
        vals = scan.values(p.name)
        unit = f" [{p.unit}]" if p.unit else ""
        out.append(f"{p.name}{unit}: {p.help}".rstrip(": "))
        out.append(f"    source: {src.describe()}{'  (default)' if src.kind == 'value' and vals[0] == p.default else ''}")
        out.append(f"    {_values_summary(vals)}")
    if scan.zip:
        out += ["", "Zipped (paired) axes: " + "; ".join(" with ".join(g) for g in scan.zip)]
    if scan.problems:
        out += ["", "Findings of the job type's checks:"] + [f"    {p.level}: {p.message}" for p in scan.problems]
    return "\n".join(out) + "\n"


def _csv_line(fields: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(fields)
    return buf.getvalue()


def _encoded_column(col: Sequence[Any]) -> tuple[list[str], list[str], list[str]]:
    """The canonical JSON, specification and CSV texts of every value of one column.

    A long numeric axis (:class:`~workbench.sources.NumericValues`) is encoded
    in bulk: JSON and CSV write a Python float as its ``repr`` and an int as
    its decimal digits, which is what ``float.__repr__``/``int.__repr__`` give.
    """
    if isinstance(col, NumericValues):
        values = col.tolist()
        text = list(map(repr, values))
        if col.array.dtype.kind != "f":
            return text, text, text
        # _fmt_value of each float, in bulk: 12 significant digits, and ".0" on whole numbers.
        spec = [t if "." in t or "e" in t else t + ".0" for t in (format(v, ".12g") for v in values)]
        return text, spec, text
    return (
        [canonical_json(v) for v in col],
        [_fmt_value(v) for v in col],
        [_csv_line([v])[:-1] for v in col],
    )


def _rendered_points(scan: Scan, varying: list[str]) -> Iterator[tuple[str, str, str]]:
    """Per point, in expansion order: its canonical JSON, its specification text and its CSV fields.

    Each axis value is encoded once and points are assembled from the
    pieces, which is what makes a 100,000-job bundle quick to render; the
    JSON equals :func:`workbench.scan.canonical_json` of the point.
    """
    names = list(scan.job_type.param_names)
    json_slot = {n: i for i, n in enumerate(sorted(names))}
    spec_slot = {n: i for i, n in enumerate(varying)}
    csv_slot = {n: i for i, n in enumerate(names)}
    if not names:  # a job type without parameters: one point
        yield "{}", "", ""
        return
    # One buffer holds a point's texts: its JSON members, then its specification parts, then its CSV fields.
    nj, ns = len(names), len(varying)
    # Per dimension and step: the (buffer slot, text) pieces it places.
    pieces = []
    for d in scan.dimensions:
        cols = []
        for n in d.names:
            js, sp, cs = _encoded_column(d.column(n))
            key = canonical_json(n)
            cols.append([(json_slot[n], f"{key}:{t}") for t in js])
            if n in spec_slot:
                cols.append([(nj + spec_slot[n], f"{n} = {t}") for t in sp])
            cols.append([(nj + ns + csv_slot[n], t) for t in cs])
        pieces.append(list(zip(*cols)))
    buf = [""] * (nj + ns + nj)
    # The last dimension varies fastest: the others' pieces are placed once per run of it.
    *outer, last = pieces
    for combo in itertools.product(*outer):
        for piece in combo:
            for i, t in piece:
                buf[i] = t
        for piece in last:
            for i, t in piece:
                buf[i] = t
            yield "{" + ",".join(buf[:nj]) + "}", ", ".join(buf[nj : nj + ns]), ",".join(buf[nj + ns :])


def _head_points(scan: Scan, varying: list[str], k: int) -> Iterator[tuple[str, str, str]]:
    """What :func:`_rendered_points` yields for the first ``k`` points only, at a cost that does not grow
    with the scan (no whole column is encoded)."""
    names = list(scan.job_type.param_names)
    dims = scan.dimensions
    sizes = [len(d) for d in dims]
    for index in range(min(k, len(scan))):
        steps, rest = [], index
        for size in reversed(sizes):  # the last dimension varies fastest
            steps.append(rest % size)
            rest //= size
        point = scan._point_from_steps([d.values[i] for d, i in zip(dims, reversed(steps))])  # noqa: SLF001
        yield (
            canonical_json(point),
            ", ".join(f"{n} = {_fmt_value(point[n])}" for n in varying),
            _csv_line([point[n] for n in names])[:-1],
        )


#: Bytes of memory a bundle takes to render, per job, besides its texts (the Python objects of five lists).
_PER_JOB_MEMORY = 600


def _available_memory() -> int | None:
    """Memory this process can still get: the machine's ``MemAvailable``, or less under a container's
    (cgroup v2) limit; None where neither is known."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            found += [int(ln.split()[1]) * 1024 for ln in f if ln.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f, open("/sys/fs/cgroup/memory.current", encoding="ascii") as g:
            limit = f.read().strip()
            if limit.isdigit():
                found.append(int(limit) - int(g.read().strip()))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def _check_fits(scan: Scan, name: str, settings: RunSettings | None) -> None:
    """Refuse a scan whose rendering would not fit in this machine's memory, before any of it is made."""
    n = len(scan)
    if n <= 100_000:
        return
    head = plan_bundle(scan, name=name, settings=settings, head=64)
    per_job = _PER_JOB_MEMORY + 2 * sum(len(t) for t in head.inputs) / max(1, len(head.inputs)) + 2 * sum(
        len(head.files[p]) for p in _PER_JOB_FILES
    ) / max(1, len(head.job_ids))
    need, have = n * per_job, _available_memory()
    if have is not None and need > have:
        raise ScanError(
            f"The scan has {n:,} jobs: rendering its bundle takes about {need / 1e9:.1f} GB of memory, and this "
            f"machine has {have / 1e9:.1f} GB free. Split the scan into several bundles (fewer values per axis), "
            "or scan fewer points."
        )


def plan_bundle(
    scan: Scan, *, name: str, settings: RunSettings | None = None, head: int | None = None
) -> BundlePlan:
    """Render ``scan`` into the contents of a bundle, without touching the disk.

    With ``head``, only the first ``head`` jobs are rendered (a preview: what
    ``--dry`` and the form show), at a cost that does not grow with the scan;
    :attr:`BundlePlan.count` holds the number of jobs of the whole bundle.

    Raises :class:`~workbench.errors.ScanError` when the job type's checks find errors,
    or when the whole bundle would not fit in memory.
    """
    scan.raise_for_errors()
    if head is None:
        _check_fits(scan, name, settings)
    jt = scan.job_type
    cost = scan.cost
    settings = (settings or RunSettings()).with_cost(cost.max_memory_mb, cost.max_disk_mb)
    names = list(jt.param_names)
    fixed = scan.fixed
    varying = [n for n in names if n not in fixed]

    ids: list[str] = []
    inputs: list[str] = []
    items: list[str] = []
    specs: list[str] = [f"# {jt.name} scan {name!r}: {len(scan):,} job(s), one per line: index, job id, scanned values.\n"]
    points: list[str] = [_csv_line(["index", "job_id", *names])]
    if fixed:
        specs.append("# Every job has:\n")
        width = max(len(n) for n in fixed)
        specs += [f"#   {n:<{width}} = {_fmt_value(v)}\n" for n, v in fixed.items()]
    specs.append("\n")
    rendered = _rendered_points(scan, varying) if head is None else _head_points(scan, varying, head)
    start = json.dumps({"format": _names.BUNDLE_FORMAT, "job_type": jt.name, "run": jt.ref, "checkpointing": jt.checkpointing})[:-1]
    seen: set[str] = set()
    for index, (params, spec, row) in enumerate(rendered):
        pid = point_id(jt.name, {}, canonical=params)
        if pid in seen:  # pragma: no cover - 64-bit hash collision; would silently merge two jobs
            raise BundleError(f"Two points share the id {pid}; please report this with the scan definition.")
        seen.add(pid)
        ids.append(pid)
        inputs.append(f'{start}, "job_id": "{pid}", "index": {index}, "params": {params}}}\n')
        items.append(f"{index} {pid}\n")
        specs.append(f"job {index} ({pid}): {spec}\n")
        points.append(f"{index},{pid},{row}\n")

    now = datetime.now(timezone.utc)
    from . import __version__

    info: dict[str, Any] = {
        "format": _names.BUNDLE_FORMAT,
        "name": name,
        "job_type": jt.name,
        "job_type_title": jt.title,
        "run": jt.ref,
        "job_type_ref": jt.object_ref,
        "checkpointing": jt.checkpointing,
        "scan": scan.to_dict(),
        "count": len(scan),
        "shape": {d.label: len(d) for d in scan.axes},
        "cost": {
            "core_seconds": cost.core_seconds,
            "max_seconds": cost.max_seconds,
            "max_memory_mb": cost.max_memory_mb,
            "max_disk_mb": cost.max_disk_mb,
            "estimated": cost.estimated,
        },
        "warnings": [p.message for p in scan.warnings],
        "settings": settings.to_dict(),
        "created": now.isoformat(timespec="seconds"),
        "versions": {"workbench": __version__, "python": platform.python_version(), "numpy": np.__version__},
        "host": socket.gethostname(),
        # Tells this bundle from another made the same second (a remote copy is checked against it).
        "uid": uuid.uuid4().hex,
    }
    files = {
        _names.PARAMETERS: render_parameters(scan),
        _names.SPECIFICATIONS: "".join(specs),
        _names.ITEMS: "".join(items),
        _names.POINTS: "".join(points),
        _names.SUBMIT: render_submit(
            name=name, job_type=jt.name, count=len(scan), settings=settings, checkpointing=jt.checkpointing
        ),
    }
    return BundlePlan(name=name, info=info, files=files, job_ids=ids, inputs=inputs, count=len(scan))


# ---------------------------------------------------------------------------
# Writing (atomic)
# ---------------------------------------------------------------------------
def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


_WRITERS = 4


def _write_tree(plan: BundlePlan, root: Path) -> None:
    for sub in (_names.INPUTS, _names.LOGS, _names.OUTPUTS):
        (root / sub).mkdir()
    for rel, text in plan.files.items():
        _write_text(root / rel, text)
    inputs = root / _names.INPUTS
    for shard in sorted({_names.input_shard(pid) for pid in plan.job_ids}):
        (inputs / shard).mkdir()
    # Creating files is syscall-bound and the calls release the GIL: a few
    # threads write 100,000 inputs about twice as fast as one (and, spread
    # over the shard folders, do not queue on one folder's lock).
    n = len(plan.job_ids)
    chunks = [(k * n // _WRITERS, (k + 1) * n // _WRITERS) for k in range(_WRITERS)]
    base = os.fspath(root)

    def write_chunk(bounds: tuple[int, int]) -> None:
        for pid, text in zip(plan.job_ids[bounds[0] : bounds[1]], plan.inputs[bounds[0] : bounds[1]]):
            fd = os.open(os.path.join(base, _names.input_relpath(pid)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)

    if n < 2_000:
        write_chunk((0, n))
    else:
        with ThreadPoolExecutor(_WRITERS) as pool:
            list(pool.map(write_chunk, chunks))
    # info.pkl last: a directory without it is not a bundle.
    with open(root / _names.INFO, "wb") as f:
        f.write(_safepickle.dumps(plan.info))


def _exists(path: Path, given: Path) -> BundleExistsError:
    """The error for a bundle path that is taken: ``path`` absolute, ``given`` as the caller wrote it."""
    return BundleExistsError(
        f"{path} already exists. Choose another path, open it with workbench.open_bundle({str(given)!r}), "
        "or replace it with overwrite=True (--overwrite on the command line)."
    )


def _is_bundle(path: Path) -> bool:
    return (path / _names.INFO).is_file()


#: In a bundle being written (``.<name>.xxxx.partial``): the pid and start time of the process writing it.
_CREATOR = ".creator"


def _process_start(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), or "" where that is unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def _remove_stale_partials(final: Path) -> None:
    """Remove what killed writes of ``final`` left (``.<name>.xxxx.partial``): those whose writer is gone.

    The writer is gone when no process of its pid runs, or one does that started at another time (a pid
    used again). A partial without a record, or of a writer still running, is left alone.
    """
    for tmp in final.parent.glob(f".{glob_escape(final.name)}.*.partial"):
        try:
            pid_text, _, started = (tmp / _CREATOR).read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if started and _process_start(pid) == started:
            continue  # still being written
        if not started and Path(f"/proc/{pid}").exists():
            continue
        shutil.rmtree(tmp, ignore_errors=True)


def write_bundle(plan: BundlePlan, path: str | os.PathLike[str], *, overwrite: bool = False) -> Bundle:
    """Write a rendered bundle to ``path`` atomically.

    The files are written into a hidden temporary sibling directory that is
    renamed to ``path`` at the end, so ``path`` holds either nothing or a
    whole bundle.  An existing bundle is replaced only with ``overwrite=True``;
    an existing directory that is not a bundle is never replaced.
    """
    final = Path(path).expanduser().absolute()
    parent = final.parent
    if final.exists():
        if not overwrite:
            raise _exists(final, final)
        if not (_is_bundle(final) or (final.is_dir() and not any(final.iterdir()))):
            raise BundleExistsError(
                f"{final} exists and is not a workbench bundle (no {_names.INFO}); refusing to replace it. "
                "Choose another path."
            )
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BundleError(f"Cannot create the folder {parent} for the bundle: {e.strerror}.") from e
    # Characters for bytes (nearly all ASCII): no copy of a large text is made to count it.
    need = sum(map(len, plan.files.values())) + sum(map(len, plan.inputs)) + 4096 * len(plan.inputs)
    free = shutil.disk_usage(parent).free
    if need > free:
        raise BundleError(
            f"The bundle needs about {need / 1e6:,.0f} MB in {parent}, which has {free / 1e6:,.0f} MB free. "
            "Free some space, choose another folder, or scan fewer points."
        )
    _remove_stale_partials(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=parent))
    try:
        (tmp / _CREATOR).write_text(f"{os.getpid()} {_process_start(os.getpid())}\n")
        _write_tree(plan, tmp)
        (tmp / _CREATOR).unlink()
        os.chmod(tmp, 0o755)
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=parent))
            os.rename(final, trash / "old")
            os.rename(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and not isinstance(e, BundleError):
            raise BundleError(f"Writing the bundle {final} failed ({e}); nothing was left at that path.") from e
        raise
    return Bundle(final)


def create(
    scan: Scan,
    path: str | os.PathLike[str],
    *,
    settings: RunSettings | None = None,
    overwrite: bool = False,
    name: str | None = None,
) -> Bundle:
    """Render and write a bundle for ``scan`` at ``path`` (see :func:`plan_bundle`, :func:`write_bundle`)."""
    final = Path(path).expanduser()
    if final.exists() and not overwrite:
        raise _exists(final.absolute(), final)  # before rendering a large scan
    plan = plan_bundle(scan, name=name or final.name, settings=settings)
    return write_bundle(plan, final, overwrite=overwrite)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
#: What ``info.pkl`` must hold, and of which types, for the bundle to be read at all.
_INFO_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (int,), "name": (str,), "job_type": (str,), "count": (int,), "settings": (dict,), "scan": (dict,),
}  # fmt: skip

#: ``jobs.txt`` holds about 20 bytes a job; far more than 10^7 jobs' worth is not one.
_MAX_ITEMS_BYTES = 1 << 30
_ITEMS_TEXT = re.compile(r"(?:[0-9]+ [0-9a-f]{16}\n)*")
_ITEM_INDEX = re.compile(r"^([0-9]+) ", re.M)
_ITEM_ID = re.compile(r" ([0-9a-f]{16})$", re.M)

class Bundle:
    """A job bundle on disk.  Cheap to make: files are read when first needed."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()

    def __repr__(self) -> str:
        return f"<Bundle {self.path} ({self.info['count']:,} {self.info['job_type']} jobs)>"

    def __fspath__(self) -> str:
        return str(self.path)

    @cached_property
    def info(self) -> dict[str, Any]:
        path = self.path / _names.INFO
        if not path.is_file():
            if not self.path.exists():
                raise BundleError(f"There is no bundle at {self.path}: the folder does not exist. Check the path.")
            raise BundleError(
                f"{self.path} is not a workbench bundle (it has no {_names.INFO}). "
                "Create one with workbench.create(...) or `workbench create`."
            )
        with open(path, "rb") as f:
            info = _safepickle.load(f, what=str(path))
        if not isinstance(info, dict) or "format" not in info:
            raise BundleFormatError(f"{path} does not hold bundle metadata; the bundle is damaged.")
        if info["format"] not in _names.READABLE_FORMATS:
            raise BundleFormatError(
                f"{self.path} has bundle format {info['format']!r}, but this workbench reads formats "
                f"{', '.join(map(str, _names.READABLE_FORMATS))}. Open it with the workbench version that wrote it "
                f"({str((info.get('versions') or {}).get('workbench', 'unknown'))[:40] if isinstance(info.get('versions'), dict) else 'unknown'}), or re-create the bundle from its scan."
            )
        for key, kinds in _INFO_FIELDS.items():
            value = info.get(key)
            if not isinstance(value, kinds) or isinstance(value, bool) or (key == "count" and value < 0):
                raise BundleFormatError(
                    f"{path} is damaged: {key!r} is {'missing' if key not in info else f'a {type(value).__name__}'}, "
                    f"not {' or '.join(k.__name__ for k in kinds)}. Re-create the bundle from its scan."
                )
        return info

    @property
    def name(self) -> str:
        return str(self.info["name"])

    @property
    def count(self) -> int:
        return int(self.info["count"])

    @cached_property
    def settings(self) -> RunSettings:
        try:
            return RunSettings.from_dict(self.info["settings"])
        except (TypeError, ValueError) as e:
            raise BundleFormatError(f"The run settings in {self.path / _names.INFO} are damaged: {str(e)[:200]}") from None

    @cached_property
    def scan(self) -> Scan:
        """The scan this bundle was made from (needs its job type to be known here: see below).

        The job type is found by name in the registry (registered, made in
        this process, built in or installed); the import path the bundle
        recorded (``job_type_ref``) is never imported, since a bundle must not
        choose the code that runs.
        """
        from .registry import JOB_TYPES_VARIABLE, get_job_type

        name = self.info.get("job_type")
        try:
            jt = get_job_type(name)
        except JobTypeError as e:
            ref = self.info.get("job_type_ref")
            hint = (
                f" The bundle says it is {str(ref)[:100]!r}: if you trust that module, import it (or name it in "
                f"${JOB_TYPES_VARIABLE}) and open the bundle again."
                if isinstance(ref, str) and ref
                else ""
            )
            raise JobTypeError(f"{e}{hint}") from None
        scan = self.info.get("scan")
        if not isinstance(scan, dict):
            raise BundleFormatError(f"{self.path / _names.INFO} has no scan definition; the bundle is damaged.")
        return Scan.from_dict(scan, job_type=jt)

    @cached_property
    def job_ids(self) -> list[str]:
        """Job ids in index order, from ``jobs.txt``: one ``<index> <job id>`` a line, each id of the form job
        ids have and used once (:class:`~workbench.errors.BundleError` naming the line otherwise)."""
        path = self.path / _names.ITEMS
        try:
            text = read_bounded(path, _MAX_ITEMS_BYTES).decode("utf-8")
        except FileNotFoundError:
            raise BundleError(f"{self.path} has no {_names.ITEMS}; the bundle is damaged. Re-create it from its scan.") from None
        except (OSError, UnicodeDecodeError) as e:
            raise BundleError(f"Cannot read {path} ({e}); the bundle is damaged. Re-create it from its scan.") from None
        if _ITEMS_TEXT.fullmatch(text):  # as written: checked in bulk (10^6 lines in a few tens of ms)
            indices = _ITEM_INDEX.findall(text)
            ids = _ITEM_ID.findall(text)
            if indices == list(map(str, range(len(indices)))) and len(set(ids)) == len(ids):
                return self._counted(ids)
        ids = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2 or fields[0] != str(len(ids)) or not _names.is_job_id(fields[1]):
                shown = line if len(line) <= 60 else line[:57] + "..."
                raise BundleError(
                    f"{path}, line {n}: {shown!r} is not '<index> <job id>' (index {len(ids)}, a job id of "
                    f"{_names.JOB_ID_LENGTH} hex digits); the bundle is damaged or was edited. Re-create it from its scan."
                )
            ids.append(fields[1])
        if len(set(ids)) != len(ids):
            seen: set[str] = set()
            dupe = next(j for j in ids if j in seen or seen.add(j))  # type: ignore[func-returns-value]
            raise BundleError(f"{path} lists job {dupe} more than once; the bundle was edited. Re-create it from its scan.")
        return self._counted(ids)

    def _counted(self, ids: list[str]) -> list[str]:
        # A bundle that grows (an adaptive scan, workbench.grow) commits an append by renaming jobs.txt last:
        # between its renames the count in info.pkl is ahead, and jobs.txt is the truth.
        has_info = (self.path / _names.INFO).is_file()  # (a folder of logs alone has no count)
        if has_info and len(ids) != self.count and "adaptive" not in self.info:
            raise BundleError(
                f"{self.path / _names.ITEMS} lists {len(ids):,} jobs, but the bundle has {self.count:,}; it is damaged. "
                "Re-create it from its scan."
            )
        return ids

    def index_of(self, job_id: str) -> int:
        return self._index[job_id]

    @cached_property
    def _index(self) -> dict[str, int]:
        return {j: i for i, j in enumerate(self.job_ids)}

    def points(self) -> pd.DataFrame:
        """The points as a DataFrame: index, job_id and every parameter (job ids as text)."""
        import pandas as pd

        path = self.path / _names.POINTS
        try:
            try:
                # The pyarrow parser reads 100,000 points several times faster than the default one.
                df = pd.read_csv(path, dtype={"job_id": str}, engine="pyarrow")
            except ImportError:  # pragma: no cover - pyarrow is optional for pandas
                df = pd.read_csv(path, dtype={"job_id": str})
        except (OSError, ValueError) as e:  # pandas and pyarrow errors derive from these
            raise BundleError(f"Cannot read {path} ({str(e)[:200]}); the bundle is damaged. Re-create it.") from None
        except Exception as e:  # noqa: BLE001 - pyarrow's own ArrowInvalid and the like
            raise BundleError(f"Cannot read {path} ({type(e).__name__}: {str(e)[:200]}); the bundle is damaged.") from None
        ids = self.job_ids
        if "job_id" in df.columns and len(df) > len(ids) and "adaptive" in self.info:
            df = df.iloc[: len(ids)]  # rows of an append not committed yet (see _counted): no jobs
        if "job_id" not in df.columns or df["job_id"].tolist() != ids:
            raise BundleError(
                f"{path} and {_names.ITEMS} do not list the same jobs; the bundle was edited or is damaged. "
                "Re-create it from its scan."
            )
        return df

    def input(self, job_id: str) -> dict[str, Any]:
        """The job's input; :class:`~workbench.errors.BundleError` if it is damaged or not this job's."""
        path = self.input_path(job_id)
        try:
            value = json.loads(read_bounded(path, 16 << 20))
        except (OSError, ValueError, RecursionError) as e:
            raise BundleError(f"Cannot read the input of job {job_id} ({path}): {str(e)[:200]}.") from None
        if not isinstance(value, dict) or value.get("job_id") != job_id:
            raise BundleError(f"{path} is not the input of job {job_id}; the bundle was edited. Re-create it.")
        return value

    # -- paths (each checks the id: a path made from a job id never leaves the bundle) --------------
    def input_path(self, job_id: str) -> Path:
        return self.path / _names.input_relpath(_names.check_job_id(job_id), self.info["format"])

    def result_path(self, job_id: str) -> Path:
        return self.path / _names.OUTPUTS / _names.result_name(_names.check_job_id(job_id))

    def arrays_path(self, job_id: str) -> Path:
        return self.path / _names.OUTPUTS / _names.arrays_name(_names.check_job_id(job_id))

    def stdout_path(self, job_id: str) -> Path:
        return self.path / _names.LOGS / _names.stdout_name(_names.check_job_id(job_id))

    def stderr_path(self, job_id: str) -> Path:
        return self.path / _names.LOGS / _names.stderr_name(_names.check_job_id(job_id))

    def checkpoint_path(self, job_id: str) -> Path:
        return self.path / _names.CHECKPOINTS / _names.checkpoint_name(_names.check_job_id(job_id))

    @property
    def log_path(self) -> Path:
        return self.path / _names.LOGS / _names.EVENT_LOG

    def finished_ids(self) -> set[str]:
        """Ids of jobs whose result file exists (one directory listing)."""
        suffix = _names.RESULT_SUFFIX
        try:
            with os.scandir(self.path / _names.OUTPUTS) as it:
                return {e.name[: -len(suffix)] for e in it if e.name.endswith(suffix)}
        except FileNotFoundError:
            return set()


def open_bundle(path: str | os.PathLike[str] | Bundle) -> Bundle:
    """Open the bundle at ``path``; raises :class:`~workbench.errors.BundleError` if there is none."""
    if isinstance(path, Bundle):
        return path
    b = Bundle(path)
    b.info  # noqa: B018 - read now so a wrong path fails here, with its message
    return b

