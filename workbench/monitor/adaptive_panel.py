"""The monitor's panel for adaptive bundles: the loss falling, and where the points went.

Left, the learners' loss against the jobs done (the goal dashed); right,
the sampled points: for one adaptive parameter the learned output against it,
one line per learner, with the jobs in flight as grey ticks and failed ones as
red crosses; for two, the first learner's interpolated plane with its points
over it; for more, the points over the first two parameters.

The panel reads the bundle itself (it grows while the monitor watches it):
``jobs.txt``, the results and new jobs' inputs, telling what is new to its own
learners (:class:`~workbench.learners.AdaptiveScan`), replayed from the bundle
once when it opens.  Its :class:`~workbench.monitor.poller.Poller` looks for
news every second on the kernel's loop and asks the monitor for a redraw
(``on_change``) when there is some.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..adapting import INFO_KEY, _outcome, outcomes_of
from ..bundle import Bundle
from ..grow import read_job_ids
from ..learners import AdaptiveScan
from .panels import MARK_COLORS, Panel
from .poller import Poller

__all__ = ["AdaptivePanel", "is_adaptive", "panel_for"]

#: At most this many learners get a line of their own in the 1-D view.
_MAX_LINES = 8


def is_adaptive(bundle: Bundle) -> bool:
    """Whether ``bundle`` is an adaptive scan (made by :func:`workbench.adapt`)."""
    return bool(bundle.info.get(INFO_KEY))


def panel_for(model: Any) -> AdaptivePanel | None:
    """The adaptive panel for the model's bundle, or ``None`` when it is no adaptive bundle (or its job type
    cannot be loaded here: the monitor then shows its usual panels)."""
    from ..errors import WorkbenchError

    if not is_adaptive(model.bundle):
        return None
    try:
        return AdaptivePanel(model)
    except WorkbenchError:
        return None


class AdaptivePanel(Panel):
    """Loss against jobs done, and the sampled points, of an adaptive bundle."""

    title = "adaptive"

    def __init__(self, model: Any, *, figsize: tuple[float, float] = (9.0, 3.4), interval: float = 1.0) -> None:
        super().__init__(model, figsize)
        b = self.bundle = Bundle(model.bundle.path)
        settings = b.info.get(INFO_KEY) or {}
        self.learners = AdaptiveScan(b.scan, settings.get("output"), settings.get("loss") or "curvature")
        self.goal = settings.get("goal")
        self.dims = len(self.learners.axes)
        points, ids, outcomes = outcomes_of(b, self.learners)
        self.ids: list[str] = []
        self.points: dict[str, dict[str, Any]] = {}
        self.outcome: dict[str, float | str] = {}
        #: (jobs done, loss) after each result told.
        self.history: list[tuple[int, float]] = []
        self._add(ids, points)
        for jid, out in zip(ids, outcomes):
            if out is not None:
                self._tell(jid, out)
        self._items_mtime = self._mtime()
        self.ax_loss, self.ax = self.figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
        self.figure.subplots_adjust(left=0.08, right=0.97, bottom=0.16, top=0.88, wspace=0.28)
        self._colorbar: Any = None
        self.poller = Poller(self._poll_step, interval)
        self.poller.start()  # without a running loop (scripts, tests) poll() is called by hand

    # -- reading the bundle ------------------------------------------------------
    def _mtime(self) -> int:
        try:
            return os.stat(self.bundle.path / "jobs.txt").st_mtime_ns
        except OSError:
            return 0

    def _add(self, ids: list[str], points: list[dict[str, Any]]) -> None:
        for jid, pt in zip(ids, points):
            if jid not in self.points:
                self.ids.append(jid)
                self.points[jid] = pt

    def _tell(self, jid: str, out: float | str) -> None:
        where = self.learners.locate(self.points[jid])
        self.outcome[jid] = out
        if where is None:
            return
        if isinstance(out, str):
            self.learners.tell_failed(where)
        else:
            self.learners.tell(where, out)
        self.history.append((len(self.outcome), self.learners.loss()))

    def poll(self) -> bool:
        """Read new jobs and results; True when something changed (the panel is then dirty)."""
        changed = False
        m = self._mtime()
        if m != self._items_mtime:
            self._items_mtime = m
            new = [j for j in read_job_ids(self.bundle) if j not in self.points]
            self._add(new, [self.bundle.input(j)["params"] for j in new])
            changed = bool(new)
        waiting = [j for j in self.ids if j not in self.outcome]
        if waiting:
            done = self.bundle.finished_ids()
            for jid in waiting:
                if jid in done or self.bundle.stderr_path(jid).exists():
                    out = _outcome(self.bundle, self.learners, jid)
                    if out is not None:
                        self._tell(jid, out)
                        changed = True
        if changed:
            self.dirty = True
        return changed

    async def _poll_step(self) -> None:
        if self.poll() and self.on_change is not None:
            self.on_change()

    # -- drawing -------------------------------------------------------------
    @property
    def in_flight(self) -> list[str]:
        return [j for j in self.ids if j not in self.outcome]

    def update(self) -> None:
        self._draw_loss()
        self.ax.clear()
        if self.dims == 1:
            self._draw_1d()
        else:
            self._draw_points()

    def _draw_loss(self) -> None:
        ax = self.ax_loss
        ax.clear()
        hist = [(n, v) for n, v in self.history if math.isfinite(v)]
        if hist:
            n, v = zip(*hist)
            ax.plot(n, v, color="#4c72b0", lw=1.5)
            ax.set_yscale("log")
        if self.goal:
            ax.axhline(self.goal, color="#2ca02c", ls="--", lw=1, label=f"goal {self.goal:g}")
            ax.legend(loc="upper right", fontsize="x-small", frameon=False)
        loss = self.learners.loss()
        ax.set_title(f"loss {loss:.3g} after {len(self.outcome):,} jobs", fontsize="medium")
        ax.set_xlabel("jobs done")
        ax.set_ylabel("loss")

    def _label(self, i: int) -> str:
        combo = {k: v for k, v in self.learners.combos[i].items() if k not in self.learners.scan.fixed}
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in combo.items()) or "all"

    def _draw_1d(self) -> None:
        ax, L = self.ax, self.learners
        name = L.axes[0].name
        for i, lrn in enumerate(L.learners[:_MAX_LINES]):
            if not lrn.data:
                continue
            xs = np.array(sorted(lrn.data))
            ys = np.array([lrn.data[x] for x in xs])
            xs = np.array([L.axes[0].to_value(x) for x in xs])
            ax.plot(xs, ys, "-o", ms=2.5, lw=1, label=self._label(i) if len(L.learners) > 1 else None)
        flying = [self.points[j][name] for j in self.in_flight]
        if flying:
            ax.plot(flying, np.full(len(flying), 0.02), "|", ms=12, color="#9e9e9e", transform=ax.get_xaxis_transform(),
                    label=f"in flight ({len(flying)})")
        failed = [self.points[j][name] for j, o in self.outcome.items() if isinstance(o, str)]
        if failed:
            ax.plot(failed, np.full(len(failed), 0.05), "x", color=MARK_COLORS["failed"], transform=ax.get_xaxis_transform(),
                    label=f"failed ({len(failed)})")
        if L.axes[0].log:
            ax.set_xscale("log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="x-small", frameon=False)
        ax.set_xlabel(name)
        ax.set_ylabel(L.output)
        ax.set_title(f"{L.output} at {len(self.ids):,} points", fontsize="medium")

    def _draw_points(self) -> None:
        ax, L = self.ax, self.learners
        (a, b), lrn = L.axes[:2], L.learners[0]
        if self.dims == 2 and len(lrn.data) >= 4:
            xs, ys, zs = lrn.interpolated_on_grid(n=80)
            to = np.vectorize(a.to_value), np.vectorize(b.to_value)
            mesh = ax.pcolormesh(to[0](xs), to[1](ys), np.asarray(zs).T, shading="auto", cmap="viridis")
            if self._colorbar is None:  # made once, beside the plane; later planes update it
                self._colorbar = self.figure.colorbar(mesh, ax=ax, label=L.output)
            else:
                self._colorbar.update_normal(mesh)
        pts = [p for p in (self.points[j] for j in self.ids) if (L.locate(p) or (None,))[0] == 0]
        if pts:
            ax.scatter([p[a.name] for p in pts], [p[b.name] for p in pts], s=4, c="white", edgecolors="black", linewidths=0.3)
        flying = [self.points[j] for j in self.in_flight]
        if flying:
            ax.scatter([p[a.name] for p in flying], [p[b.name] for p in flying], s=10, c="#9e9e9e", label="in flight")
        ax.set_xlabel(a.name)
        ax.set_ylabel(b.name)
        where = f" ({self._label(0)}; 1 of {len(L.learners)} learners)" if len(L.learners) > 1 else ""
        ax.set_title(f"{len(self.ids):,} points{where}", fontsize="medium")

    def close(self) -> None:
        self.poller.stop()
        super().close()
