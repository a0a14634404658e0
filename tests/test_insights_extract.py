"""Extraction: the model proposes, the code verifies. A scripted fake stands in for the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from scripted_llm import ScriptedLLM

from podsight.errors import LLMError, LLMOutputError
from podsight.insights.chunk import chunk_segments
from podsight.insights.extract import claim_problem, extract_insights
from podsight.insights.ground import QuoteFinder
from podsight.insights.prompts import PROMPT_VERSION
from podsight.records import Segment

DATA = Path(__file__).parent / "data" / "insights"


def interview() -> list[Segment]:
    return [Segment(**item) for item in json.loads((DATA / "interview.json").read_text(encoding="utf-8"))]


def line_of(user_message: str, fragment: str) -> int:
    """The line number the chunk shows for the line containing `fragment`."""
    for line in user_message.splitlines():
        if fragment in line:
            return int(re.match(r"\[(\d+)\]", line).group(1))
    raise AssertionError(f"{fragment!r} not in the chunk")


def draft(quote: str, claim: str, line: int = 0, importance: int = 4, kind: str = "claim", **extra) -> dict:
    return {"quote": quote, "line": line, "claim": claim, "why": "It changes how you plan.", "kind": kind,
            "importance": importance, **extra}


CAFFEINE_QUOTE = "caffeine has a half life of about five to six hours, so half of that afternoon coffee is still in your brain"
CAFFEINE_CLAIM = ("An afternoon coffee still affects the brain late in the evening because caffeine takes five to six "
                  "hours to lose half its strength.")


def answer_caffeine(message: str) -> dict:
    if "Caffeine has a half-life" not in message:
        return {"insights": []}
    return {"insights": [draft(CAFFEINE_QUOTE, CAFFEINE_CLAIM, line=line_of(message, "Caffeine"), importance=5)]}


def test_a_grounded_insight_keeps_the_transcripts_words_time_and_speaker():
    segments = interview()
    llm = ScriptedLLM(answer_caffeine)
    report = extract_insights(segments, llm)
    (insight,) = report.insights
    source = next(s for s in segments if "Caffeine has a half-life" in s.text)
    assert insight.quote == ("Caffeine has a half-life of about five to six hours, so half of that afternoon coffee "
                             "is still in your brain")
    assert source.start < insight.start_s < source.end, "the quote starts mid-way into a 12-second segment"
    assert insight.speaker == "Luis Ortega"
    assert insight.claim == CAFFEINE_CLAIM and insight.kind == "claim"
    assert insight.importance == 1.0 and insight.match_score >= 88
    assert (insight.model, insight.prompt_version) == ("scripted-model", PROMPT_VERSION)
    assert report.dropped == () and report.chunks_skipped == ()


def test_the_prompt_has_numbered_lines_without_the_ad_or_the_intro():
    llm = ScriptedLLM(lambda message: {"insights": []})
    report = extract_insights(interview(), llm, speakers_hint=("Maya Chen (host)", "Luis Ortega (guest)"))
    assert report.insights == () and report.chunks == len(llm.calls) >= 1
    system, user = llm.calls[0][0]["content"], llm.calls[0][1]["content"]
    assert "at most 2 ideas" in system.lower()
    assert "Speakers: Maya Chen (host), Luis Ortega (guest)" in user
    assert re.search(r"^Luis:\n(\[\d+\] .*\n)*\[\d+\] The short answer", user, re.MULTILINE)
    everything = "\n".join(call[1]["content"] for call in llm.calls)
    assert "DreamWell" not in everything and "My guest today" not in everything and "rate and review" not in everything


def test_an_ungrounded_quote_is_dropped_with_the_reason():
    def paraphrase(message: str) -> dict:
        return {"insights": [draft("Sleeping in on weekends gives people jet lag on Mondays.",
                                   "Sleeping late on Saturdays shifts the body clock and causes 'social jet lag'.")]}

    report = extract_insights(interview(), ScriptedLLM(paraphrase))
    assert report.insights == ()
    assert report.dropped and all(r.startswith("quote not found in transcript: 'Sleeping in on weekends") for r in report.dropped)


def test_a_quote_from_the_ad_read_is_not_found():
    def ad(message: str) -> dict:
        return {"insights": [draft("Every mattress comes with a one hundred night risk-free trial and free shipping.",
                                   "DreamWell mattresses can be returned within one hundred nights at no cost.")]}

    report = extract_insights(interview(), ScriptedLLM(ad))
    assert report.insights == () and all(r.startswith("quote not found") for r in report.dropped)


def many_segments(count: int = 80) -> list[Segment]:
    """A long episode: `count` distinct 30-word segments, alternating speakers."""
    topics = ["solar panels", "grid batteries", "wind farms", "heat pumps", "nuclear plants", "power lines"]
    return [
        Segment(i * 12.0, i * 12.0 + 11.5,
                f"Segment {i} is about {topics[i % 6]} and the number {i * 7} matters here because costs fell "
                f"every single year for {i % 9 + 2} years in row while demand kept on rising across regions.",
                "Ana" if i % 2 else "Ben")
        for i in range(count)
    ]


def first_segment(message: str) -> int:
    """The number of the first `many_segments` segment a chunk shows."""
    return int(re.search(r"Segment (\d+) is about", message).group(1))


def test_invalid_model_output_skips_the_chunk_and_the_others_go_on():
    def sometimes_broken(message: str) -> dict | Exception:
        first = first_segment(message)
        if first == 0:
            return LLMOutputError("Expecting ',' delimiter: line 1 column 80")
        return {"insights": [draft(f"Segment {first + 1} is about", "x" * 3)]}  # schema violation: claim too short

    report = extract_insights(many_segments(), ScriptedLLM(sometimes_broken), words=300, overlap_words=30)
    assert report.chunks >= 8 and len(report.chunks_skipped) == report.chunks
    assert report.chunks_skipped[0].startswith("chunk 1 (0:00-")
    assert "skipped: model output was not valid JSON: Expecting ',' delimiter" in report.chunks_skipped[0]
    assert re.match(r"chunk 2 \(\d+:\d\d-\d+:\d\d\) skipped: model output was not valid JSON", report.chunks_skipped[1])


DISTINCT_CLAIMS = [
    "Solar panel prices dropped ninety percent in one decade thanks to factory scale.",
    "Grid batteries now shift cheap midday power into the expensive evening peak.",
    "Offshore wind turbines produce steadier output than most onshore installations do.",
    "Heat pumps move three units of heat for every unit of electricity they consume.",
    "Nuclear plants take over a decade to permit, which scares away private investors.",
    "Transmission line approvals are now the main bottleneck for new renewable projects.",
    "Electricity demand from data centres could double within five years in Ireland.",
    "Household rooftop panels pay back their cost in about seven years in Spain.",
    "Cheap storage makes coal plants uneconomic long before their planned retirement dates.",
    "Smart thermostats cut winter heating bills by roughly a tenth for typical homes.",
]


# Distinct wordings of what every `many_segments` line says, so none is a duplicate of another and each
# passes the faithfulness check against its own segment.
FAITHFUL_CLAIMS = [
    "Year after year {topic} got cheaper, even while regional demand went on rising.",
    "Demand across regions kept rising while the costs of {topic} fell every single year.",
    "Falling yearly costs made {topic} more attractive as regional demand kept growing.",
    "Every year in a row, {topic} cost less than before, with demand rising everywhere.",
    "Across regions demand rose, yet the price of {topic} dropped each year without a break.",
    "Cheaper {topic}, year on year, met an appetite that kept rising across regions.",
    "Each year brought lower costs for {topic} while regions wanted ever more of it.",
    "Costs for {topic} declined annually as regional demand climbed over the same years.",
    "While demand kept on rising region by region, {topic} became cheaper every year.",
    "Regional demand grew steadily over years in which {topic} saw its costs fall.",
]


def test_one_bad_chunk_does_not_lose_the_rest():
    def first_chunk_broken(message: str) -> dict | Exception:
        first = first_segment(message)
        if first == 0:
            return LLMOutputError("truncated JSON")
        quote = f"Segment {first + 2} is about"  # completed below with the segment's own words
        topic = message.split(quote, 1)[1].split(" and the number")[0].strip()
        claim = FAITHFUL_CLAIMS[first % len(FAITHFUL_CLAIMS)].format(topic=topic)  # true to the segment
        return {"insights": [draft(quote + " " + message.split(quote, 1)[1].split(" because")[0], claim, line=3)]}

    report = extract_insights(many_segments(), ScriptedLLM(first_chunk_broken), words=300, overlap_words=30)
    assert len(report.chunks_skipped) == 1
    assert len(report.insights) == report.chunks - 1


def test_an_unreachable_model_propagates():
    llm = ScriptedLLM(lambda message: LLMError("cannot reach http://127.0.0.1:9/v1: connection refused"))
    with pytest.raises(LLMError, match="connection refused"):
        extract_insights(interview(), llm)


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("Caffeine has a half-life of about five to six hours, so half of that afternoon coffee is still in your brain.",
         "claim copies the transcript"),
        ("Falling asleep is not the problem. Caffeine has a half-life of about five to six hours.",
         "claim copies the transcript"),
        ("Luis Ortega believes chronotype is partly genetic, and a night owl forced to start work at seven is "
         "running on a clock that says it's four in the morning.", "claim copies the transcript"),
        ("He says an afternoon coffee is still half active at nine in the evening.", "claim starts with a pronoun"),
        ("Luis Ortega is a professor of neuroscience and the author of a bestselling book.", "claim is biography"),
        ("Luis Ortega, who runs the sleep lab, was a great guy to work with and always answered the phone.",
         "claim is biography"),  # praise of a person
        ("The guest explains how caffeine affects the brain in the evening.", "claim describes the conversation"),
        ("Caffeine lingers.", "claim has 2 words"),
    ],
)
def test_claims_that_are_not_standalone_insights_are_rejected(claim: str, reason: str):
    def respond(message: str) -> dict:
        if "Caffeine has a half-life" not in message:
            return {"insights": []}
        return {"insights": [draft(CAFFEINE_QUOTE, claim.ljust(20), line=line_of(message, "Caffeine"))]}

    report = extract_insights(interview(), ScriptedLLM(respond))
    assert report.insights == ()
    assert len(report.dropped) == 1 and report.dropped[0].startswith(reason)


def test_the_same_insight_from_overlapping_chunks_is_kept_once():
    segments = many_segments(40)
    shared = chunk_segments(segments, words=300, overlap_words=60)[0].last  # in the first two chunks
    opening = f"Segment {shared} is"
    claim = "Wind farm costs fell for three years in a row while demand for power kept rising."

    def respond(message: str) -> dict:
        if opening not in message:
            return {"insights": []}
        importance = 3 if first_segment(message) == 0 else 5
        line = line_of(message, opening)
        return {"insights": [draft(segments[shared].text.split(" because")[0], claim, line=line, importance=importance)]}

    llm = ScriptedLLM(respond)
    report = extract_insights(segments, llm, words=300, overlap_words=60)
    assert sum(opening in call[1]["content"] for call in llm.calls) == 2
    (insight,) = report.insights
    assert insight.importance == 1.0, "the more important copy wins"
    assert insight.start_s == segments[shared].start
    assert report.dropped == (f"duplicate of an insight already kept: '{claim[:50]}",) or (
        len(report.dropped) == 1 and report.dropped[0].startswith(f"duplicate of an insight already kept: '{claim[:50]}")
    )


def test_report_counts_tokens_chunks_and_progress():
    progress: list[tuple[int, int]] = []
    llm = ScriptedLLM(lambda message: {"insights": []})
    report = extract_insights(many_segments(), llm, words=300, overlap_words=30, progress=lambda d, t: progress.append((d, t)))
    assert report.chunks == len(llm.calls) == len(progress)
    assert progress == [(i + 1, report.chunks) for i in range(report.chunks)]
    assert report.tokens_in == sum(sum(len(m["content"]) for m in call) // 4 for call in llm.calls)
    assert report.tokens_out == 60 * report.chunks


def test_more_drafts_than_allowed_is_a_schema_violation_not_a_crash():
    def too_many(message: str) -> dict:
        return {"insights": [draft(CAFFEINE_QUOTE, CAFFEINE_CLAIM)] * 3}

    report = extract_insights(interview(), ScriptedLLM(too_many), per_chunk=2)
    assert report.insights == () and len(report.chunks_skipped) == report.chunks


def test_the_model_speaker_is_used_when_the_transcript_has_none():
    segments = [Segment(s.start, s.end, s.text, None) for s in interview()]

    def respond(message: str) -> dict:
        if "Caffeine has a half-life" not in message:
            return {"insights": []}
        return {"insights": [draft(CAFFEINE_QUOTE, CAFFEINE_CLAIM, line=line_of(message, "Caffeine"), speaker="Luis Ortega")]}

    (insight,) = extract_insights(segments, ScriptedLLM(respond)).insights
    assert insight.speaker == "Luis Ortega"


def test_an_empty_transcript_gives_an_empty_report():
    report = extract_insights([], ScriptedLLM(lambda message: AssertionError("no call expected")))
    assert report.chunks == 0 and report.insights == ()


@pytest.mark.parametrize(
    "quote",
    [
        "Luis Ortega explains that caffeine has a half-life of about five to six hours",
        "Luis: Caffeine has a half-life of about five to six hours,",
        "[20] Luis Ortega: Caffeine has a half-life of about five to six hours,",
    ],
)
def test_an_attribution_or_label_the_model_added_to_the_quote_is_tolerated(quote: str):
    def respond(message: str) -> dict:
        if "Caffeine has a half-life" not in message:
            return {"insights": []}
        return {"insights": [draft(quote, CAFFEINE_CLAIM, line=line_of(message, "Caffeine"))]}

    (insight,) = extract_insights(interview(), ScriptedLLM(respond)).insights
    assert insight.quote == "Caffeine has a half-life of about five to six hours,"


def test_prompts_stay_within_the_token_budget_for_an_hour_long_episode():
    """About 1.3 prompt tokens per transcript token (measured with the real tokenizer: see the report);
    characters are the proxy here, with headroom for the system prompt that the server's prefix cache
    reuses. A long few-shot example or a big overlap would break this."""
    talk = [s for s in interview()[4:27] if "DreamWell" not in s.text and "risk-free" not in s.text]
    hour = [Segment(s.start + r * 400, s.end + r * 400, s.text, s.speaker) for r in range(12) for s in talk]
    llm = ScriptedLLM(lambda message: {"insights": []})
    report = extract_insights(hour, llm)
    transcript_chars = sum(len(s.text) for s in hour)
    prompt_chars = sum(len(m["content"]) for call in llm.calls for m in call)
    assert report.chunks >= 15
    assert prompt_chars / transcript_chars < 1.4


def test_a_plain_text_wall_is_split_so_ads_and_bios_inside_it_are_left_out():
    talk = [s.text for s in interview()]
    wall = Segment(0.0, 2000.0, " ".join(talk * 3), None)  # no segmentation, no speakers: 2,000 words
    llm = ScriptedLLM(answer_caffeine)
    report = extract_insights([wall], llm)
    prompts = "\n".join(call[1]["content"] for call in llm.calls)
    assert "DreamWell" not in prompts and "use code MAYA" not in prompts
    assert "My guest today" not in prompts
    assert prompts.count("Caffeine has a half-life") == 3, "the talk itself is all there"
    assert len(report.insights) == 1, "the same quote three times is one insight (near-identical claims)"
    assert 150 < report.insights[0].start_s < 2000 / 3, "time interpolated inside the wall, at the first mention"
    assert report.insights[0].speaker is None


def test_a_claim_that_credits_the_wrong_speaker_is_corrected_from_the_transcript():
    def respond(message: str) -> dict:
        if "Caffeine has a half-life" not in message:
            return {"insights": []}
        claim = "Maya Chen explains that an afternoon coffee is still half active in the brain at nine in the evening."
        why = "Late coffee quietly costs deep sleep. It also costs memory, and more."
        return {"insights": [draft(CAFFEINE_QUOTE, claim, line=line_of(message, "Caffeine")) | {"why": why}]}

    (insight,) = extract_insights(interview(), ScriptedLLM(respond), speakers_hint=("Maya Chen (host)", "Luis Ortega")).insights
    assert insight.speaker == "Luis Ortega"
    assert insight.claim.startswith("Luis Ortega explains that an afternoon coffee")
    assert insight.why == "Late coffee quietly costs deep sleep."


def test_pleasantries_are_not_claims_but_thanks_to_a_cause_is():
    finder = QuoteFinder([Segment(0, 5, "Thanks so much for having me on the show today, Maya.", "Tomas")])
    quote = "Thanks so much for having me on the show today"
    for claim in ("Maya expresses gratitude for Tomas's presence on the show.",
                  "Tomas thanks Maya for having him on the show today.",
                  "Maya welcomes Dr. Tomas Lind to the show this week."):
        assert claim_problem(claim, quote, finder).startswith("claim is small talk"), claim
    assert claim_problem("Solar panel prices fell ninety percent thanks to factory scale.", quote, finder) is None


@pytest.mark.parametrize(("claim", "dropped"), [
    ("The second is that Docker was open source in March 2013, months before anyone paid for it.", True),
    ("Tip number one is to look at your data before writing a single test for the model.", True),
    ("Another thing is that teams underestimate how long the review of generated code takes.", True),
    ("Secondly, the model's answers got shorter once the reviewers were paid per hour.", True),
    ("The first version of a product should solve one problem for the smallest audience that cares.", False),
    ("The second-largest cost of a data centre is cooling, after the chips themselves.", False),
    ("Number theory gave cryptography its most useful hard problems for decades.", False),
])
def test_a_claim_that_starts_at_a_place_in_a_list_does_not_stand_alone(claim, dropped):
    finder = QuoteFinder([Segment(0, 5, "An unrelated line of the transcript.", "Tomas")])
    problem = claim_problem(claim, "An unrelated line of the transcript.", finder)
    assert (problem is not None and "list" in problem) == dropped, problem


@pytest.mark.parametrize(("claim", "dropped"), [
    ("Larkspur is a scheduling tool that books meetings across time zones without any back and forth.", True),
    ("Quillmate was an AI writing platform for legal teams, built on contracts from 40 firms.", True),
    ("Fernhill Labs is a small robotics startup focused on greenhouse harvesting.", True),
    ("Larkspur is a scheduling tool that books meetings across time zones, but also handles payroll.", True),
    ("Paywork is a marketplace that matches people to short tasks, but bots now take most tasks within seconds.", False),
    ("A brand is a promise to customers, not a logo, and it decides what they expect.", False),
    ("Docker Hub is a community of 20 million monthly users looking for applications.", False),
    ("Open source is a business model that works only when the hosted product is better.", False),
])
def test_a_claim_that_says_what_a_product_is_is_a_pitch_not_an_idea(claim, dropped):
    finder = QuoteFinder([Segment(0, 5, "An unrelated line of the transcript.", "Tomas")])
    problem = claim_problem(claim, "An unrelated line of the transcript.", finder)
    assert (problem is not None and "product" in problem) == dropped, problem
