"""Self-checkpointing for long jobs: save state atomically, resume from it, exit for HTCondor."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import _names
from ._atomic import atomic_open
from .errors import OutputError

__all__ = ["Checkpoint", "CheckpointExit"]


class CheckpointExit(SystemExit):
    """Raised after a checkpoint is written when the job should exit and be restarted.

    HTCondor restarts a job that exits with ``checkpoint_exit_code`` (85) and
    transfers its checkpoint files back on the next start.
    """

    def __init__(self) -> None:
        super().__init__(_names.CHECKPOINT_EXIT_CODE)


class Checkpoint:
    """A job's checkpoint file.

    Parameters
    ----------
    path
        Where the checkpoint lives (an ``.npz`` file).
    every_seconds
        Save at most this often in wall time (``None``: no time trigger).
    every_steps
        Save every this many steps (``None``: no step trigger).
    exit_after_save
        Raise :class:`CheckpointExit` after each save (HTCondor's
        ``checkpoint_exit_code`` protocol).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        every_seconds: float | None = None,
        every_steps: int | None = None,
        exit_after_save: bool = False,
    ) -> None:
        self.path = Path(path)
        self.every_seconds = every_seconds
        self.every_steps = every_steps
        self.exit_after_save = exit_after_save
        self._last = time.monotonic()
        self.saves = 0

    def load(self) -> dict[str, np.ndarray] | None:
        """The saved state, or ``None`` when there is no checkpoint yet."""
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as e:
            raise OutputError(
                f"Checkpoint {self.path} is unreadable ({e}); delete it to restart the job from the beginning."
            ) from e

    def due(self, step: int) -> bool:
        """Whether a checkpoint should be written at this step."""
        if self.every_steps is not None and step > 0 and step % self.every_steps == 0:
            return True
        if self.every_seconds is not None and time.monotonic() - self._last >= self.every_seconds:
            return True
        return False

    def save(self, state: Mapping[str, object]) -> None:
        """Write ``state`` atomically (temporary file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.path, fsync=True) as f:
            np.savez(f, **{k: np.asarray(v) for k, v in state.items()})
        self._last = time.monotonic()
        self.saves += 1
        if self.exit_after_save:
            raise CheckpointExit()

    def clear(self) -> None:
        """Remove the checkpoint (after the job's result is safely written)."""
        self.path.unlink(missing_ok=True)
