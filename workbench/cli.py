"""The ``workbench`` command line: create, run, status, results (and a demo) outside Jupyter."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import ParameterError, WorkbenchError

__all__ = ["main", "parse_assignment", "questionnaire"]


# ---------------------------------------------------------------------------
# Parameter values from text (--set and the questionnaire; the text itself is
# read by workbench.sources.source_from_text)
# ---------------------------------------------------------------------------
def parse_assignment(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"--set {item!r} is not of the form name=value, e.g. --set damping=0.1.")
    return name.strip(), value


def questionnaire(
    job_type: Any,
    given: dict[str, Any],
    *,
    ask: Callable[[str], str] = input,
    out: TextIO = sys.stderr,
) -> dict[str, Any]:
    """Ask for every parameter not in ``given``, showing its default; re-ask until the value is valid."""
    from .sources import source_from_text

    sources = dict(given)
    print(f"{job_type.title}: press Enter to keep a default. Values may be lists or expressions such as np.linspace(0, 1, 11).", file=out)
    for p in job_type.params:
        if p.name in sources:
            continue
        unit = f" [{p.unit}]" if p.unit else ""
        prompt = f"{p.name}{unit}" + (f" ({p.help})" if p.help else "") + f" [{p.default!r}]: "
        while True:
            text = ask(prompt)
            if not text.strip():
                break
            try:
                src = source_from_text(p, text)
                vals = src.values(p, job_type.constants)
                if len(vals) > 1 and not p.scannable:
                    raise ParameterError(f"{p.name} cannot be scanned; give a single value.", parameter=p.name)
            except WorkbenchError as e:
                print(f"  {e}", file=out)
                continue
            sources[p.name] = src
            break
    return sources


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------
def _build_scan(args: argparse.Namespace) -> Any:
    from .registry import get_job_type
    from .scan import Scan
    from .sources import source_from_text

    jt = get_job_type(args.job_type)
    given: dict[str, Any] = {}
    for item in args.set or ():
        name, text = parse_assignment(item)
        given[name] = source_from_text(jt.param(name), text)
    for text in getattr(args, "design", None) or ():  # a joint sampling design (workbench.designs)
        from .designs import design_from_text

        given.update(design_from_text(text, jt.constants).sources())
    interactive = args.interactive or (not args.yes and sys.stdin.isatty() and not args.dry)
    if interactive:
        given = questionnaire(jt, given)
    zips = [tuple(n.strip() for n in z.split(",")) for z in args.zip or ()]
    return Scan(jt, given, tuple(zips))


def _settings(args: argparse.Namespace) -> Any:
    from .settings import user_defaults

    return user_defaults(
        target=args.target,
        request_memory_mb=args.request_memory,
        request_disk_mb=args.request_disk,
        request_cpus=args.request_cpus,
        max_idle=args.max_idle,
        batch_name=args.batch_name,
    )


def cmd_create(args: argparse.Namespace) -> int:
    from .bundle import create, plan_bundle

    scan = _build_scan(args)
    settings = _settings(args)
    path = Path(args.path)
    for w in scan.warnings:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.dry:
        plan = plan_bundle(scan, name=path.name, settings=settings, head=5)  # costs what it shows
        print(plan.summary())
        print(f"\n(dry run: nothing was written; run again without --dry to create {path})")
        return 0
    bundle = create(scan, path, settings=settings, overwrite=args.overwrite)
    cost = scan.cost
    print(
        f"Created {bundle.path}: {len(scan):,} job(s), about {cost.core_hours:.3g} core-hours. "
        f"Run it with: workbench run {_quote(str(path))}"
    )
    return 0


def _quote(s: str) -> str:
    """``s`` as a shell word that is an argument, not an option (``-dash`` is given as ``./-dash``)."""
    import shlex

    if s.startswith("-"):
        s = "./" + s
    return shlex.quote(s)


#: A message longer than this (e.g. one that quotes a rejected 10,000-character value) is shortened.
_MAX_MESSAGE = 1_000


def _shortened(message: str) -> str:
    """``message``, its middle left out when it is very long (what it quotes may be anything a user typed)."""
    if len(message) <= _MAX_MESSAGE:
        return message
    return f"{message[:700]} ... ({len(message) - 950:,} characters left out) ... {message[-250:]}"


def cmd_run(args: argparse.Namespace) -> int:
    from .bundle import open_bundle
    from .executors import get_target
    from .executors import run as run_bundle

    bundle = open_bundle(args.bundle)
    target = args.target or bundle.settings.target or "local"  # where it was created for, unless told otherwise
    if target == "local":
        try:
            report = run_bundle(bundle, "local", only=args.only, workers=args.workers, progress=not args.no_progress)
        except KeyboardInterrupt:
            print("\nInterrupted: finished jobs are kept; run the same command again to resume.", file=sys.stderr)
            return 130
        if not report.submitted:
            _say_nothing_to_run(bundle, args.bundle, args.only)
            return 0
        return _report_run(report, bundle, args.bundle)
    options = _target_options(args, bundle, target)
    show = target == "ssh" and not args.no_progress and sys.stderr.isatty()

    def upload_progress(done: int, total: int) -> None:
        print(f"\r  uploading {done / 2**20:.1f} of {total / 2**20:.1f} MiB", end="", file=sys.stderr, flush=True)

    if show:
        options["upload_progress"] = upload_progress
    with get_target(target).start(bundle, only=args.only, **options) as handle:
        _say_started(handle, show)
        if handle.target != "ssh" or args.detach:
            path = _quote(args.bundle)
            print(f"It runs detached. Follow it with: workbench status {path} (workbench sync {path} [--every 30] "
                  f"brings remote results home); act on it with: workbench stop|release|remove|resubmit {path}")  # fmt: skip
            return 0
        try:
            report = handle.follow(progress=not args.no_progress)
        except KeyboardInterrupt:
            print("\nInterrupted: the remote run was stopped; finished jobs are kept; run the same command again to resume.",
                  file=sys.stderr)  # fmt: skip
            return 130
    return _report_run(report, bundle, args.bundle)


def _target_options(args: argparse.Namespace, bundle: Any, target: str) -> dict[str, Any]:
    """The options of ``workbench run`` that ``target`` takes."""
    options: dict[str, Any] = {}
    if target == "ssh":
        env: dict[str, str] = {}
        for item in args.env or ():
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise ParameterError(f"--env {item!r} is not of the form NAME=VALUE, e.g. --env OMP_NUM_THREADS=1.")
            env[name] = value
        options.update(host=args.host, remote_dir=args.remote_dir, python=args.python, workers=args.workers, env=env)
    elif target == "condor-ssh":
        host = args.host or bundle.settings.host
        if not host:
            from .errors import ExecutorError

            raise ExecutorError("--target condor-ssh needs the submit host: add --host HOST (as in ~/.ssh/config).")
        options.update(host=host, remote_dir=args.remote_dir or bundle.settings.remote_dir, condor_bin=args.condor_bin)
    return options


def _say_started(handle: Any, upload_shown: bool) -> None:
    if handle.target == "ssh":
        rec, up = handle.record, handle.uploaded
        if upload_shown and up is not None and up.files:
            print(file=sys.stderr)
        sent = f"uploaded {up.files:,} file(s), {up.bytes / 2**20:.1f} MiB" if up is not None and up.files else "nothing to upload"
        print(f"Started run {rec.cluster} on {rec.host} in {rec.remote_dir} (pid {rec.pid} there; {sent}).")
    else:
        print(handle.record if handle.record is not None else f"Started a run on {handle.where}.")


def _say_nothing_to_run(bundle: Any, path: str, only: str) -> None:
    from .state import ScanState

    st = ScanState(bundle)
    st.update()
    none = {"unfinished": "unfinished", "failed": "failed, held, removed or interrupted"}.get(only, "selected")
    counts = ", ".join(f"{n:,} {state}" for state, n in st.counts().items() if n) or "no jobs"
    print(f"Nothing to run: no job of {path} is {none} ({counts}).")
    if bundle.job_ids:
        print(f"To run every job again: workbench run {_quote(path)} --only all")


def _report_run(report: Any, bundle: Any, path: str) -> int:
    """Print how a run ended and the first failures; the exit code is 1 when any job failed."""
    print(report)
    for jid, err in report.failed[:10]:
        print(f"  failed {jid}: {err}  (log: {bundle.stderr_path(jid)})")
    if len(report.failed) > 10:
        print(f"  ... and {len(report.failed) - 10} more; see `workbench status {_quote(path)} --jobs failed`")
    return 1 if report.failed else 0


def _attach(args: argparse.Namespace) -> Any:
    """The handle of the bundle's latest run (the one lookup every command uses)."""
    from .bundle import open_bundle
    from .executors import attach

    return attach(open_bundle(args.bundle))


