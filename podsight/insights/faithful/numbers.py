"""Rule 1, numbers: every number in the claim is in the passage; a change "by" a number is one there too."""

from __future__ import annotations

import math
import re

from podsight.insights.faithful.words import _tokens

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
    if w != "_"
}
# In a claim "one" is a pronoun far more often than a count ("one of the problems"), so it is read
# as a number only in the passage, where it may support a claim's "1".
_ONE = {"one": 1}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SUFFIX_SCALES = {"k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}
_SPECIAL = {
    "dozen": 12, "half": 0.5, "twice": 2, "double": 2, "doubled": 2, "doubles": 2, "doubling": 2,
    "halved": 0.5, "halving": 0.5, "halves": 0.5,
    "triple": 3, "tripled": 3, "triples": 3, "tripling": 3, "thrice": 3, "quadruple": 4,
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
}  # "first" and "second" left out: they are discourse words and units of time more often than ranks
_RANGE_JOINERS = {"-", "–", "—", "to", "or"}
_DIGITS = re.compile(r"\$?(\d+(?:,\d{3})*(?:\.\d+)?)([a-z%]*)$")


def _number_value(token: str) -> tuple[float, float | None, bool] | None:
    """(value, scale, is_percent) of a digit token such as '$1.5bn', '30%', '1990s'; None if not a number."""
    m = _DIGITS.match(token.lower())
    if not m:
        return None
    digits, suffix = m.groups()
    value = float(digits.replace(",", ""))
    if suffix in _SUFFIX_SCALES:
        return value * _SUFFIX_SCALES[suffix], _SUFFIX_SCALES[suffix], False
    if suffix in {"", "%", "x", "s", "st", "nd", "rd", "th"}:
        return value, None, suffix == "%"
    return None  # '3d', '5g': part of a name, left to the names rule


def _numbers(text: str, claim_side: bool = False) -> list[tuple[str, set[float]]]:
    """Each number mentioned in `text` with the values it may stand for ('30%' -> {30, 0.3}).

    On the claim side "one" is no number, and "the two", "these three" or "Speaker 2" are left out:
    they point back at things already named rather than state a count."""
    tokens = [t.lower() for t in _tokens(text)]
    found = [(start, end, value, scale)
             for start, end, value, scale in _number_spans(tokens, _UNITS if claim_side else _UNITS | _ONE)
             if not (claim_side and _points_back(tokens, start))]
    out = []
    for k, (start, end, value, scale) in enumerate(found):
        values = {value}
        if tokens[start].endswith("%") or tokens[end : end + 1] in (["%"], ["percent"], ["per"]):
            values.add(value / 100)  # a percentage also stands for its fraction ("half" = "50%")
        later = found[k + 1] if k + 1 < len(found) else None
        if scale is None and later and later[3] and later[0] == end + 1 and tokens[end] in _RANGE_JOINERS:
            values.add(value * later[3])  # "12-13 million" also means 12 million
        out.append((" ".join(tokens[start:end]), values))
    return out


def _number_spans(tokens: list[str], units: dict[str, int]) -> list[tuple[int, int, float, float | None]]:
    """(start, end (exclusive), value, scale) of each number in the lower-cased tokens."""
    found, i = [], 0
    while i < len(tokens):
        start, value, scale, i = _read_number(tokens, i, units)
        if value is not None:
            found.append((start, i, value, scale))
    return found


def _points_back(tokens: list[str], start: int) -> bool:
    """'the two', 'these three' (number words only) and 'Speaker 2' name things, they do not count them."""
    before = tokens[start - 1] if start > 0 else ""
    word = _number_value(tokens[start]) is None
    return before == "speaker" or (word and before in {"the", "these", "those"})


def _read_number(tokens: list[str], i: int, units: dict[str, int]) -> tuple[int, float | None, float | None, int]:
    """Read one number at tokens[i]: (start, value or None, its scale word's size or None, next index)."""
    start, total, current, seen, scale = i, 0.0, 0.0, False, None
    while i < len(tokens):
        t = tokens[i]
        digit = _number_value(t)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if digit is not None and not seen:
            current, seen, scale = digit[0], True, digit[1]
            if digit[2]:  # '30%': the percent sign ends the number
                return start, current, scale, i + 1
        elif t in units or t in _TENS:
            current, seen = current + units.get(t, 0) + _TENS.get(t, 0), True
        elif t == "-" and current >= 20 and current % 10 == 0 and nxt in _UNITS:
            pass  # "twenty-five"
        elif t == "hundred":
            current, seen = (current or 1) * 100, True
        elif t in _SCALES:
            total, current, seen, scale = total + (current or 1) * _SCALES[t], 0.0, True, _SCALES[t]
        elif t in _SPECIAL and not seen:
            return start, float(_SPECIAL[t]), None, i + 1
        elif t in {"a", "an"} and not seen and (nxt in _SCALES or nxt in {"hundred", "dozen"}):
            current = 1.0  # "a billion" is a number, "a" alone is not
        else:
            break
        i += 1
    if not seen:
        return start, None, None, max(i, start + 1)
    return start, total + current, scale, i


def _same_number(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _number_problems(claim: str, passage: str) -> list[str]:
    said = [v for _, values in _numbers(passage) for v in values]
    return [
        f'number "{surface}" is not in the passage'
        for surface, values in _numbers(claim, claim_side=True)
        if not any(_same_number(v, s) for v in values for s in said)
    ]


# A change by an amount is not a change to it: "builds sped up by two seconds" where the speaker said "instead of
# taking 20 minutes for your build, you take two seconds" (a read of 40 kept claims found it). Every number is in
# the passage, so the number rule passes it; what the model misread is the number's role. A claim's "by N" needs
# the passage to give N as an amount of change too: "by N", "N faster", "N more", "N times", "a drop of N".
_HEDGES = frozenset("about around roughly nearly almost over under more less than just only some".split())
_CHANGE_AFTER = frozenset("more less fewer faster slower higher lower bigger smaller cheaper times x fold percent % "
                          "points increase decrease drop rise jump gain cut reduction improvement".split())
_CHANGE_BEFORE = frozenset("by increase increased decrease decreased drop dropped rise rose jump jumped gain gained "
                           "cut reduction improvement of".split())

_CHANGE_VERB = re.compile(r"\b(?:increas|decreas|reduc|cut|grow|grew|rais|rise|rose|fall|fell|drop|speed|sped|slow|"
                          r"improv|boost|lower|shr[iau]nk|expand|outperform|beat|exceed|jump|climb|gain|lost|los[ei])")


def _as_change(tokens: list[str], start: int, end: int) -> bool:
    before = [t for t in tokens[max(0, start - 3):start] if t not in _HEDGES][-1:]
    after = tokens[end:end + 2]
    return bool(before and before[0] in _CHANGE_BEFORE) or any(t in _CHANGE_AFTER for t in after)


def _amount_misread(claim: str, passage: str) -> list[str]:
    claim_tokens, passage_tokens = [t.lower() for t in _tokens(claim)], [t.lower() for t in _tokens(passage)]
    changes = [value for start, end, value, _ in _number_spans(passage_tokens, _UNITS)
               if _as_change(passage_tokens, start, end)]
    problems = []
    for start, end, value, _ in _number_spans(claim_tokens, _UNITS):
        before = [t for t in claim_tokens[max(0, start - 3):start] if t not in _HEDGES]
        by = bool(before) and before[-1] == "by"
        changed = _CHANGE_VERB.search(" ".join(claim_tokens[max(0, start - 8):start]))  # not "used by 13 million"
        if by and changed and not any(_same_number(value, v) for v in changes):
            problems.append(f'the claim changes something "by {" ".join(claim_tokens[start:end])}" but the passage '
                            f'gives no such amount of change')
    return problems
