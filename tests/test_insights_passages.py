"""Extraction by passages: the code chooses the moments (`podsight.insights.select`), a model writes one
claim per passage, the code picks the quote and checks the claim (`podsight.insights.passages`).

The model is ScriptedLLM, an in-process fake that answers from the passage it is shown (a fake, not a
model: these tests need exact answers); the embedded model is exercised by `podsight eval` and the demo.
"""

from __future__ import annotations

import json
import threading
import time
import re

import numpy as np
import pytest
from fake_llm_server import FakeLLMServer
from scripted_llm import ScriptedLLM

import podsight.insights.passages as passages_module
from podsight.config import Settings
from podsight.embed import load_embedder
from podsight.errors import LLMOutputError
from podsight.insights.passages import PASSAGE_PROMPT_VERSION, extract_passages
from podsight.insights.registry import extract_episode
from podsight.insights.select import (
    ECHO_FLOOR,
    ECHO_WEIGHT,
    Passage,
    budget,
    candidate_passages,
    choose_passages,
    echo_bonus,
    embedded,
    replayed_in_cold_open,
    hosts_of,
    score_passages,
    sets_up_a_question,
    signal_table,
    with_antecedent,
    with_ending,
)
from podsight.llm.openai_compat import OpenAICompatible, RetryPolicy
from podsight.records import Segment

HOST, GUEST = "Nadia Ferreira", "Tomasz Lindqvist"

# An interview written for this test: a host who asks, a guest who argues, an ad read and small talk.
TURNS = [
    (HOST, "Welcome to the show, Tomasz. Thanks for joining me today."),
    (GUEST, "Thanks for having me, Nadia. It's great to be here and I really appreciate the invitation."),
    (HOST, "So why do you think most warehouse robots never pay for themselves?"),
    (GUEST, "Because the robots are not the bottleneck. Most warehouses lose time in the hand-offs between "
            "shifts, not on the picking floor, so a robot that picks twice as fast changes nothing if the pallet "
            "still waits four hours for a signature. The firms that saw a return first fixed the hand-offs and "
            "only then bought machines, and their payback came in 14 months instead of never."),
    (HOST, "Let's take a quick break. This episode is brought to you by Crateful, use code CRATE for 20% off "
           "your first month of storage at crateful.com slash pod."),
    (HOST, "And we're back. What should a small operator do first?"),
    (GUEST, "Measure the waiting, not the working. If you put a timestamp on every pallet at every hand-off "
            "for two weeks, you will find that idle time is usually three times the handling time, and that "
            "is the number to attack before anyone buys a single machine or hires a consultant to pick one."),
    (HOST, "I remember when I was a kid my dad drove a forklift and I loved riding along with him on Saturdays. "
           "I was maybe seven, and I would sit on his knee while he moved crates around the yard, and my mom "
           "would pack us sandwiches, and I thought it was the best job in the whole world back then, honestly."),
    (GUEST, "That's amazing, thank you so much for sharing that, I love that story, it's so cool, really. Thank "
            "you, what a great question and what a great memory, I appreciate you telling it, and thanks again "
            "to everyone listening, this has been awesome, so cool, I love that so much, thank you."),
]


def transcript() -> list[Segment]:
    segments, clock = [], 0.0
    for speaker, text in TURNS:
        length = 0.4 * len(text.split())
        segments.append(Segment(clock, clock + length, text, speaker))
        clock += length + 100.0  # spread out, so that no two turns are the same moment
    return segments


def claim_for(passage: str) -> dict:
    """A faithful claim for each of the guest's two argued passages."""
    if "bottleneck" in passage:
        return {"claim": "Warehouse robots rarely pay off because time is lost in hand-offs between shifts, not "
                         "on the picking floor; firms that fixed hand-offs first saw payback in 14 months.",
                "kind": "claim"}
    if "waiting" in passage:
        return {"claim": "Before buying machines, a small operator should log how long pallets sit idle between "
                         "hand-offs, which typically exceeds handling time threefold.", "kind": "advice"}
    return {"claim": "Riding along on a forklift is a fond childhood memory for many people.", "kind": "story"}


# --- choosing the moments ---------------------------------------------------------------------------

def test_candidates_are_one_speakers_turns_outside_ads_and_intros():
    segments = transcript()
    skip = [False] * len(segments)
    skip[4] = True  # the ad read, as skip_mask marks it
    passages = candidate_passages(segments, skip)
    texts = [p.text for p in passages]
    assert not any("Crateful" in t for t in texts)
    assert not any("Welcome to the show" in t for t in texts)  # too short to hold an idea
    assert all(segments[p.first].speaker == segments[p.last].speaker for p in passages)


def test_without_speakers_a_question_ends_its_passage_and_the_answer_starts_the_next():
    """Speech-to-text that cannot tell two voices apart labels no one: the host's question must not open the
    guest's answer, or the claim is written from the question."""
    unlabelled = [Segment(s.start, s.end, s.text, None) for s in transcript()]
    skip = [False] * len(unlabelled)
    skip[4] = True  # the ad read
    passages = candidate_passages(unlabelled, skip)
    assert not any("?" in p.text.rstrip()[:-1] for p in passages), "no question inside a passage"
    answers = [p for p in passages if not sets_up_a_question(p)]
    assert any(p.text.startswith("Because") for p in answers), [p.text[:40] for p in answers]


