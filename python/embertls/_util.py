"""Small helpers shared by the binding's modules: buffers in and out of C, text results,
error construction."""

from __future__ import annotations

import ctypes
import os
from ctypes import byref, c_size_t, c_void_p
from typing import Callable, Optional, Tuple, Union

from . import _callbacks, _lib
from .errors import Error, Result, make_error

BytesLike = Union[bytes, bytearray, memoryview]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class InBuffer:
    """The bytes of ``data`` as a (address, length) pair for a ``const uint8_t *``
    parameter, without a copy for bytes and writable buffers (bytearray, memoryview of
    one, array...). The object keeps ``data`` alive while it is in use."""

    __slots__ = ("_keep", "address", "length")

    def __init__(self, data: BytesLike):
        if isinstance(data, bytes):
            self._keep = data
            self.length = len(data)
            self.address = ctypes.cast(data, c_void_p).value if data else None
            return
        view = memoryview(data)
        if view.ndim != 1 or view.itemsize != 1 or view.format not in ("B", "b", "c"):
            view = view.cast("B")
        self.length = view.nbytes
        if self.length == 0:
            self._keep, self.address = view, None
        elif view.readonly or not view.c_contiguous:
            copy = view.tobytes()
            self._keep = copy
            self.address = ctypes.cast(copy, c_void_p).value
        else:
            array = (ctypes.c_char * self.length).from_buffer(view)
            self._keep = array
            self.address = ctypes.addressof(array)

    def at(self, offset: int) -> Optional[int]:
        """The address of byte ``offset`` (None when nothing is left)."""
        if self.address is None or offset >= self.length:
            return None
        return self.address + offset


def out_buffer(buffer, nbytes: int = 0) -> Tuple[object, int]:
    """A ctypes array over the writable ``buffer`` (its first ``nbytes`` bytes, or all of
    it when 0) for a ``uint8_t *`` parameter, and its length."""
    view = memoryview(buffer)
    if view.readonly:
        raise TypeError("the buffer must be writable (a bytearray, memoryview of one, ...)")
    if view.ndim != 1 or view.itemsize != 1 or view.format not in ("B", "b", "c"):
        view = view.cast("B")
    n = view.nbytes if nbytes <= 0 else min(nbytes, view.nbytes)
    if n == 0:
        return None, 0
    return (ctypes.c_char * n).from_buffer(view), n


def fspath(path: PathLike) -> bytes:
    """A path as the NUL-terminated bytes the C API takes."""
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise ValueError("embedded NUL in path")
    return raw


def cstr(text: Union[str, bytes], what: str) -> bytes:
    """A string as NUL-terminated UTF-8 for the C API."""
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if b"\0" in raw:
        raise ValueError(f"embedded NUL in {what}")
    return raw


def read_text(fn: Callable, handle, initial: int = 256) -> Tuple[int, str]:
    """Calls ``fn(handle, buf, len, &out_n)`` (last_error, server_name, alpn...) with a
    buffer large enough for the whole text. Returns (result, text); text is "" unless the
    result is OK."""
    n = c_size_t()
    size = initial
    for _ in range(3):
        buf = ctypes.create_string_buffer(size)
        r = fn(handle, buf, size, byref(n))
        if r == Result.ERR_BUFFER_TOO_SMALL:
            size = n.value + 1
            continue
        if r != Result.OK:
            return r, ""
        return r, ctypes.string_at(buf, min(n.value, size - 1)).decode("utf-8", "replace")
    return Result.ERR_BUFFER_TOO_SMALL, ""


def static_str(raw: Optional[bytes]) -> Optional[str]:
    """A static C string (NULL -> None)."""
    return None if raw is None else raw.decode("utf-8", "replace")


def error_for(code: int, detail: str = "") -> Error:
    """An exception for ``code``, named by the library; ``detail`` defaults to the
    library's sentence for the code."""
    lib = _lib.get()
    name = static_str(lib.ember_result_name(code)) or "EMBER_UNKNOWN_RESULT"
    if not detail:
        detail = static_str(lib.ember_result_str(code)) or ""
    return make_error(code, name, detail)


def check_result(code: int, make_error: Callable[[int], Error]) -> None:
    """Raises ``make_error(code)`` for a non-OK ``code``, after any exception a callback
    kept (see _callbacks.raise_pending); returns for OK."""
    if code == Result.OK:
        _callbacks.raise_pending()
        return
    err = make_error(code)
    _callbacks.raise_pending(err)
    raise err


def raise_for(code: int, detail_fn: Optional[Callable[[], str]] = None) -> None:
    """check_result() with the library's exception for ``code``; ``detail_fn`` reads the
    object's last error."""
    check_result(code, lambda c: error_for(c, _detail(detail_fn)))


def _detail(detail_fn: Optional[Callable[[], str]]) -> str:
    if detail_fn is None:
        return ""
    try:
        return detail_fn()
    except Exception:  # noqa: BLE001 - the code still says what failed
        return ""
