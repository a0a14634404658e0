"""Progress bars for the stages (rich), or nothing when output is not for a person.

Most stages count items (feeds, episodes). Speech-to-text counts seconds of audio instead, so its bar
shows how much of the episode is done, the speed in x real time and an ETA that a three-hour episode
makes worth having.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from podsight.timecode import clock


class _CountColumn(ProgressColumn):
    """'3/8' for item bars, '12:03/3:00:00 audio' for audio bars."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") == "audio":
            return Text(f"{clock(task.completed)}/{clock(task.total or 0)} audio")
        return Text(f"{int(task.completed)}/{int(task.total or 0)}")


class _SpeedColumn(ProgressColumn):
    """Seconds of audio per second of wall clock: the x-real-time figure (blank for item bars)."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") != "audio" or not task.speed:
            return Text("")
        return Text(f"{task.speed:.1f}x real time")


class StageProgress:
    """One bar per stage: `start(label, total)`, then `advance()` per item; or, for audio,
    `start_audio(label, total_s)` then `audio(done_s)`."""

    def __init__(self, console: Console | None = None, get_time: Callable[[], float] | None = None):
        self._progress = Progress(
            TextColumn("[bold]{task.description:<22}"),
            BarColumn(),
            _CountColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            _SpeedColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
            get_time=get_time,
            speed_estimate_period=120,  # decoding runs in bursts (a window at a time): average them out
        )
        self._task = None

    def __enter__(self) -> StageProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start(self, label: str, total: int) -> None:
        """A new bar; none for a stage with nothing to do (an empty bar only adds noise)."""
        self._task = self._progress.add_task(label, total=total, note="", unit="items") if total else None

    def start_audio(self, label: str, total_s: float) -> None:
        """A new bar measured in seconds of audio."""
        self._task = self._progress.add_task(label, total=max(total_s, 1.0), note="", unit="audio")

    def audio(self, done_s: float) -> None:
        """Move the audio bar to `done_s` seconds (it never moves back)."""
        if self._task is not None:
            self._progress.update(self._task, completed=done_s)

    def advance(self, n: float = 1, note: str | None = None) -> None:
        if self._task is not None:
            fields = {"note": note} if note is not None else {}
            self._progress.update(self._task, advance=n, **fields)

    def note(self, text: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, note=text)

    def log(self, message: str) -> None:
        self._progress.console.print(message)
