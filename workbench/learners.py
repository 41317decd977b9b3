"""Learners of an adaptive scan: python-adaptive's learners built from a :class:`~workbench.scan.Scan`.

This module is pure: it builds learners, translates between a learner's
coordinates and a job type's points, and replays a bundle's points and
results into new learners.  Running jobs is :mod:`workbench.adapting`'s.

* One adaptive parameter (:func:`workbench.adaptive`) -> ``Learner1D``;
  two -> ``Learner2D``; more -> ``LearnerND``.
* Every combination of the scan's other, discrete axes gets a learner of its
  own, all under one ``BalancingLearner`` (which asks where the loss
  improves most).
* The learners see one scalar output: the job type's first declared output,
  or the one named by ``output=``.
* A failed point is kept *pending* for ever, python-adaptive's way of
  excluding a point (its ``Runner`` does the same when a point's retries are
  spent): the learner neither asks for it again nor interpolates through it.
* Nothing of a learner is pickled: :meth:`AdaptiveScan.replay` rebuilds the
  state from the bundle, telling the results in job index order, which is the
  order the loop tells them in (so a resumed scan asks what a continuing one
  would have asked).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .designs import Adaptive, Bound
from .errors import ScanError
from .scan import Scan

__all__ = ["AdaptiveScan", "adaptive_names", "check_output", "check_goal", "MAX_LEARNERS", "LOSSES"]

#: Losses of one adaptive parameter: ``"curvature"`` (python-adaptive's loss for smooth curves: the
#: area of the triangles of neighbouring points, plus a little of the other two, so points go where
#: straight lines would miss the curve most) and ``"default"`` (``Learner1D``'s own: the length of
#: each interval, scaled to the ranges). Two or more adaptive parameters use their learner's own loss.
LOSSES = ("curvature", "default")
#: The smallest loss n points of one adaptive parameter can have is this over (n - 1): every interval's
#: loss is at least its width times this, and the widths add up to 1.
_LOSS_FLOOR = {"curvature": 0.04, "default": 1.0}

#: The most learners (combinations of the discrete axes) an adaptive scan may have.
MAX_LEARNERS = 10_000


def adaptive_names(scan: Scan) -> list[str]:
    """The parameters of ``scan`` with an :class:`~workbench.designs.Adaptive` source, in the job type's order."""
    return [p.name for p in scan.job_type.params if isinstance(scan.sources[p.name], Adaptive)]


def check_output(scan: Scan, output: str | None) -> str:
    """The output the learners see: ``output``, or the job type's first declared one.

    Raises :class:`~workbench.errors.ScanError` when it is not a declared (scalar) output.
    """
    jt = scan.job_type
    declared = tuple(jt.outputs)
    if output is None:
        if not declared:
            raise ScanError(
                f"The job type {jt.name!r} declares no outputs, so an adaptive scan does not know what to learn; "
                "give output='name' (a scalar output of the job), or declare outputs=(...) in the job type."
            )
        return declared[0]
    if not isinstance(output, str):
        raise ScanError(f"output = {output!r} is not an output name; give e.g. output={declared[0]!r}." if declared
                        else f"output = {output!r} is not an output name.")
    if declared and output not in declared:
        raise ScanError(
            f"output = {output!r} is not a scalar output of {jt.name!r}; its declared outputs are "
            f"{', '.join(declared)}. Give one of those."
        )
    return output


