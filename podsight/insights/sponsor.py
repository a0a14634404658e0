"""Find the parts of a transcript that are not the conversation: ad reads, housekeeping, guest bios.

The small model happily turns "use code PODCAST for 20% off" or "she is the author of three books"
into an "insight", so these segments are left out of what it reads, and quotes found in them are
refused. The patterns are deliberately conservative: a missed ad costs one bad candidate, which the
later checks may still drop, while a false hit silently hides real content.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from podsight.records import Segment

# One of these alone marks an ad read.
_STRONG_AD = re.compile(
    r"brought to you by|sponsored by|(?:our|today'?s|this week'?s|episode'?s) sponsors?\b|"
    r"\bpromo code\b|\bcoupon code\b|\buse (?:the )?code\b|\bwith (?:the )?code \w+|"
    r"support for (?:this|the) (?:podcast|show|episode) comes from|word from our sponsors?|"
    r"\b(?:(?:go|head) (?:to|over to)|visit) [\w-]+\.(?:com|org|net|io|co|fm|ai)\s*/\s*\w+|"
    r"\b[\w-]+\.(?:com|org|net|io|co|fm)\s*(?:/|slash)\s*[\w-]+\b.*\b(?:off|free|trial|code)\b",
    re.IGNORECASE,
)
# Two of these together mark an ad read ("% off" alone could be economics talk).
_WEAK_AD = re.compile(
    r"\d+\s*(?:%|percent) off|\bfree trial\b|\bfree shipping\b|\bsign up\b|\brisk[- ]free\b|"
    r"money[- ]back guarantee|\b[\w-]+\.(?:com|org|net|io|co|fm)\b|\bdiscount\b|\bfirst (?:month|order|year)\b|"
    r"\boff your first\b|\bsubscription\b|\blimited time\b",
    re.IGNORECASE,
)
# Lines just before an ad that announce it.
_AD_LEAD_IN = re.compile(
    r"quick break|short break|take a break|after (?:the|this) break|pay the bills|"
    r"word from|support (?:the|this) show|back after this",
    re.IGNORECASE,
)
# The conversation is back: stop extending an ad block here.
_SHOW_RESUMES = re.compile(
    r"\bwelcome back\b|\bback to (?:the|our|my|you|it)\b|\bwhere were we\b|\banyway\b|\balright,? so\b|"
    r"\bnow,? back\b|\btell (?:me|us)\b|\blet'?s (?:talk|get|dive|jump|go back)\b|"
    r"\bas (?:i|you) (?:was|were) saying\b|\?",
    re.IGNORECASE,
)
_HOUSEKEEPING = re.compile(
    r"\b(?:subscribe|rate|review|follow)\b.{0,40}\b(?:podcast|show|us|channel|apple|spotify)\b|"
    r"wherever you (?:get|listen to) (?:your )?podcasts|leave (?:us )?a (?:five[- ]star |5[- ]star )?review|"
    r"\bpatreon\b|thanks? (?:you )?for listening|see you next (?:time|week)|show notes",
    re.IGNORECASE,
)
# Introductions and small talk anywhere in the episode.
_INTRO = re.compile(
    r"\bmy guests? (?:today|this week|on the show|is|are)\b|\bjoining (?:me|us) (?:today|now|this week)|"
    r"\bwelcome (?:back )?to\b|\bthanks? (?:you )?for having me|"
    r"\bi'?m your host\b|\bthanks? (?:you )?for (?:coming on|joining (?:me|us))|"
    r"\bgreat to (?:have|be) (?:you )?(?:here|on)|\bwhere can (?:people|listeners|folks|we) find you|"
    r"\byou can find (?:me|us) (?:on|at)\b",
    re.IGNORECASE,
)
# The show introducing itself ("This is Tokens and Tradeoffs, I'm Maya Okafor."): only trusted near the
# start, where "this is hard, I'm afraid" is rare.
_SHOW_INTRO = re.compile(
    r"^(?:(?:hi|hello|hey)\b[^.?!]{0,25}?,? )?(?:and )?(?:this is|you'?re listening to) [^.?!]{2,60}?,? "
    r"(?:and )?i'?m \w",
    re.IGNORECASE,
)
# Biography: only trusted near the start, where the host introduces the guest.
_BIO = re.compile(
    r"\b(?:is|was) (?:the |a |an )?(?:new )?(?:author|co-?author|founder|co-?founder|ceo|professor|director|editor|"
    r"host|journalist|former|best-?selling|award-winning|senior|chief)\b|"
    r"\bauthor of\b|\bfounder of\b|\bprofessor (?:of|at)\b|\b(?:his|her|their) (?:new |latest )?book\b|"
    r"\bhas been featured\b|\bgraduated from\b|\bpreviously (?:served|worked)\b|"
    r"\byou can find (?:him|her|them)\b|"
    # praise of a person ("Charles Meyers, CEO of Equinix, was a great guy", read in a corpus episode's top five)
    r"\b(?:is|was) (?:such |just |really |truly )?an? (?:really |truly )?(?:great|nice|wonderful|amazing|lovely|"
    r"fantastic|brilliant) (?:guy|person|man|woman|human|human being|boss|friend)\b",
    re.IGNORECASE,
)
_AD_BLOCK_SECONDS = 120.0  # the longest gap between two ad hits that is still one ad block
_AD_BLOCK_SEGMENTS = 8  # the same bound when the transcript has no usable times
_TAIL_SEGMENTS = 2  # segments after the last hit that may still be the ad (its closing lines)


def _is_ad(text: str) -> bool:
    return bool(_STRONG_AD.search(text)) or len(_WEAK_AD.findall(text)) >= 2


def _same_block(segments: Sequence[Segment], i: int, j: int) -> bool:
    """Whether hits i < j are close enough, with one voice in between, to be one ad read."""
    timed = segments[j].end > 0
    if timed and segments[j].start - segments[i].end > _AD_BLOCK_SECONDS:
        return False
    if not timed and j - i > _AD_BLOCK_SEGMENTS:
        return False
    speaker = segments[i].speaker
    return all(segments[k].speaker == speaker for k in range(i, j + 1))


def _extend(segments: Sequence[Segment], mask: list[bool], hit: int) -> None:
    """Grow one ad hit to its lead-in line and its closing lines, in the same voice."""
    speaker = segments[hit].speaker
    if hit > 0 and segments[hit - 1].speaker == speaker and _AD_LEAD_IN.search(segments[hit - 1].text):
        mask[hit - 1] = True
    for k in range(hit + 1, min(hit + 1 + _TAIL_SEGMENTS, len(segments))):
        if segments[k].speaker != speaker or _SHOW_RESUMES.search(segments[k].text) or mask[k]:
            break
        if not _WEAK_AD.search(segments[k].text) and k > hit + 1:
            break
        mask[k] = True


def sponsor_mask(segments: Sequence[Segment]) -> list[bool]:
    """True for each segment that belongs to an ad read or to housekeeping ("rate and review us")."""
    hits = [i for i, s in enumerate(segments) if _is_ad(s.text)]
    mask = [False] * len(segments)
    for i in hits:
        mask[i] = True
    for i, j in zip(hits, hits[1:]):
        if _same_block(segments, i, j):
            for k in range(i, j + 1):
                mask[k] = True
    for i in hits:
        _extend(segments, mask, i)
    for i, segment in enumerate(segments):
        if _HOUSEKEEPING.search(segment.text):
            mask[i] = True
    return mask


def _intro_limit(segments: Sequence[Segment], share: float = 0.08, minimum_words: int = 400) -> int:
    """Index of the first segment past the introduction (the first 8% of words, at least 400)."""
    total = sum(len(s.text.split()) for s in segments)
    limit = max(minimum_words, int(total * share))
    seen = 0
    for i, segment in enumerate(segments):
        seen += len(segment.text.split())
        if seen > limit:
            return i
    return len(segments)


def intro_mask(segments: Sequence[Segment]) -> list[bool]:
    """True for introductions and small talk anywhere, and for the show's own introduction and guest
    biography near the start.

    Near the start, the rest of the turn in which the host introduces the guest is biography too
    ("My guest is Tomas. He spent eight years as a backend engineer ..."), whatever its wording.
    """
    limit = _intro_limit(segments)
    mask = [bool(_INTRO.search(s.text)) or (i < limit and bool(_BIO.search(s.text) or _SHOW_INTRO.search(s.text)))
            for i, s in enumerate(segments)]
    for i in range(1, min(limit, len(segments))):
        same_turn = segments[i].speaker is not None and segments[i].speaker == segments[i - 1].speaker
        if mask[i - 1] and same_turn:
            mask[i] = True
    return mask


def skip_mask(segments: Sequence[Segment]) -> list[bool]:
    """Segments the extraction should neither read nor quote: ads, housekeeping, intros and bios."""
    return [a or b for a, b in zip(sponsor_mask(segments), intro_mask(segments))]


def looks_like_biography(text: str) -> bool:
    """Whether a sentence reads like a guest bio ("X is the author of ...") rather than an idea."""
    return bool(_BIO.search(text) or _INTRO.search(text))