def test_a_passage_opening_on_they_is_read_with_the_sentence_that_says_who_they_are():
    """A passage boundary between "... autonomous forklifts ..." and "They ..." leaves the model guessing what
    "they" are: the model reads the piece before as well, when the same speaker said it and it is no question."""
    named = "Autonomous forklifts are far less flexible than the people they replace in a busy warehouse."
    pointing = ("They need every pallet in exactly the spot the map says, and in some cases they stop dead for an "
                "hour because a box sits ten centimetres out of place, which a person simply walks around.")
    pieces = [Segment(0, 10, named, GUEST), Segment(10, 30, pointing, GUEST)]
    passage = Passage(1, 1, GUEST, pointing, 10, 30, salience=0.7)
    grown = with_antecedent(passage, pieces, [False, False])
    assert (grown.first, grown.last, grown.start_s) == (0, 1, 0)
    assert grown.text.startswith("Autonomous forklifts") and grown.text.endswith("walks around.")
    assert grown.salience == 0.7, "salience is the chosen passage's own"

    def unchanged(before: Segment, skip_before: bool = False) -> bool:
        return with_antecedent(passage, [before, pieces[1]], [skip_before, False]) == passage

    assert unchanged(Segment(0, 10, named, HOST)), "another speaker's words are not this passage's antecedent"
    assert unchanged(pieces[0], skip_before=True), "nor an ad read"
    unlabelled = Passage(1, 1, None, pointing, 10, 30)
    assert with_antecedent(unlabelled, [Segment(0, 10, named, None), Segment(10, 30, pointing, None)],
                           [False, False]) == unlabelled, "without speaker labels the piece before may be anyone's"
    assert unchanged(Segment(0, 10, "So what do autonomous forklifts get wrong?", GUEST)), "nor a question"
    standalone = Passage(1, 1, GUEST, pointing.replace("They need", "Forklifts need", 1), 10, 30)
    assert with_antecedent(standalone, pieces, [False, False]) == standalone, "a passage that names its subject"


def test_a_passage_that_stops_mid_sentence_is_read_with_the_piece_that_ends_it():
    """Cut off at "... merely doing this as a", the model ends the sentence itself: it reads the next piece as well,
    when the same speaker (or, without labels, anyone) goes on."""
    cut = "Most forklift makers publish no safety figures, and it is unclear whether they hide them or are merely using the gap as a"
    rest = "way to charge more for the certified models, which cost twice as much."
    pieces = [Segment(0, 10, cut, GUEST), Segment(10, 20, rest, GUEST)]
    passage = Passage(0, 0, GUEST, cut, 0, 10, salience=0.4)
    grown = with_ending(passage, pieces, [False, False])
    assert (grown.first, grown.last, grown.end_s) == (0, 1, 20) and grown.text.endswith("twice as much.")
    assert grown.salience == 0.4, "salience is the chosen passage's own"
    assert with_ending(passage, [pieces[0], Segment(10, 20, rest, HOST)], [False, False]) == passage, "another speaker"
    assert with_ending(passage, pieces, [False, True]) == passage, "nor an ad read"
    whole = Passage(0, 0, GUEST, "Forklift makers publish no safety figures.", 0, 10)
    assert with_ending(whole, [Segment(0, 10, whole.text, GUEST), pieces[1]], [False, False]) == whole, "a whole sentence"
    unlabelled = Passage(0, 0, None, cut, 0, 10)
    assert with_ending(unlabelled, [Segment(0, 10, cut, None), Segment(10, 20, rest, None)], [False, False]).last == 1


def test_the_host_is_the_one_who_asks():
    assert hosts_of(transcript()) == {HOST}


def test_the_host_asks_at_the_highest_rate_and_a_panel_has_none():
    rhetorical = ("Why does nobody measure the waiting? Because it is boring. And who pays for that? The customer "
                  "does, every single week, in late deliveries and in stock nobody can find when it is needed.")
    interview = [Segment(0, 5, "What goes wrong first?", HOST), Segment(10, 40, rhetorical, GUEST),
                 Segment(50, 55, "And then?", HOST), Segment(60, 90, rhetorical, GUEST)]
    assert hosts_of(interview) == {HOST}, "two short questions for few words outrank four rhetorical ones"
    panel = [Segment(0, 40, "So what did you all think of the chapter on hand-offs? " + rhetorical, HOST),
             Segment(50, 60, "I liked it, though the numbers felt old to me.", GUEST),
             Segment(70, 110, "What about the part on pallets? " + rhetorical, HOST)]
    assert hosts_of(panel) == set(), "the one who asks most also talks most: a panel, with no host to discount"


