"""Which way a claim says something moved: up, down, or neither. A check on the pair judge, in code.

Embeddings score "teams merged 26 percent more pull requests" and "developers were 14 percent slower" as
close (0.6), and a small judge model then calls them "corroborating" (measured with the embedded 1.5B on
the demo's planted pair): it reads the shared topic, not the direction. Two claims close enough to be judged,
one saying its quantity went up and the other down, are not the same claim.

The direction is read from the claim's main clause (before "even though", "although", "while", "but"),
from its first word that says more or less; a negation just before that word turns it around.
"""

from __future__ import annotations

import re

_UP = (r"more|increas\w*|rais(?:e|es|ed|ing)|ris(?:e|es|ing)|rose|higher|faster|grew|grow(?:s|ing)?|"
       r"gain(?:s|ed)?|boost\w*|improv\w*|up")
_DOWN = (r"less|fewer|decreas\w*|f[ae]ll(?:s|ing)?|lower(?:s|ed|ing)?|slower|shr[ai]nk\w*|drop(?:s|ped)?|"
         r"declin\w*|cut(?:s|ting)?|down|worse|reduc\w*")
_WORD = re.compile(rf"\b(?:(?P<up>{_UP})|(?P<down>{_DOWN}))\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|n't|neither|nor)\W+(?:\w+\W+)?$", re.IGNORECASE)
_SUBORDINATE = re.compile(r",?\s+\b(?:even though|although|though|while|whereas|but|yet)\b", re.IGNORECASE)


def direction(claim: str) -> tuple[int, str]:
    """(+1, word) when the claim's main clause says its quantity went up, (-1, word) down, (0, "") neither."""
    main = _SUBORDINATE.split(claim, maxsplit=1)[0]
    found = _WORD.search(main)
    if not found:
        return 0, ""
    sign = 1 if found.group("up") else -1
    negated = _NEGATION.search(main[:found.start()])
    word = f"{negated.group(0)}{found.group(0)}" if negated else found.group(0)
    return (-sign if negated else sign), word


def opposite(first: str, second: str) -> str | None:
    """Why one claim says up where the other says down, or None when they do not."""
    (a, word_a), (b, word_b) = direction(first), direction(second)
    if a * b >= 0:
        return None
    up, down = (word_a, word_b) if a > 0 else (word_b, word_a)
    return f"one says up ('{up.strip()}'), the other down ('{down.strip()}')"
