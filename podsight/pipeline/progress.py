"""Progress bars for the stages (rich), or nothing when output is not for a person."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class StageProgress:
    """One bar per stage: `start(label, total)`, then `advance()` per item."""

    def __init__(self, console: Console | None = None):
        self._progress = Progress(
            TextColumn("[bold]{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
        )
        self._task = None

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start(self, label: str, total: int) -> None:
        """A new bar; none for a stage with nothing to do (an empty bar only adds noise)."""
        self._task = self._progress.add_task(label, total=total, note="") if total else None

    def advance(self, n: float = 1, note: str | None = None) -> None:
        if self._task is not None:
            fields = {"note": note} if note is not None else {}
            self._progress.update(self._task, advance=n, **fields)

    def note(self, text: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, note=text)

    def log(self, message: str) -> None:
        self._progress.console.print(message)