def test_a_co_host_who_asks_like_the_host_is_a_host_and_a_second_guest_is_not():
    answer = ("Most of the delay sits between the dock and the shelf, because nobody owns that hand-off and "
              "every team assumes another one is measuring it, so it grows quietly every quarter.")
    musing = answer + " Why would anyone measure it, then?"
    co_host, second_guest = "Nell Ford", "Ivo Marsh"
    talk = [Segment(0, 5, "What goes wrong first?", HOST), Segment(10, 40, answer, GUEST),
            Segment(40, 45, "Is that the dock's fault?", co_host), Segment(45, 75, answer, GUEST),
            Segment(75, 80, "And then?", HOST), Segment(80, 110, answer, GUEST),
            Segment(110, 115, "Who sees it first?", co_host), Segment(115, 145, musing, second_guest),
            Segment(145, 150, "Does anyone fix it?", co_host), Segment(150, 180, musing, second_guest),
            Segment(180, 210, musing, second_guest), Segment(210, 240, answer, GUEST)]
    assert hosts_of(talk) == {HOST, co_host}, (
        "she asks three short questions, as the host does; he asks as many in long answers, as a guest does")


def test_the_guests_arguments_outrank_the_hosts_anecdote_and_the_pleasantry():
    segments = transcript()
    passages = candidate_passages(segments, [False] * len(segments))
    scored = sorted(score_passages(passages, frozenset({HOST})), key=lambda p: -p.salience)
    assert {p.speaker for p in scored[:2]} == {GUEST}
    assert "bottleneck" in scored[0].text or "waiting" in scored[0].text
    assert "thank you so much" in scored[-1].text or "forklift" in scored[-1].text


def test_a_passage_that_states_an_idea_reads_more_like_an_insight_than_small_talk_or_an_anecdote():
    """The insight-like signal with the real MiniLM weights: the guest's argued answers sit nearer the
    exemplars of `podsight.insights.exemplars` than the host's childhood memory and the guest's thanks."""
    passages = candidate_passages(transcript(), [False] * len(TURNS))
    table = signal_table(passages, frozenset({HOST}), *embedded(load_embedder().embed, passages))
    like = {p.text.split()[0]: row["insight_like"] for p, row in zip(passages, table)}
    assert min(like["Because"], like["Measure"]) > max(like["I"], like["That's"]), like


def test_a_passage_that_echoes_another_episode_s_claim_moves_up():
    """Echo: of two equally argued passages, the one restating a claim made on another show comes first."""
    argued = ("{} fails because teams measure the wrong thing, and the fix is to count finished work "
              "rather than activity, which most people skip because it is slower to collect every week.")
    # (a greeting first: the two passages are near copies, and the first would otherwise stand in the
    # episode's first minutes, where a cold open plays, making the second look replayed)
    segments = [Segment(0, 2, "Hello.", HOST), Segment(100, 120, argued.format("Solar storage"), GUEST),
                Segment(200, 220, "Why?", HOST), Segment(400, 420, argued.format("Warehouse automation"), GUEST)]
    same = [False] * len(segments)
    plain = choose_passages(segments, same, embed=orthogonal, limit=2)
    assert [p.text.split()[0] for p in plain] == ["Solar", "Warehouse"]

    def echo(vectors: np.ndarray) -> np.ndarray:  # the warehouse passage restates a stored claim
        return np.array([0.1, 0.9][: len(vectors)])

    echoed = choose_passages(segments, same, embed=orthogonal, limit=2, echo=echo)
    assert [p.text.split()[0] for p in echoed] == ["Warehouse", "Solar"]
    assert echo_bonus(np.array([0.3, ECHO_FLOOR, 1.0])).tolist() == [0.0, 0.0, ECHO_WEIGHT]


def test_a_passage_the_cold_open_replayed_moves_up_and_a_show_without_one_is_unchanged():
    argued = ("{} fails because teams measure the wrong thing, and the fix is to count finished work "
              "rather than activity, which most people skip because it is slower to collect every week.")
    body = [Segment(600, 620, argued.format("Solar storage"), GUEST), Segment(800, 801, "Why?", HOST),
            Segment(1000, 1020, argued.format("Warehouse automation"), GUEST), Segment(1800, 1801, "Right.", HOST)]
    greeting = Segment(0, 2, "Hello.", HOST)
    plain = [greeting, *body]
    assert [p.text.split()[0] for p in choose_passages(plain, [False] * len(plain), embed=orthogonal, limit=2)] == \
        ["Solar", "Warehouse"]
    assert replayed_in_cold_open(plain, candidate_passages(plain, [False] * len(plain))) == [False, False]

    cold_open = Segment(5, 12, "Warehouse automation fails because teams measure the wrong thing.", GUEST)
    intro = Segment(20, 40, "Welcome to the show, today we talk about measuring work.", HOST)
    opened = [cold_open, intro, *body]
    skip = [True, True] + [False] * len(body)  # say the intro mask covers the cold open: never a passage itself
    assert replayed_in_cold_open(opened, candidate_passages(opened, skip)) == [False, True]
    assert [p.text.split()[0] for p in choose_passages(opened, skip, embed=orthogonal, limit=2)] == \
        ["Warehouse", "Solar"]


def orthogonal(texts) -> np.ndarray:
    """A stand-in for MiniLM: one axis per passage, so every passage is equally central and no two are the
    same idea; only the echo tells them apart."""
    return np.eye(len(texts))


def test_the_budget_follows_the_length_within_bounds():
    assert budget(3 * 60) == 2 and budget(30 * 60) == 6 and budget(4 * 3600) == 12


