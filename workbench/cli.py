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
# Parameter values from text (--set and the questionnaire)
# ---------------------------------------------------------------------------
def source_from_text(param: Any, text: str) -> Any:
    """The value source for ``text`` typed for ``param``: a safe expression, or plain text for text/choice parameters."""
    from .sources import Expr, Value

    text = text.strip()
    if not text:
        raise ParameterError(f"{param.name}: no value given; type a value or press Enter for the default.", parameter=param.name)
    if param.kind in ("str", "choice") and not text.startswith(("'", '"', "[", "(")):
        if param.kind == "choice" and not isinstance(param.choices[0], str):
            return Expr(text)
        return Value(text)
    if param.kind == "bool" and text.lower() in ("true", "false", "yes", "no", "y", "n", "1", "0"):
        return Value(text.lower() in ("true", "yes", "y", "1"))
    return Expr(text)


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

    jt = get_job_type(args.job_type)
    given: dict[str, Any] = {}
    for item in args.set or ():
        name, text = parse_assignment(item)
        given[name] = source_from_text(jt.param(name), text)
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
        plan = plan_bundle(scan, name=path.name, settings=settings)
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
    import shlex

    return shlex.quote(s)


def cmd_run(args: argparse.Namespace) -> int:
    from .bundle import open_bundle
    from .executors.local import run

    bundle = open_bundle(args.bundle)
    try:
        report = run(bundle, only=args.only, workers=args.workers, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\nInterrupted: finished jobs are kept; run the same command again to resume.", file=sys.stderr)
        return 130
    print(report)
    for jid, err in report.failed[:10]:
        print(f"  failed {jid}: {err}  (log: {bundle.stderr_path(jid)})")
    if len(report.failed) > 10:
        print(f"  ... and {len(report.failed) - 10} more; see `workbench status {_quote(args.bundle)} --jobs failed`")
    return 1 if report.failed else 0


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
    from .results import results

    df = results(args.bundle)
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"Wrote {len(df):,} rows to {args.csv}")
    if args.parquet:
        df.to_parquet(args.parquet, index=False)
        print(f"Wrote {len(df):,} rows to {args.parquet}")
    if not (args.csv or args.parquet):
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


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.path), plot=Path(args.plot), workers=args.workers, progress=not args.no_progress)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="High-throughput parameter scans: create, run, analyze.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("create", help="create a job bundle from a job type and parameter values")
    p.add_argument("job_type", help="job type name (see `workbench list`)")
    p.add_argument("path", help="folder to create the bundle in")
    p.add_argument("--set", "-s", action="append", metavar="NAME=VALUE", help="a value, list or expression, e.g. damping=\"[0.05, 0.1]\"")
    p.add_argument("--zip", action="append", metavar="A,B", help="pair these axes instead of crossing them")
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
    p.add_argument("--only", choices=("unfinished", "failed", "all"), default="unfinished")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="job counts per state")
    p.add_argument("bundle")
    p.add_argument("--jobs", metavar="STATES", help="also list jobs in these states, e.g. failed,held")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("results", help="the results table")
    p.add_argument("bundle")
    p.add_argument("--csv", metavar="FILE")
    p.add_argument("--parquet", metavar="FILE")
    p.add_argument("--head", type=int, default=20)
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("list", help="the job types")
    p.add_argument("--verbose", "-v", action="store_true", help="show their parameters")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("demo", help="create, run and plot a demo scan (resonance curves)")
    p.add_argument("path", nargs="?", default="demo-scan")
    p.add_argument("--plot", default="demo-scan.png")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except EOFError:
        print("error: input ended before every question was answered.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
