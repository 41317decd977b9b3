"""Every error workbench raises on purpose.

All of them derive from :class:`WorkbenchError` and from the builtin they
resemble, so ``except ValueError`` keeps working for callers who do not know
workbench.  A message always says the value, the problem and the fix.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "ParameterError",
    "ExpressionError",
    "ScanError",
    "ZipError",
    "JobTypeError",
    "BundleError",
    "BundleExistsError",
    "BundleFormatError",
    "JobError",
    "JobIdError",
    "ExecutorError",
    "TransportError",
    "HostKeyError",
    "OutputError",
    "EventLogError",
    "SubmitError",
]


class WorkbenchError(Exception):
    """Base class of every error workbench raises on purpose."""


class ParameterError(WorkbenchError, ValueError):
    """A parameter value is invalid (wrong kind, out of bounds, unknown choice)."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class ExpressionError(WorkbenchError, ValueError):
    """A value expression is refused (not allowed, malformed, or too large)."""


class ScanError(WorkbenchError, ValueError):
    """A scan definition is inconsistent (zip lengths, unknown parameters, too many points)."""


class ZipError(ScanError):
    """A zip group is inconsistent (fewer than two members, a member in two groups, unequal lengths).

    ``group`` names the parameters of the zip group at fault.
    """

    def __init__(self, message: str, *, group: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.group = tuple(group)


class JobTypeError(WorkbenchError, LookupError):
    """A job type is unknown, or its declaration is inconsistent."""


class BundleError(WorkbenchError, OSError):
    """A job bundle cannot be written or read."""


class BundleExistsError(BundleError, FileExistsError):
    """A bundle already exists where a new one would be written."""


class BundleFormatError(BundleError):
    """A bundle was written by an unknown (newer or older) format version."""


class JobError(WorkbenchError, RuntimeError):
    """A job failed while running."""


class JobIdError(WorkbenchError, ValueError):
    """A job id read from a bundle (``jobs.txt``, an input, a selection) is not of the form job ids have,
    is repeated, or disagrees with the file it came from: it could name a path outside the bundle."""


class ExecutorError(WorkbenchError, RuntimeError):
    """An executor could not start or track jobs."""


class TransportError(WorkbenchError, OSError):
    """A remote host could not be reached or a transfer failed."""


class HostKeyError(TransportError):
    """A remote host key is unknown or has changed."""


class OutputError(WorkbenchError, ValueError):
    """A job output file is corrupt, truncated or holds something unsafe."""


class EventLogError(OutputError):
    """A stretch of an event log is damaged: it is skipped, and where it is is noted."""


class SubmitError(WorkbenchError, RuntimeError):
    """An HTCondor submission failed."""