def test_two_passages_of_one_moment_are_not_both_chosen():
    """In an hour, passages under 90 s apart are one moment; in a 4-minute episode, under 12 s."""
    def turns(starts: list[float]) -> list[Segment]:
        words = ["solar", "wind", "tides", "grids", "rivers", "coal"]
        return [Segment(t, t + 10, f"{words[n % 6]} because " * 20 + "?" * (n % 2), GUEST if n % 2 == 0 else HOST)
                for n, t in enumerate(starts)]

    hour = turns([0, 30, 60, 1200, 1230, 3600])
    starts = sorted(p.start_s for p in choose_passages(hour, [False] * len(hour), limit=6))
    assert len(starts) >= 2 and all(b - a >= 90 for a, b in zip(starts, starts[1:]))
    short = turns([0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 230])
    starts = sorted(p.start_s for p in choose_passages(short, [False] * len(short), limit=6))
    assert len(starts) >= 3 and all(b - a >= 12 for a, b in zip(starts, starts[1:]))


# --- writing and checking ---------------------------------------------------------------------------

def test_each_chosen_passage_gets_one_call_and_a_verified_quote():
    segments = transcript()
    llm = ScriptedLLM(claim_for)
    report = extract_passages(segments, llm, speakers_hint=(HOST, GUEST), limit=2)
    assert len(llm.calls) == 2 and report.chunks == 2
    assert len(report.insights) == 2
    spoken = " ".join(s.text for s in segments)
    for insight in report.insights:
        assert insight.quote in spoken and insight.speaker == GUEST
        assert insight.prompt_version == PASSAGE_PROMPT_VERSION
    best = report.insights[0]
    assert best.importance == 1.0 and report.insights[1].importance < 1.0
    # the quote is the sentence that carries the claim, not the whole turn
    assert "hand-offs" in best.quote and len(best.quote.split()) <= 60


def test_the_ad_read_is_never_quoted_even_when_the_model_writes_about_it():
    llm = ScriptedLLM(lambda passage: {"claim": "Storage at Crateful is 20% off for the first month with a code.",
                                       "kind": "data_point"})
    report = extract_passages(transcript(), llm, limit=4)
    assert not any("Crateful" in i.quote for i in report.insights)


@pytest.mark.parametrize("claim, reason", [
    ("Robots are the bottleneck in most warehouses, so a faster picking robot pays for itself quickly.",
     "without a negation"),  # the passage says the robots are NOT the bottleneck
    ("Tomasz Lindqvist suggests that hand-offs between shifts cost 40 firms their robot budgets in 2019.",
     "40"),  # numbers the passage never says
])
def test_claims_unfaithful_to_their_passage_are_dropped_with_a_reason(claim, reason):
    llm = ScriptedLLM(lambda passage: {"claim": claim, "kind": "claim"} if "bottleneck" in passage else
                      claim_for(passage))
    report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=2)
    assert not any("bottleneck" in i.quote for i in report.insights)
    assert any(reason in why for why in report.dropped), report.dropped


@pytest.mark.parametrize("opening", ["The passage suggests that ", "The main idea of the passage is that ",
                                     "Tomasz Lindqvist's key point is that "])
def test_the_speaker_and_the_passage_are_never_the_subject(opening):
    def attributed(passage: str) -> dict:
        answer = claim_for(passage)
        prefix = "Speaker 2 suggests that " if "bottleneck" in passage else opening
        filler = " The speaker emphasizes the importance of planning ahead."
        return {**answer, "claim": prefix + answer["claim"][0].lower() + answer["claim"][1:] + filler}

    report = extract_passages(transcript(), ScriptedLLM(attributed), speakers_hint=(HOST, GUEST), limit=2)
    assert len(report.insights) == 2
    for insight in report.insights:
        assert not insight.claim.lower().startswith(("speaker", "the passage", "the main", "tomasz")), insight.claim
        assert "emphasizes" not in insight.claim  # a trailing sentence about the speaker is not the idea
        assert insight.claim[0].isupper()


def test_a_malformed_answer_skips_that_passage_only():
    def broken_once(passage: str) -> dict | Exception:
        return LLMOutputError("not JSON") if "bottleneck" in passage else claim_for(passage)

    report = extract_passages(transcript(), ScriptedLLM(broken_once), limit=2)
    assert len(report.chunks_skipped) == 1 and "not valid JSON" in report.chunks_skipped[0]
    assert len(report.insights) == 1


def test_an_empty_transcript_asks_nothing():
    llm = ScriptedLLM(claim_for)
    report = extract_passages([], llm)
    assert report.insights == () and llm.calls == []


def test_a_failed_claim_gives_way_to_the_next_passage_in_line():
    def about_the_show(passage: str) -> dict:
        if "bottleneck" in passage:  # the most salient passage: the model writes about the show instead
            return {"claim": "Most people listening to this podcast run software teams for a living.",
                    "kind": "claim"}
        return claim_for(passage)

    llm = ScriptedLLM(about_the_show)
    report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=1)
    assert len(llm.calls) == 2 and report.chunks == 2
    assert len(report.insights) == 1 and "idle" in report.insights[0].claim
    assert any("about the show" in why for why in report.dropped)


