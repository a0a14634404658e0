"""Stage progress bars as a person sees them: item counts, and for speech-to-text the audio position,
the speed in x real time and an ETA, computed from a controlled clock."""

from __future__ import annotations

import io

from rich.console import Console

from podsight.pipeline.progress import StageProgress
from podsight.timecode import clock


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rendered(progress: StageProgress) -> str:
    """The bars as the terminal would draw them now."""
    bars = progress._progress
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(bars.make_tasks_table(bars.tasks))
    return console.file.getvalue()


def new_progress(time: Clock) -> StageProgress:
    console = Console(file=io.StringIO(), width=160, force_terminal=False, color_system=None)
    return StageProgress(console, get_time=time)


def test_clock_formats_like_a_player():
    assert clock(0) == "0:00"
    assert clock(83.9) == "1:23"
    assert clock(3 * 3600) == "3:00:00"
    assert clock(3723) == "1:02:03"


def test_audio_bar_shows_position_speed_and_eta():
    time = Clock()
    with new_progress(time) as progress:
        progress.start_audio("Speech to text 1/2", 3 * 3600)
        for minute in range(1, 7):  # 20 minutes of audio per wall-clock minute: 20x real time
            time.now += 60
            progress.audio(minute * 20 * 60)
        text = rendered(progress)
    assert "Speech to text 1/2" in text
    assert "2:00:00/3:00:00 audio" in text
    assert "20.0x real time" in text
    assert "0:03:00" in text  # one hour of audio left at 20x: three minutes


def test_item_bars_count_items_and_show_no_speed():
    time = Clock()
    with new_progress(time) as progress:
        progress.start("Scanning feeds", 8)
        time.now += 2
        progress.advance()
        progress.advance(2)
        text = rendered(progress)
    assert "Scanning feeds" in text and "3/8" in text
    assert "real time" not in text and "audio" not in text


def test_a_stage_with_nothing_to_do_draws_no_bar():
    with new_progress(Clock()) as progress:
        progress.start("Delivering digests", 0)
        progress.advance()
        progress.note("ignored")
        assert progress._progress.tasks == []
