"""Benchmark workbench's result sync against OpenSSH's own sftp and scp.

Run it as ``python tests/benchmarks/bench_sync.py`` (it starts its own sshd on
127.0.0.1, as the ``sshd`` test fixture does).  Three cases, each on the same
files for every tool, in one run:

(a) one 100 MB file            goal: at least 0.9x OpenSSH's throughput
(b) 2,000 files of 4 KB        goal: at least 3x faster than ``sftp -b``
(c) no-change re-sync of 10,000 files   goal: under 1 s

Every timing includes connecting, as a user would see it.  Each tool runs
``--repeat`` times and the best time counts (the machine is shared; the best
is the least disturbed).  Each ``exec`` or subsystem of SSH starts the remote
user's login shell; its cost on this account is printed first, since every
tool pays it (workbench once per sync, sftp and scp once per run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sshd import SSHServer, sshd_missing_reason  # noqa: E402

from workbench.transport import sync  # noqa: E402

MB = 10**6


def best_of(repeat: int, fn: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def fresh(path: Path) -> Callable[[], None]:
    def clear() -> None:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)

    return clear


def openssh(server: SSHServer, tool: str, *args: str, stdin: str | None = None) -> None:
    port = ["-P", str(server.port)] if tool in ("sftp", "scp") else ["-p", str(server.port)]
    subprocess.run([tool, *server.openssh_options(), *port, *args], input=stdin, text=True,
                   check=True, capture_output=True)  # fmt: skip


def paramiko_get(server: SSHServer, remote: Path, local: Path) -> None:
    """paramiko's own SFTP get (prefetch on), shown for reference: the sync's fallback path."""
    from workbench.transport import connect

    with connect(server.host, **server.connect_options()) as conn:
        conn.sftp().get(str(remote), str(local))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the best counts (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    reason = sshd_missing_reason()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    server = SSHServer(tmp / "sshd")
    server.start()
    opts = server.connect_options()
    host = server.host
    results: list[tuple[str, bool]] = []
    try:
        shell = best_of(args.repeat, lambda: openssh(server, "ssh", host, "true"))
        print(f"login shell + connection cost (`ssh host true`): {shell:.3f} s\n")

        # (a) one 100 MB file ------------------------------------------------
        remote_a = tmp / "a"
        (remote_a / "outputs").mkdir(parents=True)
        big = remote_a / "outputs" / "big.bin"
        with open(big, "wb") as f:
            for _ in range(100):
                f.write(os.urandom(MB))
        size = big.stat().st_size
        local = tmp / "local"
        wb = best_of(args.repeat, lambda: sync(f"{host}:{remote_a}", local, **opts), fresh(local))
        assert (local / "outputs" / "big.bin").read_bytes() == big.read_bytes()
        batch = tmp / "batch_a"
        batch.write_text(f"get {big} {local}/big.bin\n")
        sf = best_of(args.repeat, lambda: openssh(server, "sftp", "-b", str(batch), host), fresh(local))
        sc = best_of(args.repeat, lambda: openssh(server, "scp", f"{host}:{big}", str(local / "big.bin")),
                     fresh(local))  # fmt: skip
        pm = best_of(args.repeat, lambda: paramiko_get(server, big, local / "big.bin"), fresh(local))
        print("(a) one 100 MB file")
        for name, t in (("workbench sync", wb), ("OpenSSH sftp -b", sf), ("OpenSSH scp", sc),
                        ("paramiko SFTP get", pm)):  # fmt: skip
            print(f"    {name:<18} {t:6.3f} s  {size / t / MB:6.1f} MB/s")
        ratio = min(sf, sc) / wb
        ok = ratio >= 0.9
        results.append(("(a)", ok))
        print(f"    throughput vs the faster OpenSSH tool: {ratio:.2f}x (goal >= 0.9x) {'OK' if ok else 'MISSED'}\n")

        # (b) 2,000 files of 4 KB ---------------------------------------------
        remote_b = tmp / "b"
        (remote_b / "outputs").mkdir(parents=True)
        for i in range(2000):
            (remote_b / "outputs" / f"r{i:05d}.json").write_bytes(os.urandom(4096))
        wb = best_of(args.repeat, lambda: sync(f"{host}:{remote_b}", local, **opts), fresh(local))
        assert len(list((local / "outputs").iterdir())) == 2000
        batch = tmp / "batch_b"
        batch.write_text("".join(f"get {remote_b}/outputs/r{i:05d}.json {local}/\n" for i in range(2000)))
        sf = best_of(args.repeat, lambda: openssh(server, "sftp", "-b", str(batch), host), fresh(local))
        batch_r = tmp / "batch_b_r"
        batch_r.write_text(f"get -r {remote_b}/outputs {local}/\n")
        sfr = best_of(args.repeat, lambda: openssh(server, "sftp", "-b", str(batch_r), host), fresh(local))
        sc = best_of(args.repeat, lambda: openssh(server, "scp", "-r", f"{host}:{remote_b}/outputs", str(local)),
                     fresh(local))  # fmt: skip
        print("(b) 2,000 files of 4 KB")
        for name, t in (("workbench sync", wb), ("OpenSSH sftp -b get", sf), ("OpenSSH sftp -b get -r", sfr),
                        ("OpenSSH scp -r", sc)):  # fmt: skip
            print(f"    {name:<22} {t:6.3f} s  {2000 / t:7.0f} files/s")
        ratio = min(sf, sfr) / wb
        ok = ratio >= 3
        results.append(("(b)", ok))
        print(f"    speed-up over the faster `sftp -b`: {ratio:.2f}x (goal >= 3x) {'OK' if ok else 'MISSED'}")
        print(f"    speed-up over `scp -r`: {sc / wb:.2f}x\n")

        # (c) no-change re-sync of 10,000 files -------------------------------
        remote_c = tmp / "c"
        for d in range(10):
            (remote_c / "outputs" / f"d{d}").mkdir(parents=True)
            for i in range(1000):
                (remote_c / "outputs" / f"d{d}" / f"r{i:04d}.json").write_bytes(b"{}\n")
        fresh(local)()
        first = sync(f"{host}:{remote_c}", local, **opts)
        assert first.files_new == 10_000, first.summary()
        reports = []
        wb = best_of(args.repeat, lambda: reports.append(sync(f"{host}:{remote_c}", local, **opts)))
        assert all(r.files_unchanged == 10_000 and r.files_transferred == 0 for r in reports)
        print("(c) no-change re-sync of 10,000 files")
        print(f"    first sync         {first.seconds:6.3f} s  ({10_000 / first.seconds:.0f} files/s)")
        print(f"    workbench re-sync  {wb:6.3f} s")
        ok = wb < 1.0
        results.append(("(c)", ok))
        print(f"    goal < 1 s: {'OK' if ok else 'MISSED'}\n")
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    print("summary: " + ", ".join(f"{name} {'OK' if ok else 'MISSED'}" for name, ok in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
