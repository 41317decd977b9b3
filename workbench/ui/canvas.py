"""A matplotlib figure on its own ipympl canvas widget, whose renders take a lock.

Every live figure of workbench (the form's points plot, the monitor's panels,
the explorer) is made here.  The figure is built straight on ipympl's canvas,
not through pyplot, so it is never registered or shown twice.

ipympl answers the front end's requests for a picture by rendering the
figure, and under ipykernel 7 it does so in a kernel subshell thread, while
the code that changes the figure runs on the kernel's main thread.  A render
that interleaves with ``set_data`` or an axis change can raise or show a half
updated figure.  So each canvas renders under a lock, which whoever changes
the figure holds meanwhile::

    fig, canvas = make_figure((4, 3), lock=lock)
    with lock:
        line.set_data(x, y)
    canvas.draw_idle()

Redraw requests go through a :class:`Throttle` (~10 per second at most), and
widgets are closed with :func:`close_tree`, which also closes what
``Widget.close()`` leaves open (children, layouts, styles, a canvas's toolbar).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["make_figure", "new_lock", "close_tree", "Throttle", "label_log_axes"]

#: A log axis spanning more decades than this labels its decades only (2x and 5x labels would crowd it).
MINOR_LABEL_DECADES = 1.2


def _log_label(v: float, pos: Any = None) -> str:
    """A decade of a log axis as a scientist writes it: ``1e12``, ``0.01``."""
    from .._format import format_number

    return format_number(v, 3) if v > 0 else ""


def _minor_log_label(v: float, pos: Any = None) -> str:
    """Label the 2x and 5x minor ticks of a log axis, and no others."""
    if v <= 0:
        return ""
    lead = round(v / 10 ** math.floor(math.log10(v)), 6)
    return _log_label(v) if lead in (2.0, 5.0) else ""


def label_log_axes(ax: Any, *, minor_decades: float = MINOR_LABEL_DECADES) -> None:
    """Label the log axes of ``ax`` for its current limits: ``1e12`` at each decade, 2x and 5x too when it spans a decade or less.

    Matplotlib's default writes ``10^12`` and, on an axis shorter than a
    decade, may label no tick at all; plain labels at every tick crowd a
    wide axis.  ``minor_decades``: the longest span (in decades) whose 2x and
    5x ticks are labelled.  Call again after the limits change.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log":
            continue
        lo, hi = sorted(lim)
        decades = math.log10(hi / lo) if lo > 0 else math.inf
        axis.set_major_formatter(FuncFormatter(_log_label))
        axis.set_minor_formatter(FuncFormatter(_minor_log_label) if decades <= minor_decades else NullFormatter())


@contextmanager
def _pyplot_backend_kept() -> Iterator[None]:
    """Import ipympl without it switching pyplot's backend.

    ``import ipympl`` calls ``matplotlib.use(ipympl)`` when matplotlib is loaded
    (what ``%matplotlib widget`` does): the user's own ``plt`` figures would
    turn into widgets, and their open figures be closed, because a monitor
    or an explorer was made.  Ours are built on the canvas directly and need
    no pyplot backend.
    """
    import sys

    if "ipympl" in sys.modules:
        yield
        return
    import matplotlib

    use = matplotlib.use
    matplotlib.use = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        matplotlib.use = use


def new_lock() -> Any:
    """The lock type figures are guarded with (re-entrant: a change may trigger another)."""
    return threading.RLock()


def make_figure(
    figsize: tuple[float, float],
    *,
    lock: Any,
    layout: str | None = None,
    **canvas_traits: Any,
) -> tuple[Figure, Any]:
    """A figure and its ipympl canvas; the canvas renders while holding ``lock``.

    Parameters
    ----------
    figsize
        Inches, at 96 dpi.
    lock
        Held by every render of the canvas (see :func:`new_lock`); hold it
        while changing the figure.  Figures may share one.
    layout
        Matplotlib's layout engine (``"constrained"``) or ``None`` for fixed
        margins, which are cheaper: a constrained layout is recomputed at
        every render.
    **canvas_traits
        Traits of the canvas widget to set, e.g. ``toolbar_position="top"``.
        The header and footer are hidden unless given.
    """
    with _pyplot_backend_kept():
        from ipympl.backend_nbagg import Canvas, FigureManager
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=96, layout=layout)
    with warnings.catch_warnings():
        # ipympl 0.10's Toolbar passes the canvas on to traitlets, which warns; not ours to fix.
        warnings.filterwarnings("ignore", "Passing unrecognized arguments", DeprecationWarning)
        canvas = Canvas(fig)
        FigureManager(canvas, 0)  # sets canvas.manager, which answers the front end's messages
    for name, value in {"header_visible": False, "footer_visible": False, **canvas_traits}.items():
        setattr(canvas, name, value)
    render = canvas.draw

    def locked_render(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return render(*args, **kwargs)

    canvas.draw = locked_render
    return fig, canvas


def close_tree(widgets: Iterable[Any]) -> None:
    """Close widgets and every widget they hold.

    ``Widget.close()`` closes one widget: a box's children, each widget's
    ``layout`` and ``style`` (widgets of their own) and an ipympl canvas's
    ``toolbar`` stay open, kept alive by the kernel.  ``None`` entries are skipped.
    """
    import ipywidgets as w

    todo = list(widgets)
    seen: set[int] = set()
    while todo:
        wdg = todo.pop()
        if not isinstance(wdg, w.Widget) or id(wdg) in seen:
            continue
        seen.add(id(wdg))
        todo.extend(getattr(wdg, "children", ()))
        todo.extend(getattr(wdg, name, None) for name in ("layout", "style", "toolbar"))
        wdg.close()


class Throttle:
    """Call ``fn`` at most once per ``min_interval`` seconds; requests in between coalesce into one later call.

    The later call is scheduled on the running event loop.  Without one it
    waits for :meth:`flush` (or the next :meth:`request` after the interval),
    unless ``call_without_loop``: then a request calls at once.
    """

    def __init__(
        self,
        fn: Callable[[], Any],
        min_interval: float | Callable[[], float] = 0.1,
        *,
        clock: Callable[[], float] = time.monotonic,
        call_without_loop: bool = False,
    ):
        self.fn = fn
        self._min_interval = min_interval
        self.clock = clock
        self.call_without_loop = call_without_loop
        self.last = -math.inf
        self.pending = False
        self._handle: asyncio.TimerHandle | None = None

    @property
    def min_interval(self) -> float:
        """Seconds between calls at least (a callable is asked each time)."""
        m = self._min_interval
        return float(m() if callable(m) else m)

    def request(self) -> None:
        wait = self.last + self.min_interval - self.clock()
        if wait <= 0 and self._handle is None:
            self._fire()
            return
        self.pending = True
        if self._handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # nobody could make the later call
                if self.call_without_loop:
                    self._fire()
                return
            self._handle = loop.call_later(max(wait, 0.0), self._fire)

    def flush(self) -> None:
        """Call now if a call is pending."""
        if self.pending:
            self._fire()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.pending = False

    def _fire(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.pending = False
        self.last = self.clock()
        self.fn()

