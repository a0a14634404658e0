"""Render a timed script in the transcript formats publishers use (Podcasting 2.0 `podcast:transcript`).

Each renderer follows what real publishers produce: WebVTT with `<v Speaker>` voice spans, SRT with a
`Speaker:` prefix on every cue, the Podcasting 2.0 JSON segment list, the spec's HTML shape
(`<cite>`, `<time>`, `<p>` per turn) and plain text paragraphs. Output is deterministic, so the files
(and their ETags) never change unless the script does.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable

from podsight.demo.script import Cue, TimedScript


def _clock(ms: int, fraction_sep: str) -> str:
    """HH:MM:SS.mmm (VTT) or HH:MM:SS,mmm (SRT)."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{fraction_sep}{millis:03d}"


def _short_clock(ms: int) -> str:
    """M:SS, as the HTML transcript example in the Podcasting 2.0 spec writes times."""
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes}:{seconds:02d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(script: TimedScript, title: str) -> str:
    """WebVTT captions, one cue per sentence, speaker as a voice span."""
    blocks = ["WEBVTT", f"NOTE\n{_vtt_escape(title)}"]
    for number, cue in enumerate(script.cues, start=1):
        timing = f"{_clock(cue.start_ms, '.')} --> {_clock(cue.end_ms, '.')}"
        blocks.append(f"{number}\n{timing}\n<v {cue.speaker}>{_vtt_escape(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def render_srt(script: TimedScript, title: str) -> str:
    """SubRip captions; SRT has no speaker field, so the name is a text prefix."""
    blocks = []
    for number, cue in enumerate(script.cues, start=1):
        timing = f"{_clock(cue.start_ms, ',')} --> {_clock(cue.end_ms, ',')}"
        blocks.append(f"{number}\n{timing}\n{cue.speaker}: {cue.text}")
    return "\n\n".join(blocks) + "\n"


def render_json(script: TimedScript, title: str) -> str:
    """Podcasting 2.0 JSON transcript: version + segments with seconds as numbers."""
    segments = [
        {
            "speaker": cue.speaker,
            "startTime": cue.start_ms / 1000,
            "endTime": cue.end_ms / 1000,
            "body": cue.text,
        }
        for cue in script.cues
    ]
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=2) + "\n"


def _turn_text(cues: list[Cue]) -> str:
    return " ".join(cue.text for cue in cues)


def render_html(script: TimedScript, title: str) -> str:
    """HTML transcript in the spec's shape: per turn a <cite> speaker, a <time> and a <p>."""
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Transcript: {html.escape(title)}</title>",
        "</head>",
        "<body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for cues in script.turns():
        lines.append(f"<cite>{html.escape(cues[0].speaker)}:</cite>")
        lines.append(f"<time>{_short_clock(cues[0].start_ms)}</time>")
        lines.append(f"<p>{html.escape(_turn_text(cues), quote=False)}</p>")
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"


def render_text(script: TimedScript, title: str) -> str:
    """Plain text: a paragraph per turn, `Speaker: words`; no timings (the format has none)."""
    paragraphs = [f"{cues[0].speaker}: {_turn_text(cues)}" for cues in script.turns()]
    return "\n\n".join(paragraphs) + "\n"


RENDERERS: dict[str, Callable[[TimedScript, str], str]] = {
    "vtt": render_vtt,
    "srt": render_srt,
    "json": render_json,
    "html": render_html,
    "txt": render_text,
}


def render(script: TimedScript, fmt: str, title: str) -> str:
    """Render in one format by extension; ValueError lists the valid ones."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown transcript format {fmt!r}; valid: {', '.join(RENDERERS)}") from None
    return renderer(script, title)
