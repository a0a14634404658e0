"""What the demo publishes: three made-up shows, eight episodes, and the claims planted across them.

Everything here is original text written for podsight; the shows, people and sponsors do not exist.
The spoken words of each episode live in `source/<episode slug>.txt` (one turn per line); this module
holds the rest: titles, descriptions, who speaks, when it was published, which transcript formats
the publisher offers, and which claims recur between episodes (the links stage should find them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Fixed namespace so every episode GUID is the same on every machine and every run.
_GUID_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e8f-9a0b-1c2d3e4f5a6b")

#: Transcript formats a demo episode can offer: extension -> (MIME type for the feed and the server).
TRANSCRIPT_TYPES: dict[str, str] = {
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "json": "application/json",
    "html": "text/html",
    "txt": "text/plain",
}


@dataclass(frozen=True)
class DemoEpisode:
    """One episode. `formats` empty means audio only: the feed links no transcript, the server serves real
    speech (`content/audio/<slug>.mp3`) and the pipeline must fall back to speech-to-text."""

    slug: str
    number: int
    title: str
    description: str
    guest: str
    hours_before_anchor: int  # published this many hours before the server's anchor (UTC midnight)
    formats: tuple[str, ...] = ()

    @property
    def guid(self) -> str:
        """A stable, opaque GUID, as most hosting platforms publish them."""
        return str(uuid.uuid5(_GUID_NAMESPACE, self.slug))

    def transcript_files(self) -> list[tuple[str, str]]:
        """(file name, MIME type) for every transcript this episode offers."""
        return [(f"{self.slug}.{ext}", TRANSCRIPT_TYPES[ext]) for ext in self.formats]


@dataclass(frozen=True)
class DemoShow:
    """One podcast with its own feed at `/feeds/<slug>.xml`."""

    slug: str
    title: str
    description: str
    author: str
    hosts: tuple[str, ...]
    category: str
    artwork_rgb: tuple[int, int, int]
    episodes: tuple[DemoEpisode, ...]


@dataclass(frozen=True)
class ClaimMention:
    """Where a planted claim is said: the exact sentence, verbatim in that episode's script, so in every
    transcript it publishes (an audio-only episode speaks it: speech-to-text must find it)."""

    episode: str  # episode slug
    speaker: str
    sentence: str


@dataclass(frozen=True)
class PlantedClaim:
    """Two episodes (of different shows) making the same claim, or opposite claims."""

    topic: str
    relation: str  # "corroborates" | "contradicts"
    first: ClaimMention
    second: ClaimMention


TECH = DemoShow(
    slug="tokens-and-tradeoffs",
    title="Tokens and Tradeoffs",
    description=(
        "Weekly conversations about what really changes when software teams adopt AI: "
        "productivity, tooling, reliability and the people behind the pager."
    ),
    author="Maya Okafor",
    hosts=("Maya Okafor",),
    category="Technology",
    artwork_rgb=(32, 86, 160),
    episodes=(
        DemoEpisode(
            slug="ai-assistants-productivity",
            number=41,
            title="Do AI coding assistants make teams faster? With Tomas Lindqvist",
            description=(
                "Tomas Lindqvist rolled an AI coding assistant out to 400 developers in stages and measured "
                "what happened: who gained, where the bottleneck moved, and what managers should count."
            ),
            guest="Tomas Lindqvist",
            hours_before_anchor=30,
            formats=("vtt", "srt"),
        ),
        DemoEpisode(
            slug="small-models-laptop",
            number=42,
            title="Small models, your own laptop: Priya Raman on local inference",
            description=(
                "Priya Raman, maintainer of the Kettle runtime, on quantization, CPU speed, caching and "
                "JSON grammars, and a clinic that summarizes notes on a desktop in a closet."
            ),
            guest="Priya Raman",
            hours_before_anchor=14,
            formats=("json",),
        ),
        DemoEpisode(
            slug="on-call-hangover",
            number=43,
            title="The on-call hangover, with Marcus Bell",
            description=(
                "Marcus Bell runs site reliability at a payments company. His data says night-time incidents "
                "take 40% longer to fix, and one simple rule halved next-day failures."
            ),
            guest="Marcus Bell",
            hours_before_anchor=3,
            formats=("html",),
        ),
    ),
)

HEALTH = DemoShow(
    slug="the-rested-mind",
    title="The Rested Mind",
    description="The science of feeling well, explained by the researchers who study sleep, movement and focus.",
    author="Lena Marsh",
    hosts=("Lena Marsh",),
    category="Health & Fitness",
    artwork_rgb=(46, 139, 87),
    episodes=(
        DemoEpisode(
            slug="cost-of-a-bad-night",
            number=88,
            title="What one bad night really costs - Dr. Amara Osei",
            description=(
                "Sleep scientist Amara Osei on why 17 hours awake looks like being tipsy, why you stop "
                "noticing sleep debt, and the one habit to fix first."
            ),
            guest="Amara Osei",
            hours_before_anchor=40,
            formats=("srt",),
        ),
        DemoEpisode(
            slug="walk-after-dinner",
            number=89,
            title="Ten minutes after dinner - Dr. Rafael Moreno",
            description=(
                "Exercise physiologist Rafael Moreno on post-meal walks, where the step count curve flattens, "
                "exercise snacks, and a father who calls his walk 'the block'."
            ),
            guest="Rafael Moreno",
            hours_before_anchor=20,
            formats=("txt",),
        ),
        DemoEpisode(
            slug="attention-budget",
            number=90,
            title="Your attention is a budget - Dr. Hannah Cho",
            description=(
                "Cognitive scientist Hannah Cho on what an interruption costs, a two-week notification "
                "experiment, and the always-on culture nobody asked for."
            ),
            guest="Hannah Cho",
            hours_before_anchor=6,
            formats=("vtt",),
        ),
    ),
)

BUSINESS = DemoShow(
    slug="ledger-lines",
    title="Ledger Lines",
    description="The numbers behind the business headlines, with the economists and operators who know them.",
    author="Daniel Reyes",
    hosts=("Daniel Reyes",),
    category="Business",
    artwork_rgb=(178, 84, 34),
    episodes=(
        DemoEpisode(
            slug="productivity-paradox",
            number=17,
            title="The productivity paradox, again - with Élise Fontaine",
            description=(
                "Labor economist Élise Fontaine on a randomized trial of AI coding assistants with a surprising "
                "answer. Plus: what electricity teaches, and the cheapest productivity gain there is."
            ),
            guest="Élise Fontaine",
            hours_before_anchor=26,
        ),
        DemoEpisode(
            slug="pricing-power",
            number=18,
            title="Pricing power when customers push back - with Owen Hartley",
            description=(
                "Retail strategist Owen Hartley on which companies can still raise prices, and why "
                "shrinkflation is a short-term trade. (Audio only: no transcript for this one yet.)"
            ),
            guest="Owen Hartley",
            hours_before_anchor=9,
        ),
    ),
)

SHOWS: tuple[DemoShow, ...] = (TECH, HEALTH, BUSINESS)

# Disputed twice: by a guest heard only through speech-to-text and by one in a publisher transcript, so the
# demo's dispute does not hang on what the speech model hears on a given CPU.
MORE_PULL_REQUESTS = ClaimMention(
    "ai-assistants-productivity",
    "Tomas Lindqvist",
    "Across 400 developers, the teams using an AI coding assistant merged 26 percent more pull requests per week.",
)

CLAIMS: tuple[PlantedClaim, ...] = (
    PlantedClaim(
        topic="AI coding assistants and developer productivity",
        relation="contradicts",
        first=MORE_PULL_REQUESTS,
        second=ClaimMention(
            "productivity-paradox",
            "Élise Fontaine",
            "Experienced developers were 14 percent slower when they used an AI coding assistant, even though "
            "they believed it made them faster.",
        ),
    ),
    PlantedClaim(
        topic="AI coding assistants and experienced developers' speed",
        relation="contradicts",
        first=MORE_PULL_REQUESTS,
        second=ClaimMention(
            "attention-budget",
            "Hannah Cho",
            "Experienced developers are slower with an AI coding assistant, not faster.",
        ),
    ),
    PlantedClaim(
        topic="17 hours awake is like a blood alcohol level of 0.05 percent",
        relation="corroborates",
        first=ClaimMention(
            "on-call-hangover",
            "Marcus Bell",
            "The research is pretty blunt here: after 17 hours awake, your judgment is about as impaired as "
            "someone with a blood alcohol level of 0.05 percent.",
        ),
        second=ClaimMention(
            "cost-of-a-bad-night",
            "Amara Osei",
            "17 hours without sleep impairs you about as much as a blood alcohol level of 0.05 percent.",
        ),
    ),
    PlantedClaim(
        topic="Sleep loss costs about 2 percent of GDP",
        relation="corroborates",
        first=ClaimMention(
            "cost-of-a-bad-night",
            "Amara Osei",
            "When you put together the lost working days, the mistakes and the accidents, insufficient sleep "
            "costs the big economies somewhere around 2 percent of GDP every year.",
        ),
        second=ClaimMention(
            "productivity-paradox",
            "Élise Fontaine",
            "Sleep loss alone costs rich countries about 2 percent of GDP a year, and almost no company "
            "measures it.",
        ),
    ),
)


def all_episodes() -> list[tuple[DemoShow, DemoEpisode]]:
    """Every (show, episode) pair, in catalog order."""
    return [(show, episode) for show in SHOWS for episode in show.episodes]


def find_episode(slug: str) -> tuple[DemoShow, DemoEpisode]:
    """The show and episode for an episode slug; KeyError names the valid slugs."""
    for show, episode in all_episodes():
        if episode.slug == slug:
            return show, episode
    valid = ", ".join(episode.slug for _, episode in all_episodes())
    raise KeyError(f"no demo episode {slug!r}; valid: {valid}")
