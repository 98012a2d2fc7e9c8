"""Progress bars for long loops, shown only when the caller asks (the CLI does; library callers default to silent).

``rich`` is imported lazily so that importing a library module costs nothing when no bar is shown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
# called (without arguments) before a bar is drawn: the CLI prints log lines it held back until work starts
BEFORE_BAR: list[Callable[[], None]] = []


def track(iterable: Iterable[T], description: str, total: float | None = None, enabled: bool = False) -> Iterator[T]:
    """Yield from ``iterable``, drawing a progress bar on stderr when ``enabled``."""
    if not enabled:
        yield from iterable
        return
    with counter(description, total=total, enabled=True) as advance:
        for item in iterable:
            yield item
            advance(1)


@contextlib.contextmanager
def counter(description: str, total: float | None = None, enabled: bool = False) -> Iterator[Callable[[float], None]]:
    """Context manager yielding ``advance(n)``: a bar for work that is not a plain loop (chunks, bytes, epochs)."""
    if not enabled:
        yield lambda n=1: None
        return
    for hook in BEFORE_BAR:
        hook()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