def test_the_speakers_own_sentence_may_be_the_claim_without_its_fillers():
    def copies_the_best(passage: str) -> dict:
        if "bottleneck" in passage:  # the model copies the speaker's sentence, with a spoken "like,"
            sentence = next(s for s in passage.split(". ") if "bottleneck" in s)
            words = sentence.split(": ")[-1].split()
            return {"claim": " ".join(words[:3] + ["like,"] + words[3:]).rstrip(".") + ".", "kind": "claim"}
        return claim_for(passage)

    report = extract_passages(transcript(), ScriptedLLM(copies_the_best), speakers_hint=(HOST, GUEST), limit=1)
    [insight] = report.insights
    assert "bottleneck" in insight.claim and "like," not in insight.claim
    assert not any("copies the transcript" in why for why in report.dropped)


# --- a capable endpoint chooses among the code's candidates ------------------------------------------

def endpoint_answer(request: dict) -> str:
    """FakeLLMServer (a named fake of a remote model server): picks the 'waiting' passage first, then
    writes the claims."""
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    if "numbered passages" in system:
        numbers = {m.group(2): int(m.group(1)) for m in re.finditer(r"\[(\d+)\] [^:]+: (\w+)", user)}
        return json.dumps({"picks": [numbers["Measure"], 99, numbers["Because"]]})  # 99: not a candidate
    return json.dumps(claim_for(user))


def test_a_capable_endpoint_reorders_the_candidates_and_the_checks_still_apply():
    with FakeLLMServer([endpoint_answer] * 10) as fake:
        llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
        report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=2, model_chooses=True)
        choice = fake.requests[0]["json"]["messages"]
    assert "Crateful" not in choice[-1]["content"]  # only the code's candidates are offered
    assert report.insights[0].importance == 1.0 > report.insights[1].importance
    assert "idle" in report.insights[0].claim  # the endpoint's first pick leads
    assert "hand-offs between shifts" in report.insights[1].claim


def test_an_unusable_choice_keeps_the_codes_order():
    with FakeLLMServer(["not json", "still not json"] + [endpoint_answer] * 6) as fake:
        llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
        report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=2, model_chooses=True)
    assert len(report.insights) == 2 and "hand-offs between shifts" in report.insights[0].claim


# --- a capable endpoint reads each claim against its passage -----------------------------------------

# A claim that uses the passage's words and inverts it: every rule in code passes it (the words "bottleneck"
# and "robots" are there, "not" is kept), which is the kind of failure only a reader can catch.
SWAPPED = ("Warehouse robots are the bottleneck, not the hand-offs between shifts, so firms that bought machines first "
           "saw payback in 14 months.")


def checking_endpoint(verdicts: dict[str, object]):
    """FakeLLMServer's answer function: writes SWAPPED for the 'bottleneck' passage and claim_for's claims for
    the others; a check (its system prompt starts "You check") is answered from `verdicts`, by the first key
    found in the claim shown."""
    def answer(request: dict) -> str:
        system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
        if system.startswith("You check"):  # the claim is in the first question (a retry adds others)
            claim = request["messages"][1]["content"].split("Claim: ", 1)[1]
            return next(verdict for key, verdict in verdicts.items() if key in claim)
        return json.dumps({"claim": SWAPPED, "kind": "claim"} if "bottleneck" in user else claim_for(user))
    return answer


def test_a_capable_endpoint_drops_a_claim_it_finds_unfaithful_and_keeps_the_rest():
    verdicts = {"bottleneck": json.dumps({"problem": "The speaker says robots are not the bottleneck.",
                                          "faithful": False}),
                "idle": json.dumps({"problem": "", "faithful": True})}
    with FakeLLMServer([checking_endpoint(verdicts)] * 10) as fake:
        llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
        report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=2, model_checks=True)
        checks = [r["json"]["messages"] for r in fake.requests
                  if r["json"]["messages"][0]["content"].startswith("You check")]
    assert [i.claim for i in report.insights] == [claim_for("waiting")["claim"]]
    [dropped] = report.dropped
    assert dropped.startswith("the model finds it unfaithful (The speaker says robots are not the bottleneck.): "
                              "'Warehouse robots are the bottleneck, not the hand-offs")
    shown = checks[0][-1]["content"]  # the passage as the speaker said it, then the claim as the code would keep it
    assert shown.startswith(f"Passage ({GUEST}): Because the robots are not the bottleneck.")
    assert shown.endswith(f"Claim: {SWAPPED}")
    assert report.tokens_in == len(fake.requests) * 11  # FakeLLMServer's usage: the checks are counted


def test_without_model_checks_the_same_claim_is_kept():
    with FakeLLMServer([checking_endpoint({})] * 10) as fake:
        llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
        report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=2)
    assert SWAPPED in [i.claim for i in report.insights]  # the code's checks alone do not catch it


def test_an_unusable_check_keeps_the_claim():
    with FakeLLMServer([checking_endpoint({"": "not json"})] * 10) as fake:
        llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
        report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=2, model_checks=True)
    assert len(report.insights) == 2 and not report.dropped


