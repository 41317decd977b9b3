"""The poller: a periodic task on the running event loop that survives failing steps."""

from __future__ import annotations

import asyncio

import pytest

from workbench.monitor.poller import Poller, running_loop


def test_no_loop_no_polling() -> None:
    async def step() -> None:  # pragma: no cover - never called
        pass

    p = Poller(step, 1.0)
    assert running_loop() is None and not p.start() and not p.running
    with pytest.raises(ValueError, match="positive number of seconds"):
        Poller(step, 0)
    with pytest.raises(ValueError, match="positive"):
        p.interval = -1


def test_steps_errors_backlog_and_wakeups() -> None:
    errors: list[BaseException] = []
    calls: list[float] = []
    backlog = [3]

    async def step() -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 2:
            raise OSError("disk went away")
        if backlog[0]:
            backlog[0] -= 1

    async def main() -> None:
        p = Poller(step, 10.0, on_error=errors.append, again=lambda: backlog[0] > 0)
        assert p.start() and p.start()  # starting twice keeps one task
        await asyncio.sleep(0.05)
        # the first step leaves a backlog: steps follow at once until it is read, then the interval applies
        assert len(calls) == 4 and backlog == [0] and [str(e) for e in errors] == ["disk went away"]
        p.interval = 0.02  # a shorter interval takes effect now
        await asyncio.sleep(0.1)
        assert len(calls) >= 6
        p.pause()
        await asyncio.sleep(0.05)
        n = len(calls)
        await asyncio.sleep(0.1)
        assert len(calls) == n
        p.wake(force=True)
        await asyncio.sleep(0.01)
        assert len(calls) == n + 1 and p.paused
        p.resume()
        await asyncio.sleep(0.05)
        assert len(calls) > n + 1
        p.stop()
        await asyncio.sleep(0)
        assert not p.running
        n = len(calls)
        await asyncio.sleep(0.05)
        assert len(calls) == n

    asyncio.run(main())
