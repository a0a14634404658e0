"""Insight extraction: chunk the transcript, ask the model, verify every quote in code."""

from podsight.insights.chunk import Chunk, chunk_segments, split_long_segments
from podsight.insights.extract import extract_insights
from podsight.insights.ground import QuoteFinder, QuoteMatch, find_quote
from podsight.insights.prompts import PROMPT_VERSION, Draft, ExtractionAnswer
from podsight.insights.sponsor import intro_mask, skip_mask, sponsor_mask

__all__ = [
    "PROMPT_VERSION",
    "Chunk",
    "Draft",
    "ExtractionAnswer",
    "QuoteFinder",
    "QuoteMatch",
    "chunk_segments",
    "extract_insights",
    "find_quote",
    "intro_mask",
    "skip_mask",
    "split_long_segments",
    "sponsor_mask",
]
