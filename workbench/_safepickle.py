"""Unpickling that cannot run code: only plain data types may be rebuilt.

Bundles travel between machines; ``pickle.load`` on a file from elsewhere can
run anything.  :func:`load` refuses every global except the few harmless
builtin types metadata is made of.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

from .errors import OutputError

__all__ = ["load", "loads", "dumps"]

_ALLOWED = {
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "str"),
    ("builtins", "bytes"),
    ("builtins", "int"),
    ("builtins", "float"),
    ("builtins", "complex"),
    ("builtins", "bool"),
    ("collections", "OrderedDict"),
}


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data (dict, list, str, numbers) is allowed")


def load(f: IO[bytes], *, what: str = "pickle") -> Any:
    """Load plain data from ``f``; anything that would import code raises :class:`OutputError`."""
    try:
        return _Restricted(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError) as e:
        raise OutputError(f"{what} is not a plain-data pickle workbench can read safely ({e}).") from e


def loads(data: bytes, *, what: str = "pickle") -> Any:
    return load(io.BytesIO(data), what=what)


def dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=4)