def check_goal(goal: float | None, max_jobs: int | None, dims: int, learners: int, loss: str = "curvature") -> None:
    """Refuse a loss goal that is not a positive number, or that ``max_jobs`` cannot reach.

    For one adaptive parameter the loss of an interval is at least a fixed
    multiple of its width (scaled to the range), so ``n`` points cannot get
    the loss below that multiple over ``n - 1``: a goal below it for the jobs
    each learner gets is refused.
    """
    if loss not in LOSSES:
        raise ScanError(f"loss = {loss!r} is unknown; use one of {', '.join(map(repr, LOSSES))}.")
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, (int, float)) or not goal > 0 or not math.isfinite(goal)):
        raise ScanError(f"goal = {goal!r} is not a positive number; give the loss to reach, e.g. goal=0.01.")
    if max_jobs is not None and (isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or max_jobs < 1):
        raise ScanError(f"max_jobs = {max_jobs!r} is not a whole number >= 1; give the most jobs to run, e.g. max_jobs=300.")
    if goal is None and max_jobs is None:
        raise ScanError("An adaptive scan needs a goal (the loss to reach) or max_jobs (a budget), or both.")
    if goal is not None and max_jobs is not None and dims == 1:
        floor = _LOSS_FLOOR[loss]
        n = max_jobs // learners
        if n < 2 or goal < floor / (n - 1):
            need = learners * (math.ceil(floor / goal) + 1)
            raise ScanError(
                f"goal = {goal!r} cannot be reached with max_jobs = {max_jobs} ({n} job(s) for each of {learners} "
                f"learner(s)): the {loss} loss of n points is at least {floor:g}/(n-1). Give max_jobs >= {need}, "
                "or a larger goal."
            )


@dataclass(frozen=True)
class _Axis:
    """One adaptive parameter: its range and scale (the learner works on log10 of a log-scaled one)."""

    name: str
    bound: Bound

    @property
    def log(self) -> bool:
        return self.bound.scale == "log"

    @property
    def learner_bounds(self) -> tuple[float, float]:
        b = self.bound
        return (math.log10(b.lo), math.log10(b.hi)) if self.log else (b.lo, b.hi)

    def to_value(self, x: float) -> float:
        if not self.log:
            return float(x)
        a, b = self.learner_bounds
        if x <= a:
            return self.bound.lo
        if x >= b:
            return self.bound.hi
        return float(10.0**x)

    def to_learner(self, v: float) -> float:
        return math.log10(v) if self.log else float(v)


