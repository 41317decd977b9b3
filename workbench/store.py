"""The results cache of a bundle: an sqlite file that reads each result file once.

A bundle's ``outputs/`` holds one ``<id>.result.json`` per finished job (and
its ``<id>.arrays.npz``).  Reading 100,000 of them takes seconds; reading a
table from sqlite takes a fraction of that.  :class:`ResultStore` keeps one row
per result file in ``results.sqlite`` in the bundle's top folder, and
:meth:`ResultStore.refresh` reads only what is new:

1. If ``outputs/`` has the same modification time as at the last listing (and
   had been quiet for a while before it, so a change within the same clock
   tick cannot hide), nothing changed: no listing, no reads.
2. Otherwise one directory listing gives every result file with its inode
   number; a file is read when its name is new or its inode differs (writers
   replace files atomically, so a rewritten result has a new inode).  Files
   that disappeared are dropped.
3. ``refresh(full=True)`` also compares every file's size and modification
   time, for files overwritten in place (``cp`` or ``scp`` over an old one).

Nothing read runs code: records are JSON.  A record that is truncated, not
JSON, for another job, or of an unknown format is kept as a *bad* row with the
reason, and every other job still loads.  Each row records the result format
the job wrote (``format``); older formats are upgraded on reading (none exist
yet), newer ones are refused with the advice to upgrade workbench, and the
old questionnaire scripts' pickles are converted by :func:`convert_legacy`.

Speed: files are read by a few threads ahead of the parsing, and records are
parsed a block at a time by pyarrow's JSON reader (falling back to one
``json.loads`` each for any block that needs care).  The table of every job,
:meth:`ResultStore.table`, is kept in the cache as one columnar (Arrow IPC)
snapshot, rebuilt only after a refresh changed something.

The cache is only a cache: a damaged or outdated one is rebuilt, and a bundle
on a read-only disk gets an in-memory one.  Several processes may share it
(sqlite locks; a refresh runs in one write transaction).
"""

from __future__ import annotations

import json
import operator
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _names
from .errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

    from .bundle import Bundle

__all__ = [
    "ResultStore",
    "RefreshReport",
    "ConversionReport",
    "SCHEMA",
    "MAX_RESULT_BYTES",
    "convert_legacy",
    "parse_record",
]

#: Version of the cache file's own layout; a cache of another version is rebuilt.
SCHEMA = 1

#: A result record is a few hundred bytes; anything this large is not one.
MAX_RESULT_BYTES = 16 << 20

#: Scalar outputs of one record, and of a whole bundle: one column each in the cache (sqlite allows 2,000).
MAX_OUTPUTS = 1_000

#: A directory modified less than this before it was listed may change again
#: within the same timestamp tick (coarse on some file systems), so an equal
#: modification time is trusted only for listings made after a quiet period.
_RACY_NS = 2_000_000_000

#: Reading files is syscall-bound and releases the GIL: a few threads read
#: small files two to three times as fast as one.
_READERS = 4
_THREADED_FROM = 256

#: Columns of the ``results`` table besides one column per scalar output.
_BASE = ("job_id", "ino", "size", "mtime_ns", "format", "ok", "error", "runtime", "host", "started", "finished", "arrays", "seq")

#: The base columns :meth:`ResultStore.table` carries (after the outputs).
_TABLE_BASE = ("ok", "error", "runtime", "host")

#: Upgraders of older result formats to the current one (format -> function).
#: Format 1 is the first; a future format 2 adds ``1: _upgrade_1`` here.
_UPGRADE: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass(frozen=True)
class RefreshReport:
    """What one :meth:`ResultStore.refresh` did.

    Attributes
    ----------
    read
        Job ids whose result file was read (new, or changed since the last refresh).
    removed
        Job ids whose result file disappeared.
    bad
        Of ``read``, those whose file could not be used (the reason is in the table).
    listed
        Whether ``outputs/`` was listed (``False``: it had not changed, nothing was read).
    legacy
        Job ids with only an old pickled result (``<id>.pkl``); see :func:`convert_legacy`.
    seconds
        Wall time of the refresh.
    """

    read: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    listed: bool = False
    legacy: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.read or self.removed)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _out_column(name: str) -> str:
    # Prefixed so an output called e.g. "ok" or "size" cannot clash with a base column.
    return "o:" + name


#: What JSON scalars decode to, by kind name (lists and dicts are not scalar outputs).
_KIND_NAMES: dict[type, str] = {type(None): "none", bool: "bool", int: "int", float: "float", str: "str"}


