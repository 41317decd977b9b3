"""Finding 5: ``create --dry`` and the form's preview cost what they show; the size limits refuse before memory does."""

from __future__ import annotations

import subprocess
import sys

from wbtest_security import assert_clean

from workbench.bundle import plan_bundle
from workbench.scan import scan


def peak_rss_mb_of(cli, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the command line in a fresh process, with its peak memory (printed at exit).

    The peak is VmHWM of /proc/self/status, which starts anew at exec; getrusage's ru_maxrss does not
    (Linux keeps it across exec), so it would count the forking test process's own memory.
    """
    code = ("import runpy, sys; sys.argv = ['workbench', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('workbench', run_name='__main__')\n"
            "finally:\n    hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0].split()[1]\n"
            "    print('PEAK', hwm, file=sys.stderr)\n")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cli.cwd, env=cli.env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK ")]
    return proc, int(peak[-1].split()[1]) / 1024 if peak else float("nan")


def test_a_dry_run_of_a_million_jobs_renders_only_what_it_shows(cli):
    proc, peak = peak_rss_mb_of(cli, "create", "demo", "big", "--set", "drive_freq=np.linspace(0.1, 2, 1000)",
                                "--set", "damping=np.linspace(0.01, 0.5, 1000)", "--dry")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "1,000,000 job(s)" in proc.stdout and "... 999,995 more" in proc.stdout
    assert peak < 500, f"{peak:.0f} MB for a preview of five jobs"  # the whole scan took 1.08 GB
    assert not (cli.cwd / "big").exists()


def test_a_preview_scales_the_sizes_it_shows():
    s = scan("demo", drive_freq=[0.5 + 0.01 * i for i in range(300)], damping=[0.1, 0.2])
    whole, preview = plan_bundle(s, name="b"), plan_bundle(s, name="b", head=5)
    assert len(preview.job_ids) == 5 and preview.count == 600
    assert preview.job_ids == whole.job_ids[:5] and preview.inputs == whole.inputs[:5]
    mb = lambda text: float(text.split("about ")[1].split(" MB")[0])  # noqa: E731
    assert abs(mb(preview.summary()) - mb(whole.summary())) <= 0.15 * mb(whole.summary())  # "about": scaled from five jobs


def test_a_scan_too_large_for_memory_is_refused_before_it_is_rendered(cli):
    proc, peak = peak_rss_mb_of(cli, "create", "demo", "huge", "--set", "drive_freq=np.linspace(0.1, 2, 10000)",
                                "--set", "damping=np.linspace(0.01, 0.5, 10000)", "--yes")  # fmt: skip
    assert_clean(proc)
    assert proc.returncode == 2 and "100,000,000 jobs" in proc.stderr and "Split the scan" in proc.stderr
    assert peak < 500
    assert not list(cli.cwd.glob("*huge*")) and not list(cli.cwd.glob(".huge*"))
