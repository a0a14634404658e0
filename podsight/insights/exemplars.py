"""What an insight reads like, as sentences written for podsight: the `insight_like` signal of `select` scores a
passage by how much closer its MiniLM embedding is to the INSIGHTS than to the NOT_INSIGHTS.

Why: the issue's suggestion of "embeddings of what a good insight reads like". An insight states a specific,
non-obvious claim with its reason; what a show says around its ideas (thanks, sponsor reads, biography,
logistics, anecdotes, agreement) reads differently, whatever the topic.

The sentences are on purpose about topics far from any evaluation episode (traffic, bakeries, wolves, farming,
running, shipping), so that the signal carries the form of an insight, not the subject of the dev set. Nothing
here is taken or learned from the dev set; on it (`python bench/signal_auc.py ../shared/devset`) the signal
alone tells passages holding a reference from the rest with an AUC of 0.66-0.79 in each of the 8 episodes.
"""

from __future__ import annotations

import numpy as np

INSIGHTS = (
    ("The reason most retries make outages worse is that every client retries at once, so the load doubles exactly "
     "when the server is weakest."),
    ("Most of the cost of a new drug is not the chemistry but the failed trials, so anything that kills a bad "
     "candidate earlier saves more than a faster lab."),
    ("If you pay people by the number of tasks they close, they split every task in two, and the count goes up while "
     "nothing improves."),
    ("The best predictor of whether a habit sticks is not motivation but how little friction there is at the moment "
     "you have to act."),
    ("Pricing is the lever most small businesses never test, yet a ten percent price change moves profit more than a "
     "ten percent change in volume."),
    ("Sleep debt does not pay back on the weekend: two long nights restore alertness but not the memory "
     "consolidation lost during the week."),
    ("Cities that add lanes to cure traffic get more traffic within a few years, because cheaper driving invites "
     "more trips."),
    ("A bakery that sells out by noon is losing money, not winning, because every customer turned away learns to go "
     "elsewhere."),
    ("Wolves changed the rivers of Yellowstone: deer stopped grazing the banks, trees returned, and the roots held "
     "the soil in place."),
    ("Students remember more when they are tested before they feel ready, because retrieving an answer strengthens "
     "memory more than rereading it."),
    "Most injuries in amateur runners come from adding distance too quickly, not from shoes or running form.",
    "Batteries, not panels, now decide the price of solar power, since the sun sets just when demand peaks.",
    ("Shipping costs fell so far that it became cheaper to catch fish in Scotland, fillet them in China and sell "
     "them back in Europe."),
    "Farmers who rotate crops spend less on fertiliser, because beans put back the nitrogen that wheat takes out.",
    ("Investors overpay for stocks that were in the news, so boring companies have earned higher returns over long "
     "periods."),
    "A negotiation is usually won before it starts, by whoever has the better alternative if no deal is reached.",
)

NOT_INSIGHTS = (
    "Thanks so much for having me, it's great to be here and I've been a fan of the show for years.",
    "This episode is brought to you by our sponsor, go to the website and use the code for twenty percent off.",
    "I grew up in a small town and went to school there, and then I moved to the city for college.",
    "Before we get started, don't forget to subscribe and leave us a review, it really helps.",
    "Yeah, yeah, totally, I mean, that's so cool, I love that, that's awesome.",
    "So I was at the conference last week and I ran into a friend and we got coffee and talked for a while.",
    "Where can people find you online? You can find me on Twitter and on my website.",
    "My first job was at a bank, then I joined a startup, and after that I started my own company.",
    "We'll put the links in the show notes, and thanks everyone for listening, see you next week.",
    "I remember when I was a kid my dad took me fishing every summer and we had a great time.",
    "That's a great question, let me think about that for a second, it's a good one.",
    "We're hiring, so if you're interested check out our careers page and apply.",
)

EXEMPLARS = INSIGHTS + NOT_INSIGHTS


def insight_direction(exemplar_vectors: np.ndarray) -> np.ndarray:
    """From the mean NOT_INSIGHT to the mean INSIGHT, given the vectors of EXEMPLARS in order: a passage's dot
    product with it is its `insight_like` signal."""
    insights, not_insights = exemplar_vectors[: len(INSIGHTS)], exemplar_vectors[len(INSIGHTS):]
    return insights.mean(axis=0) - not_insights.mean(axis=0)