def test_a_quote_starts_and_ends_on_sentence_boundaries():
    long_sentence = ("Pricing power is the ability to raise prices without losing customers, and most firms that "
                     "raise prices and keep customers are spending goodwill they built for years rather than "
                     "proving any lasting power over the market they sell into.")
    segments = [Segment(0, 60, "So what is it really? " + long_sentence + " That is the whole test.", GUEST)]
    llm = ScriptedLLM(lambda passage: {"claim": "Raising prices without losing customers often spends goodwill "
                                                "built over years instead of proving lasting market power.",
                                       "kind": "claim"})
    report = extract_passages(segments, llm, limit=1)
    assert len(report.insights) == 1
    assert long_sentence in report.insights[0].quote  # the whole sentence, not the piece that matched best


@pytest.mark.parametrize("claim, kept", [
    ("The passage discusses why warehouse hand-offs matter more than robots.", None),  # describes, states nothing
    ("The importance of measuring hand-offs before buying warehouse robots.", None),  # a noun phrase
    ("Warehouse robots rarely pay off because time is lost in hand-offs between shifts, and the firms",
     None),  # cut off mid-sentence
    ("Warehouse robots rarely pay off because time is lost in hand-offs between shifts. He also suggests that "
     "firms fix the hand-offs first. Tomasz believes that the",
     "Warehouse robots rarely pay off because time is lost in hand-offs between shifts."),
    ("Tomasz Lindqvist's passage suggests that warehouse robots rarely pay off because time is lost in "
     "hand-offs between shifts.",
     "Warehouse robots rarely pay off because time is lost in hand-offs between shifts."),
    ("Warehouse robots rarely pay off because time is lost in hand-offs between shifts. Tomasz Lindqvist "
     "suggests that firms can do this by fixing the hand-offs first.",  # the idea, then who said it
     "Warehouse robots rarely pay off because time is lost in hand-offs between shifts."),
    ("Warehouse robots rarely pay off because time is lost in hand-offs between shifts. Hand-offs, mostly.",
     "Warehouse robots rarely pay off because time is lost in hand-offs between shifts."),  # a stub sentence
    ("It's hard to make warehouse robots pay off while pallets wait for hours in the hand-offs between shifts.",
     "It's hard to make warehouse robots pay off while pallets wait for hours in the hand-offs between shifts."),
    ("It's designed to pick twice as fast, but pallets still wait for hours in the hand-offs between shifts.",
     None),  # "it" is the robot, which the reader never met
    ("Tomasz Lindqvist: Warehouse robots rarely pay off because time is lost in hand-offs between shifts.",
     "Warehouse robots rarely pay off because time is lost in hand-offs between shifts."),  # the speaker's label
    ("Most warehouses lose time in the hand-offs between shifts, not on the picking floor, so a robot that "
     "picks twice as fast...",  # the speaker's sentence, copied where it trails off
     "Most warehouses lose time in the hand-offs between shifts, not on the picking floor."),
])
def test_claims_that_describe_trail_off_or_talk_about_the_speaker(claim, kept):
    llm = ScriptedLLM(lambda passage: {"claim": claim, "kind": "claim"} if "bottleneck" in passage else
                      claim_for(passage))
    report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=1)
    claims = [i.claim for i in report.insights]
    if kept is None:
        assert claim not in claims and report.dropped
    else:
        assert claims[0] == kept


def test_a_claim_that_copies_the_prompt_s_worked_example_is_dropped():
    from podsight.insights.passages import _EXAMPLE_ANSWER, PassageAnswer

    copied = PassageAnswer.model_validate_json(_EXAMPLE_ANSWER).model_dump()
    report = extract_passages(transcript(), ScriptedLLM(lambda passage: copied), speakers_hint=(HOST, GUEST), limit=2)
    assert report.insights == ()
    assert report.dropped, "every copy of the example must be dropped with a reason"


@pytest.mark.parametrize("claim, borrowed", [
    ("Warehouse robots rarely pay off, much as beehives lose colonies to moisture, since hand-offs waste time.",
     "beehives, colonies, moisture"),
    ("Warehouses lose time in hand-offs between people, as beekeeping loses time between robots and shifts.", "beekeeping"),
])
def test_a_claim_that_mixes_in_the_worked_example_s_subject_is_dropped(claim, borrowed):
    report = extract_answering("bottleneck", claim, limit=2)
    assert claim not in [i.claim for i in report.insights]
    assert any(f"worked example ({borrowed})" in why for why in report.dropped)


def test_the_worked_example_comes_before_the_passage_as_an_earlier_turn():
    llm = ScriptedLLM(claim_for)
    extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=1)
    roles = [m["role"] for m in llm.calls[0]]
    assert roles == ["system", "user", "assistant", "user"]
    assert llm.calls[0][-1]["content"].startswith(GUEST + ":")


@pytest.mark.parametrize("opening, dropped", [
    ("Tomasz Lindqvist is illustrating how ", True), ("Tomasz realized that ", True), ("Nadia asks why ", True),
    ("Tomasz Lindqvist's warehouse shows that ", False),  # a possessive: the subject is the warehouse
    ("Tomasz Lindqvist's experience shows that ", True),  # ... but his experience is his biography
])
def test_a_claim_that_opens_with_a_speaker_doing_something_is_about_the_person(opening, dropped):
    claim = opening + "warehouse robots rarely pay off while hand-offs between shifts waste the time."
    llm = ScriptedLLM(lambda passage: {"claim": claim, "kind": "claim"} if "bottleneck" in passage else
                      claim_for(passage))
    report = extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=1)
    assert (claim not in [i.claim for i in report.insights]) is dropped
    assert any("about the speaker" in why for why in report.dropped) is dropped


