"""Progress that suits where it is written: a tqdm bar on a terminal, plain lines elsewhere.

Usage: python -c "from lrspeech.progress import progress; list(progress(range(9), desc='demo'))"

Why: tqdm redraws its bar with '\\r' frames; on a terminal they overwrite each other, but in a
recipe log or a pipe every frame stays, and decoding 231 clips left ~200 frames on one line.
When the stream is not a terminal, `progress` writes one plain line, with no '\\r', whenever
`LINE_INTERVAL_S` seconds passed or another `LINE_STEP` of the total is done (but not within
`MIN_GAP_S` of the last line), and one when it ends; a loop done within `MIN_GAP_S` writes
nothing (its caller logs what it did). Every loop of lrspeech goes through it.
"""

import sys
import time
from typing import Any, Callable, Iterable, Iterator, Optional, TextIO

from tqdm import tqdm

LINE_INTERVAL_S = 30.0  # a plain line when this many seconds passed since the last one ...
LINE_STEP = 0.1  # ... or when another tenth of the total is done,
MIN_GAP_S = 1.0  # ... but then not within this many seconds of the last line


def is_terminal(stream: TextIO) -> bool:
    """True if `stream` is an interactive terminal (a closed or odd stream counts as not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    """'4.2 s' under a minute, then 'm:ss' and 'h:mm:ss'."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


class LineProgress:
    """A tqdm stand-in for logs: `update`, `close`, iteration, `with`; one plain line per step."""

    def __init__(self, iterable: Optional[Iterable] = None, total: Optional[int] = None,
                 desc: str = "", unit: str = "it", file: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.file = file if file is not None else sys.stderr
        self.clock = clock
        self.n = 0
        self.start = self.last_time = clock()
        self.last_n = 0
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable or ():
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count `n` more; write a line if 30 s passed or another tenth is done (1 s apart)."""
        self.n += n
        now = self.clock()
        since = now - self.last_time
        if since >= LINE_INTERVAL_S or (since >= MIN_GAP_S and self._crossed_step()):
            self._write(now)

    def close(self) -> None:
        """Write the final line, unless the loop was quick or the last line said the same."""
        if self.closed:
            return
        self.closed = True
        now = self.clock()
        if self.n != self.last_n and now - self.start >= MIN_GAP_S:
            self._write(now)

    def _crossed_step(self) -> bool:
        if not self.total:
            return False
        step = self.total * LINE_STEP
        return int(self.n / step) > int(self.last_n / step)

    def _write(self, now: float) -> None:
        self.last_time, self.last_n = now, self.n
        self.file.write(self.line(now) + "\n")
        self.file.flush()

    def line(self, now: float) -> str:
        """E.g. 'decode dev: 120/231 utt (52%) in 1:21, 1.5 utt/s, ~1:14 left'."""
        elapsed = now - self.start
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        text = f"{self.desc + ': ' if self.desc else ''}{count} {self.unit}"
        if self.total:
            text += f" ({100 * self.n / self.total:.0f}%)"
        text += f" in {_duration(elapsed)}"
        if elapsed > 0 and self.n:
            rate = self.n / elapsed
            text += f", {rate:.1f} {self.unit}/s"
            if self.total and self.n < self.total:
                text += f", ~{_duration((self.total - self.n) / rate)} left"
        return text


class _Silent(LineProgress):
    """A disabled progress: counts, writes nothing."""

    def _write(self, now: float) -> None:
        self.last_time, self.last_n = now, self.n


def progress(iterable: Optional[Iterable] = None, total: Optional[int] = None, desc: str = "",
             unit: str = "it", disable: bool = False, file: Optional[TextIO] = None) -> Any:
    """A tqdm bar if `file` (default stderr) is a terminal, else a `LineProgress`.

    Use it as tqdm: iterate over it, or `with progress(total=n) as bar: ... bar.update(1)`.
    """
    stream = file if file is not None else sys.stderr
    if disable:
        return _Silent(iterable, total, desc, unit, stream)
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True)
    return LineProgress(iterable, total, desc, unit, stream)
