"""Python callables behind C callbacks.

An exception must never cross into C: ctypes would print it and return 0, which for a
verification callback means "accept". So every callback body runs under :func:`guard`,
which catches everything (KeyboardInterrupt included), keeps the exception, and returns a
safe value to C (a rejection, an I/O error, "not found"...).

The kept exception belongs to the thread that called into embertls: callbacks run on the
thread that drives the connection, inside the embertls call. After each embertls call the
binding calls :func:`raise_pending`, which raises the first kept exception in the caller
(with its original traceback), so it is never lost.
"""

from __future__ import annotations

import threading
from typing import Callable, List, Optional

_local = threading.local()


def _pending() -> List[BaseException]:
    pending = getattr(_local, "pending", None)
    if pending is None:
        pending = _local.pending = []
    return pending


def keep(exc: BaseException) -> None:
    """Keeps an exception raised by a callback, for the caller of the embertls call."""
    _pending().append(exc)


def guard(fn: Callable, on_error):
    """Wraps ``fn`` for ctypes: an exception is kept and ``on_error`` returned (called
    with the exception when it is callable)."""

    def wrapper(*args):
        try:
            return fn(*args)
        except BaseException as exc:  # noqa: BLE001 - nothing may cross into C
            keep(exc)
            return on_error(exc) if callable(on_error) else on_error

    return wrapper


def take() -> List[BaseException]:
    """The exceptions kept on this thread so far, forgetting them."""
    pending = getattr(_local, "pending", None)
    if not pending:
        return []
    _local.pending = []
    return pending


def raise_pending(error: Optional[BaseException] = None) -> None:
    """Raises the first exception a callback kept during the last embertls call on this
    thread, if any. ``error`` is the binding's own exception for the call's result (e.g.
    CertificateRejected after a verification callback raised): it becomes the raised
    exception's ``__context__``, so a traceback shows both. Further kept exceptions are
    attached as ``embertls_more_errors``."""
    pending = take()
    if not pending:
        return
    first = pending[0]
    if len(pending) > 1:
        try:
            first.embertls_more_errors = pending[1:]
        except AttributeError:
            pass
    if error is not None and error is not first:
        try:
            raise error
        except BaseException:
            raise first  # noqa: B904 - __context__ is the embertls error, as intended
    raise first
