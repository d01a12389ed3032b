"""Progress display for long commands whose work reports no fraction done."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ticking_bar(description: str, interval_s: float = 1.0) -> Iterator[None]:
    """Show ``description`` and the elapsed time on stderr, refreshed every ``interval_s``,
    while the body runs (e.g. reading a 2 GB benchmark file in one call)."""
    from tqdm import tqdm

    bar = tqdm(desc=description, bar_format="{desc}: {elapsed}", file=sys.stderr)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(interval_s):
            bar.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()
