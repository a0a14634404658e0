"""Publisher transcripts (VTT, SRT, Podcasting 2.0 JSON, HTML, plain text) into one list of segments."""

from .parse import choose_transcript, merge_cues, parse_transcript

__all__ = ["choose_transcript", "merge_cues", "parse_transcript"]
