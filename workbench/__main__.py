"""``python -m workbench`` is the ``workbench`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