def cmd_sync(args: argparse.Namespace) -> int:
    """``workbench sync BUNDLE``: pull outputs/ and logs/ of a bundle that runs remotely (SSH run or condor-ssh)."""
    from .errors import ExecutorError
    from .executors.base import CtrlC

    handle = _attach(args)
    bundle = handle.bundle
    options: dict[str, Any] = {"exclude": list(args.exclude or ()), "verify": args.verify}
    if args.include:
        options["include"] = list(args.include)
    if not args.no_progress and sys.stderr.isatty():
        def progress(p: Any) -> None:
            if p.phase == "transferring":
                print(f"\r  {p.files_done:,}/{p.files_total:,} files, {p.bytes_done / 2**20:.1f}/"
                      f"{p.bytes_total / 2**20:.1f} MiB", end="", file=sys.stderr, flush=True)  # fmt: skip
            elif p.phase == "done" and p.files_total:
                print(file=sys.stderr)

        options["progress"] = progress
    with handle:
        if not handle.remote:
            raise ExecutorError(
                f"{bundle.path} last ran on {handle.where} ({handle.target}), whose results are already here, so there "
                f"is nothing to sync. A remote run: workbench run {_quote(args.bundle)} --target ssh --host HOST"
            )
        was_running = not handle.done
        # Ctrl-C sets a flag (see CtrlC): a sync in progress ends between files, whole.
        with CtrlC() as ctrl_c:
            options["stop"] = ctrl_c
            while not ctrl_c.pressed:
                report = handle.sync(**options)
                if report.cancelled:
                    break
                print(report.summary())
                for line in report.errors[:5]:
                    print(f"  not yet: {line}", file=sys.stderr)
                print(f"{bundle.name}: {handle.state().summary()}")
                if was_running and handle.done:
                    print(f"The run on {handle.where} has ended.")
                    was_running = False
                if not args.every:
                    return 0
                ctrl_c.wait(args.every)
        print("\nStopped syncing.", file=sys.stderr)
        return 0 if args.every else 130


