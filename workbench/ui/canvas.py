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
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["make_figure", "new_lock"]


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