def parse_record(data: bytes, job_id: str, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Check and upgrade one ``.result.json`` record; raises :class:`OutputError` with the reason.

    Parameters
    ----------
    data
        The file's bytes.
    job_id
        The job the file's name says it belongs to.
    path
        The file, for messages.
    """
    try:
        rec = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise OutputError(f"{path} is truncated or not JSON ({e}); re-run job {job_id} or fetch its output again.") from None
    except RecursionError:
        raise OutputError(f"{path} nests values too deeply to be a result record; re-run job {job_id}.") from None
    if not isinstance(rec, dict) or not isinstance(rec.get("scalars"), dict):
        raise OutputError(f"{path} is not a workbench result record (no 'scalars'); re-run job {job_id}.")
    fmt = rec.get("format")
    if fmt != _names.RESULT_FORMAT:
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > _names.RESULT_FORMAT:
            raise OutputError(
                f"{path} has result format {fmt}, newer than this workbench reads ({_names.RESULT_FORMAT}); "
                "upgrade workbench (pip install -U workbench) to read it."
            )
        upgrade = _UPGRADE.get(fmt) if isinstance(fmt, int) else None
        if upgrade is None:
            raise OutputError(
                f"{path} has result format {fmt!r}, which this workbench cannot read (it reads format "
                f"{_names.RESULT_FORMAT}); re-run job {job_id}, or convert old pickled results with "
                "`workbench results BUNDLE --convert-legacy`."
            )
        rec = upgrade(rec)
    if rec.get("job_id") != job_id:
        raise OutputError(f"{path} holds the result of job {rec.get('job_id')!r}, not of job {job_id}; it was misplaced.")
    scalars = rec["scalars"]
    if len(scalars) > MAX_OUTPUTS:
        raise OutputError(
            f"{path} has {len(scalars):,} scalar outputs, more than the {MAX_OUTPUTS:,} a result may have; "
            f"re-run job {job_id} (return large sets of numbers as arrays)."
        )
    if not all(type(k) is str and k.isidentifier() and len(k) <= 200 for k in scalars):
        k = next(k for k in scalars if not (type(k) is str and k.isidentifier() and len(k) <= 200))
        raise OutputError(f"{path}: output name {str(k)[:60]!r} is not an identifier; re-run job {job_id}.")
    types = set(map(type, scalars.values()))
    if not _KIND_NAMES.keys() >= types:
        k, v = next((k, v) for k, v in scalars.items() if type(v) not in _KIND_NAMES)
        raise OutputError(f"{path}: output {k!r} is a {type(v).__name__}, not a number or text; re-run job {job_id}.")
    if int in types:
        for k, v in scalars.items():
            if type(v) is int and not -(1 << 63) <= v < 1 << 63:
                scalars[k] = float(v)  # beyond 64 bits: sqlite (and pandas) hold it as a float
    rec["format"] = fmt
    return rec


#: Base columns after ``ok`` and ``error`` of a row without a usable result.
_NO_META = (None, None, None, None, None)

#: Result records parsed together by pyarrow's JSON reader (C++, threads)
#: rather than one ``json.loads`` each; a block it cannot take whole (a bad
#: record, an old format, unusual types) is parsed record by record instead.
_BLOCK = 8192
_BLOCK_FROM = 64

_ARROW_KINDS = {"int64": "int", "double": "float", "bool": "bool", "string": "str", "null": "none"}


def _parse_block(
    block: Sequence[tuple[str, str, tuple[Any, ...], bytes]], seq: int
) -> tuple[list[tuple[Any, ...]], dict[str, list[Any]], dict[str, set[str]]] | None:
    """Parse a block of records with pyarrow: (base rows, output columns, output kinds), or None to parse one by one.

    Gives exactly what :func:`parse_record` would for every record, or ``None``
    when any record needs its care (a damaged or misplaced record, another
    format, a record spread over several lines, a type the fast path does not map).
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.json as pj
    except ImportError:
        return None
    joined = b"\n".join([d for _, _, _, d in block])
    if joined.count(b"\n") != len(block) - 1:  # a record spread over lines (or ending in one): one by one
        return None
    longest = max(len(d) for _, _, _, d in block)
    try:
        t = pj.read_json(pa.BufferReader(joined), read_options=pj.ReadOptions(block_size=max(1 << 20, 2 * longest + 2)))
        if t.num_rows != len(block) or not {"format", "job_id", "scalars"} <= set(t.schema.names):
            return None
        fmt, jids, sc = t["format"], t["job_id"], t["scalars"].combine_chunks()
        if fmt.type != pa.int64() or fmt.null_count or not pc.all(pc.equal(fmt, _names.RESULT_FORMAT)).as_py():
            return None
        if jids.type != pa.string() or jids.to_pylist() != [b[0] for b in block]:
            return None
        if not pa.types.is_struct(sc.type) or sc.null_count:
            return None
        m = len(block)

        def optional(name: str, kinds: tuple[str, ...]) -> list[Any] | None:
            if name not in t.schema.names:
                return [None] * m
            col = t[name]
            kind = str(col.type)
            if kind == "null":
                return [None] * m
            if kind not in kinds:
                raise LookupError(name)
            if kind == "int64":
                col = pc.cast(col, pa.float64())
            return col.to_pylist()

        runtime = optional("runtime", ("double", "int64"))
        host = optional("host", ("string",))
        started = optional("started", ("string",))
        finished = optional("finished", ("string",))
        if "arrays" not in t.schema.names or str(t["arrays"].type) == "null":
            arrays: list[Any] = [None] * m
        elif str(t["arrays"].type) in ("list<item: string>", "list<item: null>"):
            arrays = pc.binary_join(pc.cast(t["arrays"], pa.list_(pa.string())), ",").to_pylist()
        else:
            return None
    except (pa.ArrowException, LookupError, ValueError, TypeError):
        return None
    columns: dict[str, list[Any]] = {}
    kinds: dict[str, set[str]] = {}
    if sc.type.num_fields > MAX_OUTPUTS:
        return None
    for i, f in enumerate(sc.type):
        kind = _ARROW_KINDS.get(str(f.type))
        if kind is None or not (f.name.isidentifier() and len(f.name) <= 200):  # parse_record gives the reason
            return None
        child = sc.field(i)
        columns[f.name] = child.to_pylist()
        kinds[f.name] = {kind, "none"} if child.null_count else {kind}
    fmt_value = _names.RESULT_FORMAT
    base_rows = [
        (jid, *ident, fmt_value, 1, None, r, h, s, f, a, seq)
        for (jid, _, ident, _), r, h, s, f, a in zip(block, runtime, host, started, finished, arrays)
    ]
    return base_rows, columns, kinds


def _read_files(paths: Sequence[str]) -> Iterator[tuple[bytes | None, os.stat_result | None, str | None]]:
    """:func:`_read_file` of each path, in order; many are read by a few threads, ahead of the consumer."""
    if len(paths) < _THREADED_FROM:
        yield from map(_read_file, paths)
        return
    # One task per slice, not per file: a future per file costs more than the read.
    step = 512
    slices = [paths[k : k + step] for k in range(0, len(paths), step)]
    with ThreadPoolExecutor(_READERS) as pool:
        for part in pool.map(lambda ps: [_read_file(p) for p in ps], slices):
            yield from part


def _read_file(path: str) -> tuple[bytes | None, os.stat_result | None, str | None]:
    """The bytes and fstat of one file, or the reason they could not be read.

    Never blocks (``O_NONBLOCK``: a FIFO in its place) and never reads more
    than :data:`MAX_RESULT_BYTES` (a link to ``/dev/zero``, a file that grows).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None, "vanished"
    except OSError as e:
        return None, None, f"cannot be opened ({e.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, st, "is not a regular file (a FIFO, device or folder)"
        if st.st_size > MAX_RESULT_BYTES:
            return None, st, f"is {st.st_size:,} bytes, far larger than a result record"
        data = os.read(fd, st.st_size + 1)
        if len(data) <= st.st_size:  # the usual case: all of it in one call
            return data, st, None
        chunks = [data]  # it grew meanwhile
        size = len(data)
        while size <= MAX_RESULT_BYTES and (chunk := os.read(fd, 1 << 16)):
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_RESULT_BYTES:
            return None, st, f"grew beyond {MAX_RESULT_BYTES:,} bytes while read; it is not a result record"
        return b"".join(chunks), st, None
    except OSError as e:
        return None, None, f"cannot be read ({e.strerror})"
    finally:
        os.close(fd)


@dataclass
class _Meta:
    dir_mtime_ns: int = -1
    listed_at_ns: int = 0
    outputs: dict[str, set[str]] = field(default_factory=dict)  # name -> kinds seen, in first-seen order
    legacy: list[str] = field(default_factory=list)  # job ids with only an old pickled result
    generation: int = 0  # bumped by every refresh that changes the table


class ResultStore:
    """The sqlite results cache of one bundle.

    Parameters
    ----------
    bundle
        A :class:`~workbench.bundle.Bundle` or its path.
    path
        The cache file; default ``results.sqlite`` in the bundle.  ``":memory:"``
        keeps it in memory (nothing written; every refresh from a new store is cold).

    Attributes
    ----------
    files_read
        Result files read (opened and parsed) by this store so far: tests use
        it to check that a refresh reads only new files.
    persistent
        False when the cache lives in memory (asked for, or the bundle's folder is read-only).
    """

    def __init__(self, bundle: Bundle | str | os.PathLike[str], *, path: str | os.PathLike[str] | None = None) -> None:
        from .bundle import open_bundle

        self.bundle = open_bundle(bundle)
        self.path = str(path) if path is not None else str(self.bundle.path / _names.RESULTS_CACHE)
        self.files_read = 0
        self.persistent = self.path != ":memory:"
        self._all_rows: tuple[int, tuple[str, ...], list[tuple[Any, ...]]] | None = None
        self._con = self._connect()
        self._meta = self._load_meta()

    # -- the cache file --------------------------------------------------------
    def _open(self, path: str) -> sqlite3.Connection:
        con = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _connect(self) -> sqlite3.Connection:
        if self.persistent:
            try:
                con = self._open(self.path)
                if self._usable(con):
                    return con
                con.close()
                # Another schema, result format or bundle, or damaged: it is only a cache.
                self._remove_file()
                con = self._open(self.path)
                self._create(con)
                return con
            except sqlite3.OperationalError:
                # e.g. a read-only bundle folder: work from memory.
                self.persistent = False
            except sqlite3.DatabaseError:
                self._remove_file()
                try:
                    con = self._open(self.path)
                    self._create(con)
                    return con
                except sqlite3.Error:
                    self.persistent = False
        self.path = ":memory:"
        con = self._open(":memory:")
        self._create(con)
        return con

    def _remove_file(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass

    def _usable(self, con: sqlite3.Connection) -> bool:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            self._create(con)
            return True
        if tables != {"meta", "results", "snapshot"}:
            return False
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        return (
            meta.get("schema") == str(SCHEMA)
            # Rows hold records of this result format (a cache from before the key was named so is rebuilt).
            and meta.get("result_format") == str(_names.RESULT_FORMAT)
            # A bundle re-created at the same path (or a cache copied from another bundle) starts afresh.
            and meta.get("bundle_created") == str(self.bundle.info.get("created"))
        )

    def _create(self, con: sqlite3.Connection) -> None:
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute(
                "CREATE TABLE IF NOT EXISTS results (job_id TEXT PRIMARY KEY, ino INTEGER, size INTEGER, "
                "mtime_ns INTEGER, format INTEGER, ok INTEGER NOT NULL, error TEXT, runtime REAL, host TEXT, "
                "started TEXT, finished TEXT, arrays TEXT, seq INTEGER)"
            )
            # A columnar copy of table(), so that re-opening does not rebuild 100,000 rows from sqlite.
            con.execute("CREATE TABLE IF NOT EXISTS snapshot (generation INTEGER, data BLOB)")
            con.executemany(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                [
                    ("schema", str(SCHEMA)),
                    ("result_format", str(_names.RESULT_FORMAT)),
                    ("dir_mtime_ns", "-1"),
                    ("listed_at_ns", "0"),
                    ("outputs", "[]"),
                    ("legacy", "[]"),
                    ("generation", "0"),
                    ("bundle", str(self.bundle.path)),
                    ("bundle_created", str(self.bundle.info.get("created"))),
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _load_meta(self) -> _Meta:
        meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        return _Meta(
            dir_mtime_ns=int(meta.get("dir_mtime_ns", -1)),
            listed_at_ns=int(meta.get("listed_at_ns", 0)),
            outputs={name: set(kinds) for name, kinds in json.loads(meta.get("outputs", "[]"))},
            legacy=json.loads(meta.get("legacy", "[]")),
            generation=int(meta.get("generation", 0)),
        )

    def close(self) -> None:
        """Close the cache file."""
        self._con.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.path if self.persistent else "memory"
        return f"<ResultStore {self.bundle.path} ({len(self)} results, cache in {where})>"

    def __len__(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM results").fetchone()[0])

    # -- refreshing ------------------------------------------------------------
    @property
    def _outputs_dir(self) -> Path:
        return self.bundle.path / _names.OUTPUTS

    def _unchanged(self, dir_mtime_ns: int) -> bool:
        m = self._meta
        return dir_mtime_ns == m.dir_mtime_ns and m.listed_at_ns - m.dir_mtime_ns > _RACY_NS

    def refresh(self, *, full: bool = False) -> RefreshReport:
        """Read the result files that are new or changed since the last refresh.

        Parameters
        ----------
        full
            Also compare every known file's size and modification time (a
            ``stat`` per file), to catch files overwritten in place.

        Returns
        -------
        RefreshReport
            Which jobs were read, removed or found bad.
        """
        t0 = time.perf_counter()
        outdir = self._outputs_dir
        try:
            dir_mtime = os.stat(outdir).st_mtime_ns
        except FileNotFoundError:
            dir_mtime = -1
        # Another process may have refreshed the shared cache meanwhile.
        self._meta = self._load_meta()
        if not full and self._unchanged(dir_mtime):
            return RefreshReport(seconds=time.perf_counter() - t0)
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            self._meta = self._load_meta()
            listed_at = time.time_ns()
            try:
                dir_mtime = os.stat(outdir).st_mtime_ns
            except FileNotFoundError:
                dir_mtime = -1
            found, legacy = self._list(outdir)
            known: dict[str, tuple[int, int, int]] = {
                j: (ino, size, mt) for j, ino, size, mt in con.execute("SELECT job_id, ino, size, mtime_ns FROM results")
            }
            todo = [j for j, ino in found.items() if known.get(j, (None,))[0] != ino]
            if full:
                todo += self._stat_changed(outdir, [j for j in found if j in known and known[j][0] == found[j]], known)
            removed = [j for j in known if j not in found]
            rows, bad = self._read(outdir, todo)
            if removed:
                con.executemany("DELETE FROM results WHERE job_id = ?", [(j,) for j in removed])
            self._write(rows)
            self._meta.dir_mtime_ns = dir_mtime
            self._meta.listed_at_ns = listed_at
            self._meta.legacy = sorted(legacy - found.keys())
            if rows or removed:
                self._meta.generation += 1
            self._save_meta()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            self._meta = self._load_meta()
            raise
        # A first read holds the whole table already: table() can skip reading it back from sqlite.
        self._all_rows = (self._meta.generation, tuple(self._meta.outputs), rows) if not known and rows else None
        return RefreshReport(
            read=tuple(r[0] for r in rows),
            removed=tuple(removed),
            bad=tuple(bad),
            listed=True,
            legacy=tuple(self._meta.legacy),
            seconds=time.perf_counter() - t0,
        )

    @staticmethod
    def _list(outdir: Path) -> tuple[dict[str, int], set[str]]:
        """Result files in ``outdir`` by job id with their inode numbers (free from the listing), and legacy pickles."""
        suffix, n = _names.RESULT_SUFFIX, len(_names.RESULT_SUFFIX)
        legacy_suffix, m = _names.LEGACY_RESULT_SUFFIX, len(_names.LEGACY_RESULT_SUFFIX)
        found: dict[str, int] = {}
        legacy: set[str] = set()
        try:
            with os.scandir(outdir) as it:
                for e in it:
                    name = e.name
                    if name.startswith("."):  # partial downloads and temporary files
                        continue
                    if name.endswith(suffix):
                        found[name[:-n]] = e.inode()
                    elif name.endswith(legacy_suffix):
                        legacy.add(name[:-m])
        except FileNotFoundError:
            pass
        return found, legacy

    @staticmethod
    def _stat_changed(outdir: Path, ids: Sequence[str], known: Mapping[str, tuple[int, int, int]]) -> list[str]:
        suffix = _names.RESULT_SUFFIX
        base = str(outdir) + os.sep

        def check(chunk: Sequence[str]) -> list[str]:
            out = []
            for j in chunk:
                try:
                    st = os.stat(base + j + suffix)
                except FileNotFoundError:
                    continue
                if (st.st_size, st.st_mtime_ns) != known[j][1:]:
                    out.append(j)
            return out

        chunks = [ids[k::_READERS] for k in range(_READERS)]
        with ThreadPoolExecutor(_READERS) as pool:
            return [j for part in pool.map(check, chunks) for j in part]

    def _read(self, outdir: Path, ids: Sequence[str]) -> tuple[list[tuple[Any, ...]], list[str]]:
        """Read and parse the result files of ``ids``: a row (base columns, then outputs) per file, and the bad ids."""
        suffix = _names.RESULT_SUFFIX
        base = str(outdir) + os.sep
        paths = [base + j + suffix for j in ids]
        seq = self._meta.generation + 1
        bad: list[str] = []
        rows: list[tuple[Any, ...]] = []  # bad rows, complete
        single: list[tuple[tuple[Any, ...], dict[str, Any]]] = []  # (base row, scalars) parsed one by one
        blocks: list[tuple[list[tuple[Any, ...]], dict[str, list[Any]]]] = []  # parsed a block at a time
        signatures: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()
        outputs = self._meta.outputs
        names_seen = set(outputs)  # one column each: their number is capped (MAX_OUTPUTS)

        def parse(block: list[tuple[str, str, tuple[Any, ...], bytes]]) -> None:
            fast = _parse_block(block, seq) if len(block) >= _BLOCK_FROM else None
            if fast is not None and len(names_seen.union(fast[2])) > MAX_OUTPUTS:
                fast = None  # record by record: those that would pass the cap are refused one by one
            if fast is not None:
                names_seen.update(fast[2])
                base_rows, columns, kinds = fast
                for name, kind in kinds.items():
                    outputs.setdefault(name, set()).update(kind)
                blocks.append((base_rows, columns))
                return
            for jid, path, ident, data in block:
                try:
                    rec = parse_record(data, jid, path)
                    new = [k for k in rec["scalars"] if k not in names_seen]
                    if len(names_seen) + len(new) > MAX_OUTPUTS:
                        raise OutputError(
                            f"{path} adds {len(new):,} output names to the {len(names_seen):,} of the other results, "
                            f"more than the {MAX_OUTPUTS:,} a bundle may have; re-run job {jid}."
                        )
                    names_seen.update(new)
                except OutputError as e:
                    rows.append((jid, *ident, None, 0, str(e), *_NO_META, seq))
                    bad.append(jid)
                    continue
                runtime = rec.get("runtime")
                host, started, finished, arrays = rec.get("host"), rec.get("started"), rec.get("finished"), rec.get("arrays")
                row = (
                    jid,
                    *ident,
                    rec["format"],
                    1,
                    None,
                    float(runtime) if type(runtime) in (int, float) else None,
                    host if type(host) is str else None,
                    None if started is None else str(started),
                    None if finished is None else str(finished),
                    ",".join(map(str, arrays)) if type(arrays) is list else None,
                    seq,
                )
                scalars = rec["scalars"]
                signatures.add((tuple(scalars), tuple(map(type, scalars.values()))))
                single.append((row, scalars))

        pending: list[tuple[str, str, tuple[Any, ...], bytes]] = []
        # Files are read in threads ahead of the parsing, which goes on block by block meanwhile.
        for jid, path, (data, st, problem) in zip(ids, paths, _read_files(paths)):
            if problem == "vanished":  # removed between listing and reading: as if never listed
                continue
            self.files_read += 1
            ident = (st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else (None, None, None)
            if problem is None:
                pending.append((jid, path, ident, data or b""))
                if len(pending) == _BLOCK:
                    parse(pending)
                    pending = []
            else:
                rows.append((jid, *ident, None, 0, f"{path} {problem}; re-run job {jid} or fetch its output again.", *_NO_META, seq))
                bad.append(jid)
        parse(pending)
        for keys, types in signatures:
            for name, t in zip(keys, types):
                outputs.setdefault(name, set()).add(_KIND_NAMES[t])
        names = tuple(outputs)
        nulls = (None,) * len(names)
        rows = [row + nulls for row in rows]
        for row, scalars in single:
            if tuple(scalars) == names:
                rows.append(row + tuple(scalars.values()))
            else:
                rows.append(row + tuple(map(scalars.get, names)))
        for base_rows, columns in blocks:
            m = len(base_rows)
            cols = [columns.get(name) or [None] * m for name in names]
            rows += [b + o for b, o in zip(base_rows, zip(*cols))]
        return rows, bad

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        con = self._con
        have = {r[1] for r in con.execute("PRAGMA table_info(results)")}
        cols = [*_BASE, *(_out_column(k) for k in self._meta.outputs)]
        for c in cols:
            if c not in have:
                con.execute(f"ALTER TABLE results ADD COLUMN {_quote(c)}")
        sql = f"INSERT OR REPLACE INTO results ({', '.join(map(_quote, cols))}) VALUES ({', '.join('?' * len(cols))})"
        con.executemany(sql, rows)

    def _save_meta(self) -> None:
        m = self._meta
        self._con.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [
                ("dir_mtime_ns", str(m.dir_mtime_ns)),
                ("listed_at_ns", str(m.listed_at_ns)),
                ("outputs", json.dumps([[k, sorted(v)] for k, v in m.outputs.items()])),
                ("legacy", json.dumps(m.legacy)),
                ("generation", str(m.generation)),
            ],
        )

    # -- reading the cache -------------------------------------------------------
    @property
    def outputs(self) -> list[str]:
        """Names of the scalar outputs seen so far, in first-seen order."""
        return list(self._meta.outputs)

    @property
    def legacy(self) -> list[str]:
        """Job ids that have only an old pickled result (see :func:`convert_legacy`)."""
        return list(self._meta.legacy)

    def frame(
        self, columns: Iterable[str] = ("ok", "error", "runtime", "host"), *, job_ids: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """The cached results (one row per result file) as a DataFrame indexed by job id.

        Parameters
        ----------
        columns
            Base columns to include (any of ``format, ok, error, runtime, host,
            started, finished, arrays, ino, size, mtime_ns``), before one column
            per scalar output.
        job_ids
            Only these jobs (e.g. ``refresh().read``, for consumers that update
            incrementally); default all.

        Returns
        -------
        pandas.DataFrame
            ``ok`` is a bool column; outputs keep their type (bool, int, float,
            text), with NaN/None where a job lacks one.  An output named like
            one of ``columns`` gets the suffix ``_out``.
        """
        import numpy as np
        import pandas as pd

        base = list(columns)
        outs = list(self._meta.outputs)
        sql_cols = ["job_id", *base, *(_out_column(k) for k in outs)]
        have = {r[1] for r in self._con.execute("PRAGMA table_info(results)")}
        select = ", ".join(_quote(c) if c in have else "NULL" for c in sql_cols)
        fresh = self._all_rows
        where = {c: i for i, c in enumerate([*_BASE, *(_out_column(k) for k in fresh[1])])} if fresh else {}
        if job_ids is None and fresh and fresh[0] == self._meta.generation and all(c in where for c in sql_cols):
            rows = list(map(operator.itemgetter(*(where[c] for c in sql_cols)), fresh[2]))
        elif job_ids is None:
            rows = self._con.execute(f"SELECT {select} FROM results").fetchall()
        else:
            wanted = list(job_ids)
            rows = []
            for k in range(0, len(wanted), 500):  # sqlite limits the number of parameters
                chunk = wanted[k : k + 500]
                sql = f"SELECT {select} FROM results WHERE job_id IN ({', '.join('?' * len(chunk))})"
                rows += self._con.execute(sql, chunk).fetchall()
        cols = list(zip(*rows)) if rows else [()] * len(sql_cols)
        data: dict[str, Any] = {}
        for name, values in zip(base, cols[1:]):
            data[name] = _column(values, name, None, np, pd)
        names = [f"{k}_out" if k in base else k for k in outs]
        for name, k, values in zip(names, outs, cols[1 + len(base) :]):
            data[name] = _column(values, name, self._meta.outputs[k], np, pd)
        return pd.DataFrame(data, index=pd.Index(cols[0], name="job_id", dtype=object), columns=[*base, *names])

    def table(self) -> pd.DataFrame:
        """Every job of the bundle, in bundle order, with its parameters and cached outputs.

        Columns: ``index, job_id``, the parameters, the scalar outputs, then
        ``ok`` (nullable boolean: NA for jobs without a result file), ``runtime``,
        ``host``, ``error``.  An output named like a parameter or one of those
        columns (or ``status``) gets the suffix ``_out``.

        The table is kept in the cache as a columnar snapshot, rebuilt only
        after a refresh changed something: re-opening a large bundle reads one
        blob instead of building a row object per job.
        """
        gen = self._meta.generation
        df = self._load_snapshot(gen)
        if df is None:
            df = self._build_table()
            self._save_snapshot(df, gen)
        return df

    def _build_table(self) -> pd.DataFrame:
        import pandas as pd

        points = self.bundle.points()
        params = [c for c in points.columns if c not in ("index", "job_id")]
        out = self.frame(_TABLE_BASE)
        n = len(points)
        outputs = list(out.columns[len(_TABLE_BASE) :])
        if len(out) < n:  # reindexing adds missing rows: keep bool outputs bool, not object
            out = out.astype({c: "boolean" for c in outputs if out[c].dtype == bool})
        aligned = out.reindex(points["job_id"].to_numpy(dtype=object))
        reserved = {*params, "index", "job_id", "status", *_TABLE_BASE}
        columns: dict[str, Any] = {c: points[c].array for c in points.columns}
        for c in outputs:
            columns[f"{c}_out" if c in reserved else c] = aligned[c].array
        columns["ok"] = pd.array(aligned["ok"].to_numpy(dtype=object), dtype="boolean")
        columns["runtime"] = aligned["runtime"].to_numpy(dtype=float)
        columns["host"] = aligned["host"].array
        columns["error"] = aligned["error"].array
        return pd.DataFrame(columns, index=pd.RangeIndex(n))

    def _load_snapshot(self, generation: int) -> pd.DataFrame | None:
        row = self._con.execute("SELECT generation, data FROM snapshot").fetchone()
        if row is None or row[0] != generation:
            return None
        try:
            import pyarrow as pa
            import pyarrow.ipc

            return pa.ipc.open_stream(pa.py_buffer(row[1])).read_all().to_pandas()
        except Exception:  # noqa: BLE001 - a snapshot from another pyarrow or pandas: rebuild it
            return None

    def _save_snapshot(self, df: pd.DataFrame, generation: int) -> None:
        if not self.persistent:
            return
        try:
            import pyarrow as pa
            import pyarrow.ipc

            table = pa.Table.from_pandas(df, preserve_index=False)
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, table.schema) as w:
                w.write_table(table)
            data = sink.getvalue().to_pybytes()
        except Exception:  # noqa: BLE001 - e.g. no pyarrow, or an output mixing numbers and texts: no snapshot
            return
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            now = con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
            if now is not None and int(now[0]) == generation:  # else another process refreshed meanwhile
                con.execute("DELETE FROM snapshot")
                con.execute("INSERT INTO snapshot VALUES (?, ?)", (generation, data))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def record(self, job_id: str) -> dict[str, Any] | None:
        """Everything cached about one job's result, or ``None`` if it has none."""
        cur = self._con.execute("SELECT * FROM results WHERE job_id = ?", (job_id,))
        row = cur.fetchone()
        if row is None:
            return None
        names = [d[0] for d in cur.description]
        rec = dict(zip(names, row))
        scalars = {k[2:]: rec.pop(k) for k in list(rec) if k.startswith("o:")}
        kinds = self._meta.outputs
        rec["scalars"] = {
            k: bool(v) if kinds.get(k, set()) - {"none"} == {"bool"} else v for k, v in scalars.items() if v is not None
        }
        rec["ok"] = bool(rec["ok"])
        rec["arrays"] = [a for a in (rec.get("arrays") or "").split(",") if a]
        return rec


def _column(values: Sequence[Any], name: str, kinds: set[str] | None, np: Any, pd: Any) -> Any:
    """One typed column from sqlite values (which store bools as 0/1); ``kinds`` is None for base columns."""
    if kinds is None and name == "ok":
        return np.fromiter((bool(v) for v in values), dtype=bool, count=len(values))
    if kinds is None and name == "runtime":
        return np.array(values, dtype=float)
    if kinds is None and name in ("format", "ino", "size", "mtime_ns"):
        return pd.array(values, dtype="Int64")
    if kinds is None:
        return pd.array(values, dtype="str") if values else pd.array([], dtype="str")
    k = kinds - {"none"}
    # Bad rows and jobs that did not return this output hold NULL.
    missing = "none" in kinds or None in values
    if k == {"bool"}:
        vals = [None if v is None else bool(v) for v in values]
        return pd.array(vals, dtype="boolean") if missing else np.array(vals, dtype=bool)
    if k == {"int"} and not missing:
        return np.array(values, dtype=np.int64)
    if k and k <= {"int", "float", "bool"}:
        return np.array(values, dtype=float)  # None becomes NaN
    if k == {"str"}:
        return pd.array(values, dtype="str")
    return pd.array(values, dtype=object)


# ---------------------------------------------------------------------------
# Old results: pickles of the questionnaire scripts
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert_legacy` did: converted job ids, and (job id, reason) for refused files."""

    converted: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        text = f"Converted {len(self.converted):,} pickled result(s); refused {len(self.refused):,}."
        for jid, why in self.refused[:10]:
            text += f"\n  {jid}: {why}"
        return text


def convert_legacy(bundle: Bundle | str | os.PathLike[str], *, overwrite: bool = False) -> ConversionReport:
    """Convert old pickled results (``outputs/<id>.pkl``) into workbench result files.

    Each pickle must hold a dict of output names to numbers, texts or numpy
    arrays (optionally under a ``"results"`` key, with ``"runtime"`` and
    ``"host"`` beside it).  Pickles are read with a restricted unpickler that
    rebuilds only builtins and numeric numpy arrays and scalars: a pickle that
    would import or call anything else is refused with its reason, and no code
    from it runs.  The pickles are left in place.

    Parameters
    ----------
    bundle
        The bundle (or its path).
    overwrite
        Also convert jobs that already have a ``.result.json``.
    """
    from . import _safepickle
    from .bundle import open_bundle
    from .errors import JobError
    from .job import write_result

    b = open_bundle(bundle)
    outdir = b.path / _names.OUTPUTS
    done, legacy = ResultStore._list(outdir)  # done: job ids with a result file
    index = {j: i for i, j in enumerate(b.job_ids)}
    converted: list[str] = []
    refused: list[tuple[str, str]] = []
    for jid in sorted(legacy, key=lambda j: index.get(j, -1)):
        if jid in done and not overwrite:
            continue
        path = outdir / (jid + _names.LEGACY_RESULT_SUFFIX)
        if jid not in index:
            refused.append((jid, f"{path.name} is not a job of this bundle"))
            continue
        try:
            with open(path, "rb") as f:
                obj = _safepickle.load(f, what=str(path), allow_numpy=True)
            if not isinstance(obj, dict):
                raise OutputError(f"{path} holds a {type(obj).__name__}, not a dict of results")
            values = obj.get("results", obj)
            if not isinstance(values, dict):
                raise OutputError(f"{path}: 'results' is a {type(values).__name__}, not a dict")
            meta = {"runtime": obj.get("runtime"), "host": obj.get("host"), "converted_from": path.name}
            values = {k: v for k, v in values.items() if not (values is obj and k in ("runtime", "host"))}
            job_input = b.input(jid)
            write_result(outdir, job_input, values, meta)
        except (OutputError, JobError, OSError) as e:
            refused.append((jid, str(e)))
            continue
        converted.append(jid)
    return ConversionReport(tuple(converted), tuple(refused))