class AdaptiveScan:
    """The learners of an adaptive scan and the translation between their coordinates and points.

    Parameters
    ----------
    scan
        A scan with at least one :func:`~workbench.adaptive` parameter; its
        other axes must be lists (each combination gets a learner).
    output
        The scalar output to learn (default: the job type's first declared output).
    loss
        For one adaptive parameter, one of :data:`LOSSES`.
    """

    def __init__(self, scan: Scan, output: str | None = None, loss: str = "curvature") -> None:
        import adaptive
        from adaptive.learner.learner1D import curvature_loss_function

        if loss not in LOSSES:
            raise ScanError(f"loss = {loss!r} is unknown; use one of {', '.join(map(repr, LOSSES))}.")
        self.loss_name = loss

        names = adaptive_names(scan)
        if not names:
            raise ScanError(
                f"The scan of {scan.job_type.name!r} has no adaptive parameter; give one a range with "
                "wb.adaptive(low, high), e.g. drive_freq=wb.adaptive(0.5, 1.5)."
            )
        grouped = {n for g in scan.zip for n in g}
        zipped = sorted(grouped & set(names))
        if zipped:
            raise ScanError(f"Adaptive parameter(s) {zipped} are in a zip group; an adaptive parameter cannot be zipped.")
        self.scan = scan
        self.output = check_output(scan, output)
        self.axes = tuple(_Axis(n, scan.sources[n].bound) for n in names)  # type: ignore[attr-defined]
        self.param_names = list(scan.job_type.param_names)
        # The other dimensions: each combination of their steps is one learner.
        others = [d for d in scan.dimensions if not set(d.names) & set(names)]
        n_learners = math.prod(len(d) for d in others)
        if n_learners > MAX_LEARNERS:
            raise ScanError(
                f"The discrete axes of this adaptive scan make {n_learners:,} combinations, each with its own "
                f"learner; at most {MAX_LEARNERS:,} are allowed. Fix some of them, or make them adaptive."
            )
        self.combos: list[dict[str, Any]] = []
        for steps in itertools.product(*(d.values for d in others)):
            combo: dict[str, Any] = {}
            for d, step in zip(others, steps):
                combo.update(zip(d.names, step))
            self.combos.append(combo)
        self._other_names = [n for d in others for n in d.names]
        self._combo_index = {self._combo_key(c): i for i, c in enumerate(self.combos)}
        bounds = [a.learner_bounds for a in self.axes]
        if len(self.axes) == 1:
            per_interval = curvature_loss_function() if loss == "curvature" else None
            self.learners = [adaptive.Learner1D(None, bounds=bounds[0], loss_per_interval=per_interval) for _ in self.combos]
        elif len(self.axes) == 2:
            self.learners = [adaptive.Learner2D(None, bounds=bounds) for _ in self.combos]
        else:
            self.learners = [adaptive.LearnerND(None, bounds=bounds) for _ in self.combos]
        self.learner = adaptive.BalancingLearner(self.learners) if len(self.learners) > 1 else self.learners[0]
        #: Points told as failed: (learner index, learner x), kept pending.
        self.failed: set[tuple[int, Any]] = set()

    # -- coordinates ---------------------------------------------------------
    def _combo_key(self, point: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(point[n] for n in self._other_names)

    def locate(self, point: Mapping[str, Any]) -> tuple[int, Any] | None:
        """``(learner index, learner x)`` of a point, or ``None`` when its discrete values are no learner's."""
        i = self._combo_index.get(self._combo_key(point))
        if i is None:
            return None
        xs = tuple(a.to_learner(point[a.name]) for a in self.axes)
        return i, xs[0] if len(xs) == 1 else xs

    def point(self, i: int, x: Any) -> dict[str, Any]:
        """The full point (every parameter) of learner ``i``'s coordinates ``x``."""
        xs = (x,) if len(self.axes) == 1 else tuple(x)
        values = {a.name: a.to_value(v) for a, v in zip(self.axes, xs)}
        merged = {**self.scan.fixed, **self.combos[i], **values}
        return {n: merged[n] for n in self.param_names}

    # -- ask / tell ----------------------------------------------------------
    def ask(self, n: int) -> list[tuple[int, Any]]:
        """Up to ``n`` new ``(learner index, x)`` to run; they are pending from now on."""
        if n <= 0:
            return []
        if len(self.learners) == 1:
            xs, _ = self.learner.ask(n)
            return [(0, x) for x in xs]
        picks, _ = self.learner.ask(n)
        return [(int(i), x) for i, x in picks]

    # Through the BalancingLearner when there is one: it keeps each learner's last answer to ask()
    # until that learner is told something.
    def tell(self, where: tuple[int, Any], y: float) -> None:
        if len(self.learners) == 1:
            self.learner.tell(where[1], y)
        else:
            self.learner.tell(where, y)

    def tell_pending(self, where: tuple[int, Any]) -> None:
        if len(self.learners) == 1:
            self.learner.tell_pending(where[1])
        else:
            self.learner.tell_pending(where)

    def tell_failed(self, where: tuple[int, Any]) -> None:
        """Exclude a point whose job failed: it stays pending, so it is neither asked again nor used."""
        self.failed.add(where)
        self.tell_pending(where)

    def loss(self) -> float:
        """The largest loss of the learners (``inf`` until each has enough points)."""
        return float(max(lrn.loss() for lrn in self.learners))

    def value(self, record: Mapping[str, Any] | None) -> float | None:
        """The learned output of a result record, or ``None`` when it has no real number there."""
        if record is None:
            return None
        v = record.get("scalars", {}).get(self.output)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        return float(v)

    def replay(
        self,
        points: Iterable[Mapping[str, Any]],
        outcomes: Sequence[float | None | str],
    ) -> list[int]:
        """Tell the bundle's points (in job index order) to the learners.

        ``outcomes[k]`` is the output of point ``k``, ``"failed"``, or ``None``
        when it has no result yet (it is told pending).  Returns the positions
        of the pending points (to run).
        """
        pending: list[int] = []
        for k, (pt, out) in enumerate(zip(points, outcomes)):
            where = self.locate(pt)
            if where is None:
                continue
            if out is None:
                self.tell_pending(where)
                pending.append(k)
            elif isinstance(out, str):
                self.tell_failed(where)
            else:
                self.tell(where, out)
        return pending
