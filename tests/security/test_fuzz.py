"""Fuzzing the readers of what comes from a bundle or a remote host: a value or a clear error, never another exception.

Each runs a bounded number of examples (CI stays fast); ``derandomize`` makes
a failure repeat on the next run.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.state import ScanState, parse_events, parse_fields, read_events
from workbench.store import parse_record
from workbench.transport.sync import _ChannelStream, _parse_find, _TarReader

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip

EVENTLOGS = Path(__file__).parent.parent / "data" / "eventlogs"


def _real_log() -> bytes:
    logs = sorted(EVENTLOGS.glob("*.log"), key=lambda p: p.stat().st_size)  # the largest: most kinds of event
    return logs[-1].read_bytes() if logs else b""


REAL_LOG = _real_log()

JOB_ID = "0123456789abcdef"
REAL_RECORD = json.dumps({
    "format": 1, "job_id": JOB_ID, "index": 0, "job_type": "demo", "params": {"x": 1},
    "scalars": {"y": 1.5, "n": 3, "ok": True, "label": "a"}, "arrays": ["series"],
    "runtime": 0.1, "host": "h", "started": "2026-01-01T00:00:00", "finished": "2026-01-01T00:00:01",
}).encode()  # fmt: skip


def _detail_digits(data: bytearray) -> list[int]:
    out, start = [], 0
    for line in bytes(data).split(b"\n"):
        if line.startswith(b"\t"):
            out += [start + k for k, b in enumerate(line) if 48 <= b <= 57]
        start += len(line) + 1
    return out


@st.composite
def mutated(draw, data: bytes, alphabet: bytes = b"0123456789x-.() \n\t\0\xff:") -> bytes:
    """``data`` with a few bytes replaced, inserted or deleted (what a damaged copy looks like)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        if not out:
            break
        kind = draw(st.sampled_from(["set", "insert", "delete", "cut", "number"]))
        # "number": damage a number of an event's details (a line starting with a tab), where parsers convert text.
        digits = _detail_digits(out) if kind == "number" else []
        i = draw(st.sampled_from(digits)) if digits else draw(st.integers(0, len(out) - 1))
        byte = draw(st.sampled_from(list(b"x-. )" if kind == "number" else alphabet)))
        if kind in ("set", "number"):
            out[i] = byte
        elif kind == "insert":
            out.insert(i, byte)
        elif kind == "delete":
            del out[i]
        else:
            del out[i : i + draw(st.integers(1, 64))]
    return bytes(out)


# -- the event-log reader -------------------------------------------------------
@pytest.mark.skipif(not REAL_LOG, reason="no event log under tests/data/eventlogs")
@FUZZ
@given(log=mutated(REAL_LOG))
def test_the_event_log_parsers_are_total(log):
    text = log.decode("utf-8", "replace")
    notes: list[str] = []
    for code, _cluster, _proc, t, body in parse_events(text + "\n...\n", problems=notes.append):
        assert isinstance(t, float)
        try:
            assert isinstance(parse_fields(code, body), dict)
        except WorkbenchError:
            pass


@FUZZ
@given(log=mutated(b""), tail=st.binary(max_size=300))
def test_the_event_log_parsers_take_any_bytes(log, tail):
    for code, *_rest, body in parse_events((log + tail).decode("utf-8", "replace") + "\n...\n", problems=lambda m: None):
        try:
            parse_fields(code, body)
        except WorkbenchError:
            pass


@FUZZ
@given(data=st.data())
def test_the_state_of_a_bundle_with_a_damaged_log_is_read(done, data):
    original = done.path / "scan.log.orig"
    if not original.exists():  # the run's events, and the details a pool adds: memory, exit, hold codes
        extra = "".join(
            f"006 (001.00{p}.000) 2026-12-03 20:27:32 Image size of job updated: 2048\n\t12  -  MemoryUsage of job (MB)\n"
            f"\t11000  -  ResidentSetSize of job (KB)\n...\n"
            f"012 (001.00{p}.000) 2026-12-03 20:27:33 Job was held.\n\tNot enough memory\n\tCode 34 Subcode 0\n...\n"
            f"005 (001.00{p}.000) 2026-12-03 20:27:34 Job terminated.\n\t(1) Normal termination (return value 0)\n...\n"
            for p in range(3)
        )
        original.write_bytes(done.log_path.read_bytes() + extra.encode())
    done.log_path.write_bytes(data.draw(mutated(original.read_bytes())))
    st_ = ScanState(done, cache=False)
    st_.update()
    assert sum(st_.counts().values()) == 3
    read_events(done.log_path)


# -- result records -------------------------------------------------------------
@FUZZ
@given(data=st.one_of(mutated(REAL_RECORD, b'{}[]",:0123456789eE.-\\u\x00 \xff'), st.binary(max_size=200)))
def test_the_result_record_parser_is_total(data):
    try:
        rec = parse_record(data, JOB_ID, "r.result.json")
    except WorkbenchError:
        return
    assert isinstance(rec["scalars"], dict)
    assert_storable(rec)


def assert_storable(rec: dict) -> None:
    """What the results cache needs of a record it accepts: a column name per output, not too many."""
    assert len(rec["scalars"]) <= 1_000
    assert all(type(k) is str and k.isidentifier() for k in rec["scalars"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(scalars=st.dictionaries(st.text(max_size=12), json_values, max_size=6), extra=st.dictionaries(st.text(max_size=8), json_values, max_size=3))
def test_result_records_of_any_json_shape_are_a_value_or_a_clear_error(scalars, extra):
    data = json.dumps({"format": 1, "job_id": JOB_ID, **extra, "scalars": scalars}).encode()
    try:
        rec = parse_record(data, JOB_ID, "r.result.json")
    except WorkbenchError:
        return
    assert_storable(rec)


# -- the tar reader and the listing parser of sync ---------------------------------
class _Bytes:
    """A channel's ``recv`` over bytes."""

    def __init__(self, data: bytes) -> None:
        self.f = io.BytesIO(data)

    def recv(self, n: int) -> bytes:
        return self.f.read(n)


def _tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("./outputs/a.result.json", b'{"a": 1}'), ("./outputs/" + "ü" * 120 + ".json", b"x" * 700)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


TAR = _tar()


@FUZZ
@given(data=mutated(TAR, bytes(range(256))))
def test_the_tar_reader_is_total(data):
    reader = _TarReader(_ChannelStream(_Bytes(data)))
    try:
        for member in reader.members():
            assert member.size >= 0
            while reader.read(1 << 16):
                pass
    except (WorkbenchError, EOFError):  # damaged (a TransportError), or ended early
        pass


FIND = b"\0".join([b"12 1700000000.5 ./outputs/a.result.json", b"700 1700000001 ./outputs/b c.json",
                   b"3 1700000002.123456789 ./logs/scan.log"]) + b"\0"  # fmt: skip


@FUZZ
@given(data=st.one_of(mutated(FIND, b"0123456789 ./\0x-"), st.binary(max_size=200)))
def test_the_listing_parser_is_total(data):
    skipped: list[str] = []
    files = _parse_find(data, skipped)
    for rel, f in files.items():
        assert f.size >= 0 and not rel.startswith("/") and ".." not in rel.split("/") and "" not in rel.split("/")
