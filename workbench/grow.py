"""Growing a bundle: append new points as new jobs, atomically.

An adaptive scan (:mod:`workbench.adapting`) adds points to its bundle round
after round.  :func:`append_points` gives each new point its input file, its
line in ``jobs.txt``, its row in ``points.csv`` and its line in
``specifications.txt``, and updates the count in ``info.pkl``.  Ids come
from the points' content as always, so a point the bundle already has is not
added again.

Why it is safe to kill at any moment: the new inputs are written first (a
job's input without a ``jobs.txt`` line is not a job; readers go by
``jobs.txt``), then every index file is written whole under a temporary
name, and only then are they renamed over the old ones, ``jobs.txt`` last:
``jobs.txt`` is the commit.  An error before the renames removes the
temporaries and leaves the old bundle as it was.  A kill in the middle of the
renames (microseconds) can leave ``points.csv`` and ``specifications.txt``
with rows of jobs ``jobs.txt`` does not have yet; :func:`bundle_rows` and the
next append go by ``jobs.txt`` and cut such rows off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _names, _safepickle
from ._atomic import temporary_sibling
from .bundle import Bundle, _csv_line, _fmt_value
from .errors import BundleError
from .scan import canonical_json, point_id

__all__ = ["AppendReport", "append_points", "forget_cached", "read_job_ids"]

#: Suffix of the temporaries an append writes before it renames them.
_TMP_SUFFIX = ".append"


@dataclass(frozen=True)
class AppendReport:
    """What :func:`append_points` did: the ids of the points given, and which of them are new jobs."""

    ids: tuple[str, ...]
    added: tuple[str, ...]
    count: int  # jobs in the bundle afterwards


def read_job_ids(bundle: Bundle) -> list[str]:
    """The job ids in ``jobs.txt`` now (not the cached :attr:`Bundle.job_ids`)."""
    with open(bundle.path / _names.ITEMS, encoding="utf-8") as f:
        return [line.split()[1] for line in f if line.strip()]


def forget_cached(bundle: Bundle) -> None:
    """Drop what ``bundle`` read of its index files, so that it reads them again."""
    for name in ("info", "job_ids", "_index", "scan"):
        bundle.__dict__.pop(name, None)


def _cut_lines(text: str, keep: int, is_row: Callable[[str], bool]) -> str:
    """``text`` with only its first ``keep`` row lines (a header and comments before them kept)."""
    if keep == 0:
        lines = text.splitlines(keepends=True)
        return "".join(ln for ln in lines if not is_row(ln))
    seen = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        if is_row(line):
            seen += 1
            if seen == keep:
                return text[:pos]
    return text


def append_points(
    bundle: Bundle,
    points: Sequence[Mapping[str, Any]],
    *,
    info_update: Mapping[str, Any] | None = None,
    _before_replace: Callable[[], None] | None = None,
) -> AppendReport:
    """Append ``points`` to ``bundle`` as new jobs (those it has already are skipped).

    Parameters
    ----------
    bundle
        The bundle to grow.  Its cached index is dropped (see :func:`forget_cached`).
    points
        Full points (every parameter of the job type), e.g. from an adaptive learner.
        Each value is checked by its parameter.
    info_update
        Extra keys for ``info.pkl`` (e.g. the adaptive loop's settings), written with the append.

    Returns
    -------
    AppendReport
        Every point's id (in the order given) and the ids of the jobs added.
    """
    jt = bundle.scan.job_type
    names = list(jt.param_names)
    ids = read_job_ids(bundle)
    known = set(ids)
    head = json.dumps(
        {"format": _names.BUNDLE_FORMAT, "job_type": jt.name, "run": jt.ref, "checkpointing": jt.checkpointing}
    )[:-1]
    fixed = bundle.scan.fixed
    varying = [n for n in names if n not in fixed]
    all_ids: list[str] = []
    new: list[tuple[str, str, str, str]] = []  # id, input text, spec, csv row
    for pt in points:
        missing = [n for n in names if n not in pt]
        if missing:
            raise BundleError(f"A point to append lacks parameter(s) {missing}; give every parameter of {jt.name}.")
        checked = {n: jt.param(n).check(pt[n]) for n in names}
        params = canonical_json(checked)
        pid = point_id(jt.name, {}, canonical=params)
        all_ids.append(pid)
        if pid in known:
            continue
        known.add(pid)
        index = len(ids) + len(new)
        new.append((
            pid,
            f'{head}, "job_id": "{pid}", "index": {index}, "params": {params}}}\n',
            f"job {index} ({pid}): " + ", ".join(f"{n} = {_fmt_value(checked[n])}" for n in varying) + "\n",
            _csv_line([index, pid, *(checked[n] for n in names)]),
        ))
    if not new and not info_update:
        forget_cached(bundle)
        return AppendReport(tuple(all_ids), (), len(ids))

    root = bundle.path
    for stale in root.glob(f".*{_TMP_SUFFIX}"):  # left by an append that was killed before its renames
        stale.unlink(missing_ok=True)
    # 1. The inputs (a leftover of an interrupted append is replaced: its index may differ).
    for pid, text, _, _ in new:
        path = root / _names.input_relpath(pid, bundle.info["format"])
        path.parent.mkdir(exist_ok=True)
        tmp = temporary_sibling(path, _TMP_SUFFIX)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    # 2. The index files, whole, under temporary names.
    count = len(ids) + len(new)
    with open(root / _names.POINTS, encoding="utf-8") as f:
        points_text = _cut_lines(f.read(), len(ids) + 1, lambda ln: bool(ln.strip()))  # + the header line
    with open(root / _names.SPECIFICATIONS, encoding="utf-8") as f:
        specs_text = _cut_lines(f.read(), len(ids), lambda ln: ln.startswith("job "))
    first, _, rest = specs_text.partition("\n")
    if first.startswith("#") and " job(s)" in first:
        scan_name = first.split(" job(s)")[0].rsplit(":", 1)[0]
        first = f"{scan_name}: {count:,} job(s)" + first.split(" job(s)", 1)[1]
    with open(root / _names.ITEMS, encoding="utf-8") as f:
        items_text = f.read()
    info = dict(bundle.info)
    info["count"] = count
    info.update(info_update or {})
    files: dict[Path, bytes] = {
        root / _names.POINTS: (points_text + "".join(r for *_, r in new)).encode(),
        root / _names.SPECIFICATIONS: (first + "\n" + rest + "".join(s for _, _, s, _ in new)).encode(),
        root / _names.INFO: _safepickle.dumps(info),
        root / _names.ITEMS: (items_text + "".join(f"{len(ids) + k} {pid}\n" for k, (pid, *_) in enumerate(new))).encode(),
    }
    temps: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            tmp = temporary_sibling(path, _TMP_SUFFIX)
            temps[path] = tmp
            with open(tmp, "wb") as f:
                f.write(data)
        if _before_replace is not None:
            _before_replace()
        # 3. The renames, jobs.txt (the commit) last: dicts keep the order above.
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    finally:
        forget_cached(bundle)
    return AppendReport(tuple(all_ids), tuple(pid for pid, *_ in new), count)