def cmd_stop(args: argparse.Namespace) -> int:
    """``workbench stop BUNDLE``: stop its latest run cleanly, wherever it runs, and pull what it wrote."""
    from .errors import ExecutorError

    try:
        handle = _attach(args)
    except ExecutorError:
        print(f"Nothing of {args.bundle} is running: it has not been run yet.")
        return 0
    with handle:
        if handle.done:
            print(f"Nothing of {args.bundle} is running: its latest run ({handle.target} on {handle.where}) has ended.")
            return 0
        if handle.target == "ssh":
            print(handle.stop(args.timeout))
        else:
            print(handle.stop())
        print(f"{handle.bundle.name}: {handle.state().summary()}")
        print(f"Resume it with: workbench run {_quote(args.bundle)}" + (f" --target {handle.target}" if handle.target != "local" else ""))
    return 0


def cmd_pool_action(args: argparse.Namespace) -> int:
    """``workbench hold|release|remove|resubmit BUNDLE [JOB_ID ...] [--states S]``, on the bundle's latest run."""
    from .errors import ExecutorError

    with _attach(args) as handle:
        bundle = handle.bundle
        ids: list[str] | None = None
        if args.jobs:
            known = set(bundle.job_ids)
            unknown = [j for j in args.jobs if j not in known]
            if unknown:
                raise ExecutorError(f"Job id(s) {unknown[:5]} are not in {bundle.path}; see `workbench status {_quote(args.bundle)} --jobs STATES`.")
            ids = list(args.jobs)
        elif args.states:
            if handle.remote:
                handle.sync()
            ids = handle.state().ids(*args.states.split(","))
        if args.command == "resubmit":
            print(handle.resubmit(ids))
        elif args.command == "hold":
            print(handle.hold(ids, reason=args.reason))
        else:
            print(getattr(handle, args.command)(ids))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .bundle import open_bundle
    from .state import ScanState

    bundle = open_bundle(args.bundle)
    st = ScanState(bundle)
    st.update()
    print(f"{bundle.name}: {st.summary()}")
    if st.unparsable:
        print(f"warning: {bundle.log_path} has content but no events htcondor2 can parse; it may be damaged.", file=sys.stderr)
    if args.jobs:
        for jid in st.ids(*args.jobs.split(",")):
            rec = st.jobs[jid]
            detail = rec.hold_reason or rec.reason or (f"exit code {rec.exit_code}" if rec.exit_code else "")
            print(f"  {bundle.index_of(jid):>6} {jid} {rec.state:<11} {detail}")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    from .export import export
    from .results import results

    if args.convert_legacy:
        from .store import convert_legacy

        print(convert_legacy(args.bundle))
    df = results(args.bundle, full=args.full)
    for path in (args.csv, args.parquet, args.hdf5):
        if path:
            try:
                written = export(df, path, format="csv" if path == args.csv else "parquet" if path == args.parquet else "hdf5")
            except ModuleNotFoundError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            print(f"Wrote {len(df):,} rows to {written}" + (f" (metadata in {written}.meta.json)" if path == args.csv else ""))
    if not (args.csv or args.parquet or args.hdf5):
        import pandas as pd

        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(df.head(args.head).to_string(index=False))
            if len(df) > args.head:
                print(f"... {len(df) - args.head:,} more rows (use --csv FILE for all)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .registry import get_job_type, job_types

    for name in job_types():
        try:
            jt = get_job_type(name)
        except WorkbenchError as e:
            print(f"{name:<10} (unavailable: {e})")
            continue
        print(f"{name:<10} {jt.title}")
        if args.verbose:
            for p in jt.params:
                unit = f" [{p.unit}]" if p.unit else ""
                scan = "" if p.scannable else " (not scannable)"
                print(f"    {p.name}{unit} = {p.default!r}: {p.describe_allowed()}{scan}. {p.help}")
    return 0


def cmd_notebook(args: argparse.Namespace) -> int:
    from .notebook import bundle_notebook

    path = bundle_notebook(args.bundle, path=args.output, overwrite=args.overwrite)
    print(f"Wrote {path}. Open it with: jupyter lab {_quote(str(path))}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.path), plot=Path(args.plot), workers=args.workers, progress=not args.no_progress)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .executors.base import SELECTIONS

    parser = argparse.ArgumentParser(prog="workbench", description="High-throughput parameter scans: create, run, analyze.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("create", help="create a job bundle from a job type and parameter values")
    p.add_argument("job_type", help="job type name (see `workbench list`)")
    p.add_argument("path", help="folder to create the bundle in")
    p.add_argument("--set", "-s", action="append", metavar="NAME=VALUE", help="a value, list or expression, e.g. damping=\"[0.05, 0.1]\"")
    p.add_argument("--zip", action="append", metavar="A,B", help="pair these axes instead of crossing them")
    p.add_argument("--design", action="append", metavar="CALL", help="a joint sampling design, e.g. 'sobol(256, seed=1, a=(0, 1), b=(1e-3, 1, \"log\"))'")
    p.add_argument("--dry", action="store_true", help="show what would be written, write nothing")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle at PATH")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for parameters; use defaults")
    p.add_argument("--interactive", action="store_true", help="ask for every parameter not given with --set")
    p.add_argument("--target", default=None, help="where it will run: local, ssh, condor, condor-ssh")
    p.add_argument("--request-memory", type=float, default=None, metavar="MB")
    p.add_argument("--request-disk", type=float, default=None, metavar="MB")
    p.add_argument("--request-cpus", type=int, default=None)
    p.add_argument("--max-idle", type=int, default=None)
    p.add_argument("--batch-name", default=None)
    p.set_defaults(func=cmd_create)

    p = sub.add_parser("run", help="run a bundle's jobs on this machine (resumes: only unfinished jobs by default)")
    p.add_argument("bundle")
    p.add_argument("--only", choices=SELECTIONS, default="unfinished")
    p.add_argument("--workers", type=int, default=None, help="processes (default: as many jobs as fit the cores at request_cpus each)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--target", default=None,
                   help="where: this machine (default), a remote host over SSH, the schedd of this submit node, "
                        "or a submit host over SSH")  # fmt: skip
    p.add_argument("--host", default=None, help="the remote host for --target ssh or condor-ssh (as in ~/.ssh/config)")
    p.add_argument("--remote-dir", default=None, help="where bundles go on the submit host (default: the settings' remote_dir)")
    p.add_argument("--condor-bin", default=None, metavar="DIR", help="HTCondor's bin folder on the submit host, if not on PATH")
    p.add_argument("--python", default=None, help="--target ssh: the remote Python that has workbench (default: the settings' python)")
    p.add_argument("--env", action="append", metavar="NAME=VALUE", help="--target ssh: an environment variable of the remote run")
    p.add_argument("--detach", action="store_true", help="--target ssh: start the run and return (follow it with workbench sync)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sync", help="pull outputs/ and logs/ of a bundle that runs on a remote host")
    p.add_argument("bundle")
    p.add_argument("--include", action="append", metavar="PATTERN", help="mirror these paths instead of outputs/** and logs/**")
    p.add_argument("--exclude", action="append", metavar="PATTERN", help="leave these paths out, e.g. '*.npz'")
    p.add_argument("--verify", action="store_true", help="also compare SHA-256 checksums with the remote's")
    p.add_argument("--every", type=float, default=None, metavar="SECONDS", help="sync again every SECONDS until Ctrl-C")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("stop", help="stop a bundle's latest run cleanly (here, over SSH or on a pool) and pull what it wrote")
    p.add_argument("bundle")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="then kill it (default 60)")
    p.set_defaults(func=cmd_stop)

    for name, what in (
        ("hold", "hold pool jobs (default: the idle, running and suspended ones)"),
        ("release", "release held pool jobs (default: the held ones and failed ones still in the queue)"),
        ("remove", "remove pool jobs from the queue (default: every job still in it)"),
        ("resubmit", "submit failed and removed jobs again, as a new cluster over just those jobs"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("bundle")
        p.add_argument("jobs", nargs="*", metavar="JOB_ID", help="act on these jobs only")
        p.add_argument("--states", metavar="STATES", help="the jobs in these states instead, e.g. held,failed")
        if name != "resubmit":
            p.add_argument("--reason", default=None, help="a reason the pool records")
        p.set_defaults(func=cmd_pool_action, target=None)

    p = sub.add_parser("status", help="job counts per state")
    p.add_argument("bundle")
    p.add_argument("--jobs", metavar="STATES", help="also list jobs in these states, e.g. failed,held")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("results", help="the results table")
    p.add_argument("bundle")
    p.add_argument("--csv", metavar="FILE", help="write it as CSV (metadata in FILE.meta.json)")
    p.add_argument("--parquet", metavar="FILE", help="write it as Parquet (metadata inside)")
    p.add_argument("--hdf5", metavar="FILE", help="write it as HDF5 (needs PyTables: pip install tables)")
    p.add_argument("--head", type=int, default=20)
    p.add_argument("--full", action="store_true", help="also re-check result files overwritten in place")
    p.add_argument("--convert-legacy", action="store_true", help="first convert old pickled results (outputs/<id>.pkl), safely")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("notebook", help="write the bundle's analysis notebook (analyze.ipynb in the bundle)")
    p.add_argument("bundle")
    p.add_argument("--output", "-o", metavar="FILE", default=None, help="write it here instead")
    p.add_argument("--overwrite", action="store_true", help="replace an existing notebook")
    p.set_defaults(func=cmd_notebook)

    p = sub.add_parser("list", help="the job types")
    p.add_argument("--verbose", "-v", action="store_true", help="show their parameters")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("demo", help="create, run and plot a demo scan (resonance curves)")
    p.add_argument("path", nargs="?", default="demo-scan")
    p.add_argument("--plot", default="demo-scan.png")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    from .adapting import add_command  # `workbench adapt`

    add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except WorkbenchError as e:
        print(f"error: {_shortened(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except EOFError:
        print("error: input ended before every question was answered.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
