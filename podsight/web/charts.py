"""Pictures drawn on the server as SVG strings: no JavaScript, no chart library, nothing to download.

- `timeline_svg`: an episode as a strip, one mark per insight at its second (a link that starts the
  player there), ad and intro stretches greyed.
- `weekly_bars_svg`: stacked bars, one per ISO week, one colour per insight kind (the archive's
  "what did my digests talk about lately").

Every piece of text (claims, titles) goes through `escape`: it came from a podcast or a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from markupsafe import Markup, escape

from podsight.timecode import clock

KIND_COLOURS = {"claim": "#6366f1", "prediction": "#f59e0b", "advice": "#10b981", "data_point": "#0ea5e9",
                "story": "#ec4899"}
OTHER_COLOUR = "#9ca3af"
TIMELINE_WIDTH, TIMELINE_HEIGHT = 800, 58
BARS_WIDTH, BARS_HEIGHT, BARS_LEFT, BARS_TOP, BARS_BOTTOM = 800, 260, 36, 34, 28


@dataclass(frozen=True)
class Mark:
    """One insight on the timeline: where, what it says (the tooltip), where its link goes."""

    start_s: float
    label: str
    href: str
    kind: str = "claim"


def colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, OTHER_COLOUR)


def kind_class(kind: str) -> str:
    """The CSS class suffix for a kind's colour (`kind-claim` ... `kind-other` in podsight.css): a class,
    not a style attribute, because the Content-Security-Policy allows no inline styles."""
    return kind if kind in KIND_COLOURS else "other"


def timeline_svg(duration_s: float, marks: list[Mark], greyed: list[tuple[float, float, str]] = ()) -> Markup:
    """The episode strip. `greyed`: (start, end, kind) stretches that are not the conversation."""
    duration = max(float(duration_s or 0), max((m.start_s for m in marks), default=0), 1.0)
    x = lambda seconds: round(TIMELINE_WIDTH * min(max(seconds, 0), duration) / duration, 1)  # noqa: E731
    parts = [f'<rect x="0" y="18" width="{TIMELINE_WIDTH}" height="14" rx="3" fill="#e5e7eb"/>']
    for start, end, kind in greyed:
        parts.append(f'<rect x="{x(start)}" y="18" width="{max(x(end) - x(start), 1)}" height="14" fill="#9ca3af" '
                     f'opacity="0.7"><title>{escape(kind)} {clock(start)}-{clock(end)}</title></rect>')
    for mark in marks:
        left = min(x(mark.start_s), TIMELINE_WIDTH - 4)
        parts.append(f'<a href="{escape(mark.href)}" data-seek="{int(mark.start_s)}"><rect class="mark" x="{left}" y="8" width="4" height="34" '
                     f'rx="1" fill="{colour(mark.kind)}"><title>{clock(mark.start_s)} {escape(mark.label)}</title>'
                     f'</rect></a>')
    parts.extend(_time_ticks(duration, x))
    return _svg(TIMELINE_WIDTH, TIMELINE_HEIGHT, f"Timeline: {len(marks)} insights in {clock(duration)}", parts)


def _time_ticks(duration: float, x) -> list[str]:
    ticks = []
    for share, anchor in ((0, "start"), (0.25, "middle"), (0.5, "middle"), (0.75, "middle"), (1, "end")):
        seconds = duration * share
        ticks.append(f'<text x="{x(seconds)}" y="55" font-size="11" text-anchor="{anchor}" fill="#6b7280">'
                     f'{clock(seconds)}</text>')
    return ticks


def weekly_bars_svg(weeks: list[tuple[str, Counter]]) -> Markup:
    """Stacked bars per week (label like "2026-W05"), kinds in a fixed order so colours line up."""
    kinds = [k for k in KIND_COLOURS if any(c[k] for _, c in weeks)]
    kinds += sorted({k for _, c in weeks for k in c if c[k] and k not in KIND_COLOURS})
    peak = max((sum(c.values()) for _, c in weeks), default=0) or 1
    plot_h = BARS_HEIGHT - BARS_TOP - BARS_BOTTOM
    slot = (BARS_WIDTH - BARS_LEFT) / max(len(weeks), 1)
    parts = _legend(kinds) + _value_axis(peak, plot_h)
    for n, (label, counts) in enumerate(weeks):
        left, base = BARS_LEFT + n * slot + slot * 0.15, BARS_TOP + plot_h
        for kind in kinds:
            height = plot_h * counts[kind] / peak
            if height:
                base -= height
                parts.append(f'<rect x="{left:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                             f'fill="{colour(kind)}"><title>{escape(label)}: {counts[kind]} {escape(kind)}</title></rect>')
        parts.append(f'<text x="{left + slot * 0.35:.1f}" y="{BARS_HEIGHT - 10}" font-size="11" text-anchor="middle" '
                     f'fill="#6b7280">{escape(label.split("-")[-1])}</text>')
    total = sum(sum(c.values()) for _, c in weeks)
    return _svg(BARS_WIDTH, BARS_HEIGHT, f"Digest insights per week by kind: {total} in {len(weeks)} weeks", parts)


def _legend(kinds: list[str]) -> list[str]:
    parts, left = [], BARS_LEFT
    for kind in kinds:
        name = kind.replace("_", " ")
        parts.append(f'<rect x="{left}" y="6" width="12" height="12" rx="2" fill="{colour(kind)}"/>'
                     f'<text x="{left + 16}" y="16" font-size="12" fill="#374151">{escape(name)}</text>')
        left += 28 + 7 * len(name)
    return parts


def _value_axis(peak: int, plot_h: float) -> list[str]:
    """Gridlines at 0, half and the peak, labelled, so bar heights can be read as numbers."""
    lines = []
    for value in sorted({0, peak // 2, peak}):
        y = BARS_TOP + plot_h - plot_h * value / peak
        lines.append(f'<line x1="{BARS_LEFT}" x2="{BARS_WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{BARS_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#6b7280">'
                     f'{value}</text>')
    return lines


def _svg(width: int, height: int, label: str, parts: list[str]) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
                  f'aria-label="{escape(label)}" class="chart"><title>{escape(label)}</title>{"".join(parts)}</svg>')
