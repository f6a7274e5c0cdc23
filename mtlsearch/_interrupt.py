"""Cooperative interruption: a signal is recorded, and the run stops at the next safe point.

Raising from a signal handler can land anywhere, in the middle of a database write too (leaving
SQLAlchemy to log "Error closing cursor" tracebacks, or a trial RUNNING). So inside
:func:`cooperative_signals` the handler only records the first SIGINT/SIGTERM, and the run calls
:func:`raise_if_interrupted` where stopping is safe: before each training batch, when a trial
starts and after each trial.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Signalled", "cooperative_signals", "raise_if_interrupted", "set_signal_namer", "signal_label"]

_pending: list[str] = []  # the name of the first signal received inside cooperative_signals
_depth = [0]  # nesting of cooperative_signals blocks: the outermost one starts and ends clean
_namer: list[Callable[[str], str]] = []  # how a received signal is named (a worker: its parent's signal)


def set_signal_namer(namer: Callable[[str], str] | None) -> None:
    """Name received signals with ``namer(name)`` instead of their own name (``None`` resets).

    A worker process is stopped by its parent with SIGTERM whatever the user sent the parent;
    the worker names the parent's signal so that its interrupted trial says what the user did.
    """
    _namer[:] = [namer] if namer is not None else []


def signal_label(name: str) -> str:
    """The name a received signal ``name`` is reported under (see :func:`set_signal_namer`)."""
    return _namer[0](name) if _namer else name


class Signalled(BaseException):
    """Raised at a safe point after SIGINT or SIGTERM.

    A BaseException but not a KeyboardInterrupt: Lightning turns a KeyboardInterrupt inside
    ``fit`` into ``sys.exit(1)``, which would leave the trial RUNNING; other BaseExceptions it
    re-raises.
    """

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def raise_if_interrupted() -> None:
    """Raise :class:`Signalled` if a signal arrived; a no-op (one list check) otherwise."""
    if _pending:
        raise Signalled(_pending[0])


@contextlib.contextmanager
def cooperative_signals(*, immediate: bool = False) -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM is recorded for :func:`raise_if_interrupted`;
    with ``immediate`` the handler raises :class:`Signalled` at once (for a process that only
    waits, such as the parent of worker processes). Later signals are ignored, so the clean-up
    that follows cannot itself be interrupted. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _depth[0]:
        _pending.clear()
    _depth[0] += 1

    def handler(signum: int, frame: Any) -> None:
        if _pending:
            return
        _pending.append(signal_label(signal.Signals(signum).name))
        if immediate:
            raise Signalled(_pending[0])

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if immediate:
            raise_if_interrupted()  # a signal recorded by an enclosing cooperative block
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        _depth[0] -= 1
        if not _depth[0]:
            _pending.clear()