def extract_answering(marker: str, claim: str, kind: str = "claim", limit: int = 1):
    """Extraction from the test transcript by a model that answers `claim` for the passage containing `marker`
    and a faithful claim for the others."""
    llm = ScriptedLLM(lambda passage: {"claim": claim, "kind": kind} if marker in passage else claim_for(passage))
    return extract_passages(transcript(), llm, speakers_hint=(HOST, GUEST), limit=limit)


@pytest.mark.parametrize("note", ["[inaudible 00:50:40]", "[crosstalk]", "[unintelligible]"])
def test_a_claim_built_on_a_transcriber_s_note_is_dropped(note):
    claim = f"Warehouse robots rarely pay off while all the {note} hand-offs between shifts waste the time."
    report = extract_answering("bottleneck", claim)
    assert claim not in [i.claim for i in report.insights]
    assert any("transcriber's note" in why for why in report.dropped)


def test_a_claim_with_an_invented_reason_is_kept_without_it_when_the_rest_holds():
    # The "waiting" passage gives no reason for anything (no "because", "so", "that's why").
    invented = ("A small operator should time how long pallets wait at each hand-off for two weeks before buying "
                "machines, due to vendors who oversell robots.")
    claims = [i.claim for i in extract_answering("waiting", invented, kind="advice", limit=2).insights]
    assert invented not in claims
    assert ("A small operator should time how long pallets wait at each hand-off for two weeks before buying "
            "machines.") in claims


def test_a_claim_whose_later_sentence_fails_keeps_its_leading_sentences():
    # The first sentence states the idea; the second copies the speaker in the first person.
    idea = "Most warehouses lose time in the hand-offs between shifts, not on the picking floor."
    report = extract_answering("bottleneck", idea + " I think the robots are not the bottleneck.", limit=2)
    assert idea in [i.claim for i in report.insights]


def test_a_comment_the_model_adds_after_the_idea_is_cut():
    idea = "Most warehouses lose time in the hand-offs between shifts, not on the picking floor."
    report = extract_answering("bottleneck", idea + " This can save money for small operators.", limit=2)
    assert idea in [i.claim for i in report.insights]


def test_a_leading_sentence_too_short_to_say_anything_is_not_kept_alone():
    report = extract_answering("bottleneck", "Robots are not it. I think hand-offs between shifts lose the time.",
                               limit=2)
    assert not [i for i in report.insights if i.claim.startswith("Robots")]
    assert any("first person" in why for why in report.dropped)


def test_a_bracket_the_model_closed_inside_its_claim_is_removed():
    claim = "Warehouse robots rarely pay off because time is lost in the hand-offs between shifts."
    report = extract_answering("bottleneck", claim + "}", limit=2)
    assert claim in [i.claim for i in report.insights]


@pytest.mark.parametrize("claim", [
    "Timing every pallet at every hand-off for two weeks before buying machines is advice for operators listening.",
    "Operators can keep up by timing every pallet at every hand-off, as the concepts presented in the podcast show.",
    "The focus of the podcast is timing every pallet at every hand-off before buying machines.",
])
def test_a_claim_addressed_to_the_audience_is_about_the_show(claim):
    report = extract_answering("waiting", claim, kind="advice", limit=2)
    assert claim not in [i.claim for i in report.insights]
    assert any("about the show" in why for why in report.dropped)


def test_the_host_setting_up_a_question_is_never_a_passage():
    question = ("Most people assume the robots are the expensive part and that buying faster machines is what "
                "moves the needle, because that is what the vendors sell, so where does the money actually go?")
    asked = [Segment(0, 30, question, HOST), Segment(40, 41, "Yes.", GUEST)]  # the only candidate: the question
    assert choose_passages(asked, [False, False], limit=10) == []
    as_statement = [Segment(0, 30, question.replace("so where does the money actually go?", "and they are wrong."),
                            HOST), Segment(40, 41, "Why?", GUEST)]  # the guest asks: the host makes a point
    assert len(choose_passages(as_statement, [False, False], limit=10)) == 1


def test_an_endpoint_gets_several_passages_at_once_and_the_result_is_the_same():
    """A fake endpoint that takes 0.3 s an answer, so that requests overlap: with concurrency 4 the passages
    wanted go out together (never more than asked for), and the insights equal those asked one at a time."""
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow(request: dict) -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.3)
        with lock:
            in_flight -= 1
        return json.dumps(claim_for(request["messages"][-1]["content"]))

    segments = [Segment(s.start + k * 2000, s.end + k * 2000, s.text, s.speaker) for k in range(2) for s in transcript()]
    results = {}
    for concurrency in (1, 4):
        with FakeLLMServer([slow] * 20) as fake:
            llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
            report = extract_passages(segments, llm, speakers_hint=(HOST, GUEST), limit=4, concurrency=concurrency)
            results[concurrency] = (report, None, peak, len(fake.requests))
        peak = 0
    one, four = results[1][0], results[4][0]
    assert [(i.claim, i.start_s, i.importance) for i in one.insights] == \
        [(i.claim, i.start_s, i.importance) for i in four.insights]
    assert results[1][2] == 1 and 2 <= results[4][2] <= 4
    assert results[4][3] == results[1][3]  # no request is made that one at a time would not make


