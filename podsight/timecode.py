"""Seconds as a player shows them, everywhere podsight prints a time (prompts, digests, progress bars)."""


def clock(seconds: float | None) -> str:
    """"12:34", or "1:02:03" from an hour on; negative or missing counts as 0."""
    total = max(int(seconds or 0), 0)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
