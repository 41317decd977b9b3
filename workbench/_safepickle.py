"""Unpickling that cannot run code: only plain data types may be rebuilt.

Bundles travel between machines; ``pickle.load`` on a file from elsewhere can
run anything.  :func:`load` refuses every global except the few harmless
builtin types metadata is made of.  With ``allow_numpy=True`` it also rebuilds
numpy arrays, dtypes and scalars of numeric, boolean and text dtypes (what the
old questionnaire scripts pickled their results as); object arrays, whose
items could be anything, are refused.
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


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The numpy callables array and scalar pickles name, each wrapped to refuse object dtypes.

    Pickles name numpy's private modules (``numpy.core`` before numpy 2,
    ``numpy._core`` since); both spellings map to the functions of the numpy
    installed here, looked up without importing the deprecated alias.
    """
    import codecs

    import numpy as np

    core = getattr(np, "_core", None) or np.core  # numpy >= 2 has _core
    multiarray = core.multiarray
    numeric = core.numeric

    def no_objects(dt: Any) -> Any:
        dt = np.dtype(dt)
        if dt.hasobject:
            raise pickle.UnpicklingError(f"refusing to load a numpy array of dtype {dt}: its items could be any object")
        return dt

    def dtype(*args: Any) -> Any:
        return no_objects(np.dtype(*args))

    def reconstruct(cls: Any, shape: Any, typecode: Any) -> Any:
        if cls is not np.ndarray:
            raise pickle.UnpicklingError(f"refusing to rebuild {cls!r}: only numpy.ndarray is allowed")
        return multiarray._reconstruct(np.ndarray, shape, typecode)

    def scalar(dt: Any, *args: Any) -> Any:
        return multiarray.scalar(no_objects(dt), *args)

    def frombuffer(buf: Any, dt: Any, shape: Any, order: Any) -> Any:
        return numeric._frombuffer(buf, no_objects(dt), shape, order)

    def encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        # Protocol-2 numpy pickles store bytes as latin-1 text; nothing else is needed.
        if str(encoding).replace("-", "").replace("_", "").lower() not in ("latin1", "utf8"):
            raise pickle.UnpicklingError(f"refusing codec {encoding!r}")
        return codecs.encode(obj, encoding, errors)

    out: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): dtype, ("_codecs", "encode"): encode}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(mod, "_reconstruct")] = reconstruct
        out[(mod, "scalar")] = scalar
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):
        out[(mod, "_frombuffer")] = frombuffer
    return out


class _Restricted(pickle.Unpickler):
    def __init__(self, f: IO[bytes], *, allow_numpy: bool = False) -> None:
        super().__init__(f)
        self._numpy = _numpy_globals() if allow_numpy else {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if (module, name) in self._numpy:
            return self._numpy[(module, name)]
        what = "plain data and numeric numpy arrays" if self._numpy else "plain data (dict, list, str, numbers)"
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only {what} is allowed")


def load(f: IO[bytes], *, what: str = "pickle", allow_numpy: bool = False) -> Any:
    """Load plain data from ``f``; anything that would import code raises :class:`OutputError`.

    Parameters
    ----------
    f
        A binary file object positioned at the pickle.
    what
        How to name the source in error messages (usually its path).
    allow_numpy
        Also rebuild numpy arrays, dtypes and scalars (never of object dtype).
    """
    try:
        return _Restricted(f, allow_numpy=allow_numpy).load()
    except (
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        ValueError,  # includes UnicodeDecodeError
        TypeError,
        IndexError,
        KeyError,
        # A damaged or hostile frame length, or nesting, must not take the caller down either.
        MemoryError,
        OverflowError,
        RecursionError,
    ) as e:
        kind = "plain-data/numpy" if allow_numpy else "plain-data"
        raise OutputError(f"{what} is not a {kind} pickle workbench can read safely ({e}).") from e


def loads(data: bytes, *, what: str = "pickle", allow_numpy: bool = False) -> Any:
    return load(io.BytesIO(data), what=what, allow_numpy=allow_numpy)


def dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=4)