@pytest.mark.parametrize("claim, passage, expected", [
    ("More than people think, 17 hours awake impairs you like a drink.",
     "More than people think. 17 hours awake impairs you like a drink or two.", "17 hours awake impairs you like a drink."),
    ("Partly. With electricity, factories took 30 years to reorganise.",
     "Partly. With electricity, factories took around 30 years to reorganise.",
     "With electricity, factories took 30 years to reorganise."),
    ("Factories took 30 years to reorganise.", "Partly. Factories took 30 years.", "Factories took 30 years to reorganise."),
    ("Robots are rarely the bottleneck in warehouses.", "Robots are rarely the bottleneck. Hand-offs are.",
     "Robots are rarely the bottleneck in warehouses."),  # a short opening that is the idea itself stays
])
def test_a_short_answer_the_passage_opens_with_is_not_part_of_the_claim(claim, passage, expected):
    assert passages_module._without_lead_in(claim, passage) == expected


def test_a_turn_that_ends_in_a_question_is_never_a_passage_whoever_asks_the_most():
    """The guest here asks more questions than the host (rhetorical ones, mid-answer), so the host cannot be
    told by counting them; the host's set-up is still not taken for an idea."""
    setup = ("You have spent a lot of time on warehouses and robots, and I know you see a strong connection between "
             "the two, but what do people building these systems most often miss or misunderstand about the hand-offs?")
    answer = ("Why do robots sit idle? Is it the software? Is it the batteries? No. Most warehouses lose their time in "
              "the hand-offs between shifts, because every handover resets the queue and nobody owns the first hour.")
    segments = [Segment(start=300.0, end=320.0, text=setup, speaker="Host"),
                Segment(start=320.5, end=345.0, text=answer, speaker="Guest")]
    chosen = choose_passages(segments, [False, False], limit=5)
    assert [p.speaker for p in chosen] == ["Guest"]


def test_the_quote_leaves_out_the_end_of_someone_elses_sentence():
    """Speech-to-text gave the host's last words ("is that over.") to the guest's turn."""
    segments = [
        Segment(300.0, 304.0, "Prices rose for two years and everyone had pricing power. So my question is whether", HOST),
        Segment(304.5, 307.0, "is that over. For most companies, yes.", GUEST),
        Segment(307.5, 315.0, "Pricing power is the ability to raise prices without losing customers, and it was never "
                              "as common as those two years made it look.", GUEST),
        Segment(315.5, 320.0, "When every competitor raises prices at once, everyone seems to have pricing power.", GUEST),
    ]
    claim = ("For most companies, pricing power was never as common as it looked, since everyone seems to have "
             "it when every competitor raises prices at once.")
    report = extract_passages(segments, ScriptedLLM(lambda passage: {"claim": claim, "kind": "claim"}), limit=1)
    [insight] = report.insights
    assert insight.quote.startswith("Pricing power is the ability"), insight.quote


def test_a_quote_that_stops_on_the_speakers_own_question_goes_on_to_the_answer():
    question = ("So the question every farm team asks me is this one: when, exactly, should a team stop labelling "
                "crop samples by hand?")
    answer = ("Once a whole afternoon of fresh ones shows you no failure you had not already seen, because at that "
              "point every extra hour buys you almost nothing, and the same hour spent fixing the two or three "
              "failures you already know about will move the harvest numbers far more than another week of it.")
    segments = [Segment(0, 40, f"{question} {answer}", GUEST)]
    claim = "A team can stop labelling crop samples by hand once new kinds of failure stop turning up."
    report = extract_passages(segments, ScriptedLLM(lambda passage: {"claim": claim, "kind": "claim"}), limit=1)
    [insight] = report.insights
    assert insight.quote == f"{question} {answer}", insight.quote


@pytest.mark.parametrize("setting, checked", [(None, True), (False, False)])
def test_an_endpoint_checks_claims_unless_told_not_to(tmp_path, setting, checked):
    """`llm_checks_claims`: unset, on for an endpoint (the embedded model, which cannot judge, is never asked);
    the daily run and `podsight eval` call extraction through the registry, as here."""
    with FakeLLMServer([checking_endpoint({"": json.dumps({"problem": "", "faithful": True})})] * 10) as fake:
        settings = Settings(home=tmp_path, llm_base_url=fake.base_url, llm_chooses_passages=False,
                            llm_checks_claims=setting)
        llm = OpenAICompatible(fake.base_url, "fake-model", retry=RetryPolicy(attempts=1))
        report = extract_episode(settings, transcript(), llm, speakers=(HOST, GUEST))
        systems = [r["json"]["messages"][0]["content"] for r in fake.requests]
    assert report.insights
    assert any(s.startswith("You check") for s in systems) is checked
    assert Settings(home=tmp_path).model_checks_claims() is False
