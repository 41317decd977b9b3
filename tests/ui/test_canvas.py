"""Live figures render under a lock, so a render never interleaves with a change of the figure."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np

from workbench.ui.canvas import make_figure, new_lock


def render_in_thread(canvas) -> threading.Thread:
    t = threading.Thread(target=canvas.draw, daemon=True)
    t.start()
    return t


def test_a_render_waits_while_the_figure_is_being_changed() -> None:
    lock = new_lock()
    fig, canvas = make_figure((3.0, 2.0), lock=lock, toolbar_position="top")
    assert (canvas.header_visible, canvas.footer_visible, canvas.toolbar_position) == (False, False, "top")
    (line,) = fig.add_subplot().plot([], [])
    with lock:  # what the monitor, the form and the explorer do while they change artists
        t = render_in_thread(canvas)  # what ipympl does (in a kernel subshell thread) when the browser asks
        line.set_data(np.arange(10.0), np.arange(10.0) ** 2)
        time.sleep(0.2)
        assert t.is_alive()  # the render waits for the change to finish
    t.join(10)
    assert not t.is_alive()
    assert np.asarray(canvas.buffer_rgba()).any()  # and then it drew


def test_figures_may_share_a_lock() -> None:
    lock = new_lock()
    _, a = make_figure((2.0, 2.0), lock=lock)
    _, b = make_figure((2.0, 2.0), lock=lock)
    with lock:
        ta, tb = render_in_thread(a), render_in_thread(b)
        time.sleep(0.1)
        assert ta.is_alive() and tb.is_alive()
    ta.join(10)
    tb.join(10)
    assert not ta.is_alive() and not tb.is_alive()


def test_the_form_plot_changes_its_points_under_its_lock() -> None:
    from workbench.scan import scan
    from workbench.sources import Linspace
    from workbench.ui.preview import PointsPlot

    plot = PointsPlot()
    assert plot.update(scan("demo", drive_freq=Linspace(0.5, 1.5, 11)))  # makes the axes and the line
    seen: list[bool] = []
    set_data = plot.line.set_data

    def probe(*args, **kwargs):
        got: list[bool] = []
        t = threading.Thread(target=lambda: got.append(plot.lock.acquire(blocking=False)))
        t.start()
        t.join()
        if got[0]:
            plot.lock.release()
        seen.append(not got[0])  # a render (another thread) cannot start now
        return set_data(*args, **kwargs)

    plot.line.set_data = probe
    assert plot.update(scan("demo", drive_freq=Linspace(0.5, 1.5, 41)))
    assert seen == [True]
    assert len(plot.line.get_xdata()) == 41


def test_making_a_figure_leaves_the_users_pyplot_backend_alone() -> None:
    # ipympl switches pyplot to itself when imported; a monitor in a notebook must not turn
    # the user's inline figures into widgets (nor close them).  A fresh process: ipympl
    # is imported only once.
    code = """
import matplotlib.pyplot as plt
fig = plt.figure()
before = plt.get_backend()
from workbench.ui.canvas import make_figure, new_lock
make_figure((2.0, 2.0), lock=new_lock())
import ipympl
assert plt.get_backend() == before, (before, plt.get_backend())
assert plt.fignum_exists(fig.number), "the user's figure was closed"
print(before)
"""
    env = {**__import__("os").environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module://matplotlib_inline.backend_inline"
