"""podsight: scan podcasts, extract verified insights, send the top 5 daily.

The few nouns a user or plugin author needs; everything else lives in its stage's package.
"""

from podsight.config import Settings, load_settings
from podsight.errors import PodsightError
from podsight.llm.base import LLM
from podsight.records import Digest, DigestItem, Insight, ParsedEpisode, ParsedFeed, Segment

__version__ = "0.1.0"

__all__ = [
    "LLM", "Digest", "DigestItem", "Insight", "ParsedEpisode", "ParsedFeed", "PodsightError", "Segment",
    "Settings", "load_settings",
]
