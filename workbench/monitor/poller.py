"""A periodic asyncio task on the kernel's running event loop.

With ipykernel 6 and 7 a notebook cell runs on the kernel's asyncio loop, so
a task created there runs whenever the kernel is idle (or a cell awaits),
never at the same time as cell code.  Widget updates made by the task are
therefore as safe as those of a cell; no thread writes to widgets.  Slow I/O
is handed to a worker thread by the step itself (``loop.run_in_executor``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Poller", "running_loop"]


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread (the kernel's, in a notebook), or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Poller:
    """Run ``step()`` every ``interval`` seconds on the running event loop until stopped.

    Parameters
    ----------
    step
        An async function doing one refresh.  Its exceptions go to ``on_error``
        and polling goes on.
    interval
        Seconds between the end of one step and the start of the next.
    on_error
        Called with each exception ``step`` raises.
    again
        Called after each step; when it returns True the next step starts at
        once (e.g. while a backlog of results is being read).

    Notes
    -----
    :meth:`start` needs a running loop (a notebook cell, or a coroutine);
    without one it returns False and nothing polls, and the owner refreshes by hand.
    """

    def __init__(
        self,
        step: Callable[[], Awaitable[Any]],
        interval: float = 2.0,
        *,
        on_error: Callable[[BaseException], None] | None = None,
        again: Callable[[], bool] | None = None,
    ) -> None:
        self._step = step
        self._interval = self._check(interval)
        self.on_error = on_error
        self._again = again
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._paused = False
        self._force = False
        self.steps = 0

    @staticmethod
    def _check(interval: float) -> float:
        interval = float(interval)
        if not interval > 0:
            raise ValueError(f"interval = {interval!r}; give a positive number of seconds, e.g. 2.0.")
        return interval

    # -- settings ----------------------------------------------------------
    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        self._interval = self._check(value)
        self.wake()  # a shorter interval takes effect now, not after the old one

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop stepping automatically (:meth:`wake` with ``force`` still steps once)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self.wake()

    @property
    def running(self) -> bool:
        """A task exists and has not ended."""
        return self._task is not None and not self._task.done()

    # -- life cycle -----------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> bool:
        """Create the task on ``loop`` (default: the running one); False if there is no loop."""
        if self.running:
            return True
        loop = loop or running_loop()
        if loop is None:
            return False
        self._task = loop.create_task(self._main(), name="workbench-monitor-poller")
        return True

    def stop(self) -> None:
        """Cancel the task; a step in progress ends at its next await."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    def wake(self, *, force: bool = False) -> None:
        """Step now instead of at the end of the interval; ``force`` steps even when paused."""
        self._force = self._force or force
        if self._wake is not None:
            self._wake.set()

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        try:
            while True:
                if not self._paused or self._force:
                    self._force = False
                    try:
                        await self._step()
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:  # noqa: BLE001 - a failing step must not end the polling
                        if self.on_error is not None:
                            self.on_error(e)
                    self.steps += 1
                    if self._again is not None and self._again() and not self._paused:
                        await asyncio.sleep(0)
                        continue
                if self._force:
                    continue
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._wake = None
