"""workbench: a Jupyter-native workbench for high-throughput parameter scans."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
