"""One progress line on stderr, rewritten in place (tqdm), for ``optimize`` and ``train``.

The bar counts the outer unit (trials of a search, epochs of a training run) and its text says
where the inner loop is (``trial 3: epoch 2/4, batch 17/24``), so one line shows both. It is
drawn only when the stream is a terminal: piped or redirected output (logs, CI, tests) gets
nothing, and Ctrl-C erases it so that the command's last line stands alone.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

__all__ = ["ProgressLine", "is_terminal"]

_MIN_INTERVAL = 0.1  # seconds between redraws: per-batch updates cost nothing when batches are fast


def is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (default: stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed, or not a real file
        return False


class ProgressLine:
    """A tqdm bar over ``total`` outer steps (``unit``) with a status text for the inner loop.

    Disabled (every method a no-op) unless ``enabled`` and ``stream`` is a terminal.

    >>> import io
    >>> line = ProgressLine(3, "trial", stream=io.StringIO())  # not a terminal: draws nothing
    >>> line.enabled
    False
    """

    def __init__(self, total: int | None, unit: str, *, enabled: bool = True, stream: IO[str] | None = None) -> None:
        stream = sys.stderr if stream is None else stream
        self.enabled = enabled and is_terminal(stream)
        self._bar: Any = None
        self._last = 0.0
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=unit, file=stream, dynamic_ncols=True, leave=True)

    def status(self, text: str, *, force: bool = False) -> None:
        """Set the text after the bar; redrawn at most every 0.1 s unless ``force``."""
        if self._bar is None:
            return
        now = time.monotonic()
        if force or now - self._last >= _MIN_INTERVAL:
            self._last = now
            self._bar.set_postfix_str(text, refresh=True)

    def advance(self, steps: int = 1) -> None:
        """One outer step done (a trial, an epoch); its status text is cleared."""
        if self._bar is not None:
            self._bar.set_postfix_str("", refresh=False)
            self._bar.update(steps)

    def close(self, *, erase: bool = False) -> None:
        """End the line; ``erase`` removes it (after Ctrl-C, so that only the command's message remains)."""
        if self._bar is None:
            return
        if erase:
            self._bar.leave = False
        self._bar.close()
        self._bar = None

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        self.close(erase=kind is not None)
