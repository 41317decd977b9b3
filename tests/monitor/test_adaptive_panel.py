"""The monitor's panel for adaptive bundles: loss against jobs done, and the sampled points."""

from __future__ import annotations

import asyncio

import numpy as np
import wbtest_adapt_jobs as J

import workbench as wb
from workbench.grow import read_job_ids
from workbench.monitor.adaptive_panel import AdaptivePanel
from workbench.monitor.panels import ScanPanel
from workbench.monitor.widget import Monitor


def test_the_panel_follows_a_growing_adaptive_bundle(tmp_path):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=[0.02, 0.2], center=0.1, fail_from=0.3, fail_to=0.35)
    path = tmp_path / "peak"
    first = wb.adapt(s, path, max_jobs=12, workers=2, progress=False).wait(60)
    m = Monitor(path)
    p = m.panels[0]
    assert isinstance(p, AdaptivePanel) and p.dims == 1
    assert len(p.history) == first.jobs and not p.in_flight
    assert p.poll() is False  # nothing new
    report = wb.adapt(path, max_jobs=30, progress=False).wait(60)
    assert p.poll() is True and p.dirty
    assert len(p.ids) == report.jobs == len(read_job_ids(wb.open_bundle(path)))
    p.redraw()
    assert p.ax_loss.get_title().endswith(f"after {report.jobs} jobs")
    # one line per learner, through the learned values of its points
    df = wb.results(path)
    lines = [ln for ln in p.ax.get_lines() if ln.get_label().startswith("width=")]
    assert [ln.get_label() for ln in lines] == ["width=0.02", "width=0.2"]
    ok = df[(df.width == 0.02) & (df.status == "completed")].sort_values("x")
    assert np.allclose(lines[0].get_xdata(), ok.x) and np.allclose(lines[0].get_ydata(), ok.y)
    # the loss line ends at the learners' loss; failed points are marked
    xs, ys = p.ax_loss.get_lines()[0].get_data()
    assert xs[-1] == report.jobs and np.isclose(ys[-1], p.learners.loss())
    failed = [ln for ln in p.ax.get_lines() if ln.get_label().startswith("failed")]
    assert report.failed == 0 or failed[0].get_label() == f"failed ({report.failed})"
    m.close()


def test_in_a_notebook_the_panel_polls_on_the_event_loop_while_the_scan_runs(tmp_path):
    s = wb.scan(J.step2d, x=wb.adaptive(-1.0, 1.0), y=wb.adaptive(-1.0, 1.0))
    path = tmp_path / "step"
    wb.adapt(s, path, max_jobs=6, workers=2, progress=False).wait(60)

    async def main():
        m = Monitor(path)
        p = m.panels[0]
        redraws = p.draws
        a = wb.adapt(path, max_jobs=40, workers=2)
        await a.wait_async()
        for _ in range(100):
            if len(p.ids) == 40 and not p.in_flight:
                break
            await asyncio.sleep(0.05)
        m.close()
        return p, redraws

    p, redraws = asyncio.run(main())
    assert len(p.history) == 40
    assert p.draws > redraws
    assert p._colorbar is not None  # the learner's interpolated plane under the points


def test_other_bundles_keep_the_scan_panel(tmp_path):
    b = wb.create(wb.scan(J.lorentz, x=[0.0, 0.5]), tmp_path / "grid")
    m = Monitor(b)
    assert isinstance(m.panels[0], ScanPanel)
    m.close()
