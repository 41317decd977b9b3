"""Remote hosts over SSH: verified connections and result sync.

:func:`connect` opens an :class:`SSHConnection` (settings from the caller and
``~/.ssh/config``, keys from the agent or key files, host keys checked
against ``known_hosts``); :func:`sync` mirrors a remote bundle's results into
a local folder and :class:`Syncer` does so on a schedule in the background.

paramiko is imported only when a connection is made, so importing this
package stays cheap.
"""

from __future__ import annotations

from .ssh import (
    CommandResult,
    HostSettings,
    SSHConnection,
    UploadReport,
    connect,
    fingerprint,
    is_transient,
    resolve_host,
)
from .sync import (
    DEFAULT_INCLUDE,
    MANIFEST,
    PathFilter,
    RemotePath,
    SyncProgress,
    SyncReport,
    Syncer,
    sync,
)

__all__ = [
    "DEFAULT_INCLUDE",
    "MANIFEST",
    "CommandResult",
    "HostSettings",
    "PathFilter",
    "RemotePath",
    "SSHConnection",
    "SyncProgress",
    "SyncReport",
    "Syncer",
    "UploadReport",
    "connect",
    "fingerprint",
    "is_transient",
    "resolve_host",
    "sync",
]
