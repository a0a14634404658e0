"""Faithfulness checks in plain code: a claim may say only what its passage says.

Each case is (claim, passage, quote, known names, expected): expected is None for a faithful claim
(no problem at all) or a word that must appear in one of the reasons.
"""

from __future__ import annotations

import pytest

from podsight.insights.faithful import (
    ADDED_CONCESSION,
    ADDED_REASON,
    faithfulness_problems,
    is_generic_why,
    speaker_as_subject,
    strip_attribution,
    without_added_clause,
)

FOUNDERS = (
    "So the people who start companies, when you actually sit with them, they didn't just dream up the "
    "idea out of nowhere. They spent years inside the problem first."
)
PIXELS = "The wild thing is that the cost of producing pixels keeps falling, every single year, so rendering is basically free now."
LINES = "Since the assistant arrived, the number of lines of code each engineer commits went up about 30 percent."
REVENUE = (
    "We crossed two billion dollars of revenue last year with roughly 140 people, and about half of them "
    "are engineers. Our user base went from 12 or 13 million to 1.1 million paying seats."
)
DESKTOPS = (
    "Banks mostly don't hand developers a laptop. They run virtual desktop infrastructure so nothing leaves "
    "the building, and Stripe's team told us the same about their GPU fleet."
)
REMOTE = "Remote teams in our survey shipped faster than co-located ones. They also reported fewer meetings."
HANDOVER = "The trouble is that drivers are not good at grabbing the wheel quickly once they've stopped paying attention."
PRICES = "Solar panel prices are dropping fast, and batteries are getting cheaper too."
QUICK = "Some tasks, like sentiment analysis, only take five minutes to train, on a few thousand samples."
QUIET = ("We ran a two-week trial where people switched off every notification. Their stress dropped by 15 percent, "
         "and their output on a writing task went up.")

FAITHFUL = [
    ("part of a group kept as part", "Many in the urban beekeeping community believe pesticides explain the losses.",
     "Many people in the urban beekeeping community believe pesticides explain the losses, but the data is thin.",
     "Many people in the urban beekeeping community believe pesticides explain the losses.", ()),
    ("reordered paraphrase", "Founders rarely invent ideas from nothing; they spend years inside the problem first.", FOUNDERS, FOUNDERS, ()),
    ("30 percent as 30%", "Each engineer commits about 30% more lines of code since the assistant arrived.", LINES, LINES, ()),
    ("two billion dollars as $2 billion", "The company passed $2 billion in revenue with about 140 people.", REVENUE, REVENUE, ()),
    ("half as 50%", "About 50% of the staff are engineers.", REVENUE, REVENUE, ()),
    ("a range with one scale word", "Users grew from 12-13 million, of whom 1.1 million pay.", REVENUE, REVENUE, ()),
    ("speaker named from known_names", "Priya Raman says banks keep code inside the building with virtual desktops.", DESKTOPS, DESKTOPS, ("Priya Raman",)),
    ("possessive and plural names", "Stripe's GPUs are managed like the banks' desktops.", DESKTOPS, DESKTOPS, ()),
    ("acronym of passage words", "Banks use VDI so that nothing leaves the building.", DESKTOPS, DESKTOPS, ()),
    ("supported negation", "Most banks do not give developers laptops.", DESKTOPS, DESKTOPS, ()),
    ("'X, not Y' supports a claim that denies Y", "The four-day week did not come out of the research but out of a pilot.",
     "The four-day week came out of a union's pilot, not out of the research.",
     "The four-day week came out of a union's pilot, not out of the research.", ()),
    ("'not good' said as 'bad'", "Drivers who stopped paying attention are bad at taking the wheel quickly.", HANDOVER, HANDOVER, ()),
    ("kept negation", "Drivers are not good at grabbing the wheel quickly after they stop paying attention.", HANDOVER, HANDOVER, ()),
    ("'don't' said as 'prevent'", "Training with noise helps prevent the model from memorizing customer records.", "We train with noise, and that helps guarantee that the model doesn't memorize customer records.", "We train with noise, and that helps guarantee that the model doesn't memorize customer records.", ()),
    ("same direction, other verb", "Solar panel prices are falling quickly and batteries keep getting cheaper.", PRICES, PRICES, ()),
    ("same direction about cost", "Producing pixels gets cheaper every year as its cost keeps falling.", PIXELS, PIXELS, ()),
    ("each change in its own part of the claim", "Switching off notifications can reduce stress and improve writing output.",
     QUIET, QUIET, ()),
    ("a comment the passage makes too", ("Sentiment models train in five minutes on a few thousand samples. This "
     "means a laptop is enough."), QUICK + " That means a laptop is enough.", QUICK, ()),
    ("contrast names a rejected alternative", "Remote teams shipped faster, not slower, than co-located teams.", REMOTE, REMOTE, ()),
    ("'not only' adds", "Remote teams not only shipped faster but also reported fewer meetings.", REMOTE, REMOTE, ()),
    ("a dozen as 12", "The audit found a dozen issues.", "We found 12 issues in the audit.", "We found 12 issues in the audit.", ()),
    ("twice as doubled", "Sign-ups rose to twice their old level.", "Sign-ups doubled after the launch.", "Sign-ups doubled after the launch.", ()),
    ("one in the passage supports 1", "Scores run on a 1-5 scale.", "We score every answer from one to five.", "We score every answer from one to five.", ()),
    ("the two points back", "The generator and the critic improve together, so the two get better.", "The generator and the critic get better together over time.", "The generator and the critic get better together over time.", ()),
    ("hyphenated name written joined", "The team adapts models with kNN-MT.", "We adapt the models with KNNMT at decoding time.", "We adapt the models with KNNMT at decoding time.", ()),
    ("camel-case name written as words", "BuildKit now supports several platforms.", "The build kit now supports several platforms.", "The build kit now supports several platforms.", ()),
    ("generic acronym", "An LLM judge should give pass or fail answers.", "The judge should give a pass or fail answer.", "The judge should give a pass or fail answer.", ()),
    ("negated condition in the quote", "Loyal customers would pay extra to stay.", "Loyalty means you would pay extra to stay, and if you wouldn't pay extra the brand is worth nothing.", "if you wouldn't pay extra the brand is worth nothing", ()),
    ("year from the passage", "In 2019 the company cut its staff to 60 people.", "Back in 2019 we went from 420 people down to 60.", "we went from 420 people down to 60", ()),
    ("script present in the passage", "The guest uses the word 拥抱 for embracing change.", "我们要拥抱变化, she said: embrace change.", "embrace change", ()),
    ("'not towards X' said as 'rather than X'", "Licences were priced towards managing big fleets of laptops, rather than charging each developer.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.", ()),
    ("'not X' said as 'as opposed to X'", "Licences target fleet management, as opposed to charging each developer.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.", ()),
    ("'not towards X' said as ', not X'", "Licences were priced towards managing big fleets of laptops, not developers.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.", ()),
    ("advice against a named mistake", "Founders should hire slowly rather than fast.",
     "The biggest mistake founders make is hiring too fast. You should hire slowly.",
     "The biggest mistake founders make is hiring too fast. You should hire slowly.", ()),
    ("advice the passage gives beside a mistake", "Founders should hire slowly and check every reference.",
     "The biggest mistake founders make is hiring too fast. You should hire slowly and check every reference.",
     "The biggest mistake founders make is hiring too fast. You should hire slowly and check every reference.", ()),
    ("a hedged example kept hedged", "A translation may hallucinate a price of 500 cents where the source said 50.",
     "Say the sentence is 'this apple costs 50 cents'. The translation might have hallucinated 500 cents, and the metric barely notices.",
     "The translation might have hallucinated 500 cents, and the metric barely notices.", ()),
    ("'maybe there are' hedges nothing the claim restates", "Some features are non-negotiable, so test them first.",
     "Maybe there are some features that are non-negotiable. Test those first.",
     "Maybe there are some features that are non-negotiable. Test those first.", ()),
    ("a denial kept as a concession", "The model finds patterns by postcode and race, even if nobody gives it the applicant's race.",
     "We are not giving the model anybody's race. But it finds patterns anyway, through a postcode or a name.",
     "We are not giving the model anybody's race. But it finds patterns anyway, through a postcode or a name.", ()),
    ("a negation in the first of two joined parts", "Careful teams do not rewrite the code and ship it in one go.",
     "Careful teams don't rewrite the code and ship it in one go.", "Careful teams don't rewrite the code and ship it in one go.", ()),
    ("show title as a known name", "On Build Notes, banks are said to keep code inside the building.", DESKTOPS, DESKTOPS, ("Build Notes",)),
]

UNFAITHFUL = [
    ("dropped negation", "Founders dream up their ideas out of nowhere.", FOUNDERS, FOUNDERS, (), "negat"),
    ("inverted direction", "The cost of producing pixels is increasing every year.", PIXELS, PIXELS, (), "direction"),
    ("phrasal inversion", "Solar panel prices went up fast.", PRICES, PRICES, (), "direction"),
    ("a change moved to the other thing", "Switching off notifications made writing output fall and stress drop.",
     QUIET, QUIET, (), "direction"),
    ("a comment the passage does not make", ("Sentiment models train in five minutes on a few thousand samples. "
     "This can save time and resources for small teams."), QUICK, QUICK, (), "comment"),
    ("cheaper turned pricier", "Batteries are getting more expensive.", PRICES, PRICES, (), "direction"),
    ("a benefit the passage never names", "The primary benefit of the assistant is the increase in code lines.", LINES, LINES, (), "primary"),
    ("a benefit without a positive word", "The benefit of the assistant is more committed lines of code.", LINES, LINES, (), "benefit"),
    ("a mislabelled guest", "Priya Raman, a tech investor, says banks avoid laptops.", DESKTOPS, DESKTOPS, ("Priya Raman",), "investor"),
    ("Chinese word in English text", "Teams should 拥抱 the change.", REMOTE, REMOTE, (), "cjk"),
    ("Cyrillic word in English text", "Remote teams shipped faster and had fewer встречи.", REMOTE, REMOTE, (), "cyrillic"),
    ("wrong percentage", "Each engineer commits about 40% more lines of code.", LINES, LINES, (), "40"),
    ("wrong scale", "The company passed $2 million in revenue.", REVENUE, REVENUE, (), "2 million"),
    ("wrong number word", "Three quarters of the staff are engineers.", REVENUE, REVENUE, (), "three"),
    ("invented name", "Banks, like Google, run virtual desktops.", DESKTOPS, DESKTOPS, (), "Google"),
    ("invented acronym", "Banks run virtual desktops with RLHF.", DESKTOPS, DESKTOPS, (), "RLHF"),
    ("invented year", "Since 2021, each engineer commits 30% more lines.", LINES, LINES, (), "2021"),
    ("inserted negation", "Remote teams did not ship faster than co-located ones.", REMOTE, REMOTE, (), "negation"),
    ("a mistake read back as advice", "As a founder, it's important to focus on what you like doing, even if it's not best for the company.",
     "As a founder, you sometimes err towards focusing on what you like doing, even if that's not what's best for the company. "
     "So there have been times when my focus really needed to be on sales.",
     "As a founder, you sometimes err towards focusing on what you like doing, even if that's not what's best for the company.",
     (), "mistake"),
    ("'not X' dropped before 'rather than Y'", "Licences were priced towards charging each developer, rather than managing big fleets.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of laptops.", (), "negat"),
    ("', not Y' that denies something else", "Licences were priced towards charging each developer, not laptops.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of desktops.",
     "So the licence was priced not towards charging the developer, but towards managing big fleets of desktops.", (), "negat"),
    ("a hedged example told as an event", "The translation hallucinated a price of 500 cents for an apple.",
     "Say the sentence is 'this apple costs 50 cents'. The translation might have hallucinated 500 cents, and the metric barely notices.",
     "The translation might have hallucinated 500 cents, and the metric barely notices.", (), "hedges"),
    ("a concession that denies something else", "The model is given the applicant's race, even though nobody checks its output.",
     "We are not giving the model anybody's race. But it finds patterns anyway, through a postcode or a name.",
     "We are not giving the model anybody's race. But it finds patterns anyway, through a postcode or a name.", (), "negat"),
    ("'probably' dropped", "One product manager created more stock market value than any other by refusing a button.",
     "One product manager probably created more stock market value than any other, by refusing to add a button.",
     "One product manager probably created more stock market value than any other, by refusing to add a button.", (), "hedges"),
    ("part of a group said for all of it", "The urban beekeeping community believes pesticides explain the losses.",
     "Many people in the urban beekeeping community believe pesticides explain the losses, but the data is thin.",
     "Many people in the urban beekeeping community believe pesticides explain the losses.", (), "part of"),
    ("'X, not Y' read as denying X", "The four-day week is not linked to the union's pilot, but to the research.",
     "The four-day week came out of a union's pilot, not out of the research. Firms copied it anyway.",
     "The four-day week came out of a union's pilot, not out of the research.", (), "negation"),
    # Known blind spot, kept visible: a negative word anywhere in the passage sentence ("fewer") counts as
    # support, so a "not" added to a sentence that also says "fewer" goes through.
    ("inserted never", "Alert drivers never grab the wheel quickly.", "Drivers who stay alert grab the wheel quickly.", "Drivers who stay alert grab the wheel quickly.", (), "negation"),
    ("a negation kept for another verb", "Shoppers forgot the pack and did not complain.",
     "Shoppers forgive a price rise. They do not forget a smaller pack.",
     "Shoppers forgive a price rise. They do not forget a smaller pack.", (), "negat"),
    ("a plural of what is denied", "Most companies have the capacity.",
     "We know that not every company has the capacity to train models this big.",
     "We know that not every company has the capacity to train models this big.", (), "negat"),
    ("a former CEO nobody mentioned", "Priya Raman, a former CEO, says banks avoid laptops.", DESKTOPS, DESKTOPS, ("Priya Raman",), "ceo"),
    ("a name not among the speakers", "Lenny Rachitsky says banks avoid laptops.", DESKTOPS, DESKTOPS, ("Priya Raman",), "Rachitsky"),
]


@pytest.mark.parametrize(("claim", "passage", "quote", "known"), [c[1:] for c in FAITHFUL], ids=[c[0] for c in FAITHFUL])
def test_faithful_claims_pass(claim, passage, quote, known):
    assert faithfulness_problems(claim, passage, quote, known_names=known) == []


@pytest.mark.parametrize(
    ("claim", "passage", "quote", "known", "reason"), [c[1:] for c in UNFAITHFUL], ids=[c[0] for c in UNFAITHFUL]
)
def test_unfaithful_claims_are_flagged_with_a_readable_reason(claim, passage, quote, known, reason):
    problems = faithfulness_problems(claim, passage, quote, known_names=known)
    assert any(reason.lower() in p.lower() for p in problems), problems


def test_the_reasons_say_what_is_wrong():
    assert faithfulness_problems("Each engineer commits 40% more lines.", LINES, LINES) == ['number "40%" is not in the passage']


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("This insight highlights the importance of measuring quality.", True),
        ("This is important because it shows that teams can move faster.", True),
        ("This matters for anyone building a product.", True),
        ("It underscores the significance of good data.", True),
        ("The point speaks to the value of patience.", True),
        ("A valuable lesson for anyone looking to scale.", True),
        ("This is a powerful indicator of genuine interest in the product.", True),
        ("A long angry reply is a sign of a buyer who cares.", False),
        ("Cheaper pixels let small studios compete with big ones.", False),
        ("Regressions reach users unless evals catch them first.", False),
        ("Banks cannot adopt a tool that lacks virtual-desktop support.", False),
    ],
)
def test_generic_why_is_recognised(text, generic):
    assert is_generic_why(text) is generic


@pytest.mark.parametrize(
    ("claim", "about_speaker", "stripped"),
    [
        ("Speaker 2 suggests that the main gain from AI is more code.", True, "The main gain from AI is more code."),
        ("The guest believes most founders build from experience.", True, "Most founders build from experience."),
        ("Priya Raman argues that banks will never hand out laptops.", True, "Banks will never hand out laptops."),
        ("Lenny is advocating for better evals.", True, None),  # a noun phrase follows: nothing to keep
        ("Chen explains how the data is labelled.", True, None),  # "how ..." is no statement
        ("She notes the cost of pixels is falling.", True, "The cost of pixels is falling."),
        ("Research suggests that sleep helps memory.", False, None),
        ("Lenny shares his view that most roadmaps are wishes.", True, None),  # a noun phrase follows
        ("Hugging Face is sharing $10 million worth of GPU compute with small labs.", False, None),  # an act
        ("Most founders say ideas come slowly.", False, None),
        ("Benchmarks are a poor proxy for real work.", False, None),
        # two that-clauses: the second "that" goes with the attribution
        ("Scott believes Docker can be complex and that developers need training to use it well.", True,
         "Docker can be complex and developers need training to use it well."),
        # "suggests waiting ...": a gerund object, no statement ("Waiting for the right time ..." has no verb)
        ("Sean Goedecke suggests waiting for the right time to make reliability projects happen.", True, None),
        ("Sean believes doing one useful thing a week puts you ahead of most engineers.", True,
         "Doing one useful thing a week puts you ahead of most engineers."),
        # "believes in having ...": a prepositional object, no clause ("In having huge ambitions ..." was kept once)
        ("Edwin Chen believes in having huge ambitions and doubling down on an idea.", True, None),
        # "expects X to ...": an object and an infinitive ("Automation to be high level, but ..." reached a top 5)
        ("Adam expects automation to be high level, but drivers are slow to take over.", True, None),
        ("Nestor Maslej expects the cost of training to keep rising.", True, None),
        ("Nestor Maslej expects prices will have to fall within two years.", True,
         "Prices will have to fall within two years."),
    ],
)
def test_speaker_as_subject_and_strip_attribution(claim, about_speaker, stripped):
    assert speaker_as_subject(claim) is about_speaker
    assert strip_attribution(claim) == (stripped or claim)


def test_a_reason_the_passage_never_gives_is_an_addition():
    passage = "These environments really showcase where models are weak at end-to-end tasks in the real world."
    invented = "Models are weak at real-world tasks due to their lack of experience with ambiguous work."
    assert any("reason" in p for p in faithfulness_problems(invented, passage))
    assert not faithfulness_problems("Models are weak at end-to-end tasks in the real world.", passage)
    argued = passage + " That's because nobody trains them on whole workflows."
    assert not faithfulness_problems("Models are weak at real-world tasks because nobody trains them on whole "
                                     "workflows.", argued)


def test_a_consequence_hung_on_the_claim_needs_its_verb_in_the_passage():
    passage = "We sit between the companies that pay for support and the maintainers who write the code."
    invented = "The firm sits between paying companies and maintainers, allowing them to find support in one place."
    problems = faithfulness_problems(invented, passage)
    assert any("consequence" in p for p in problems), problems
    assert without_added_clause(invented, problems[0]) == "The firm sits between paying companies and maintainers."
    said = passage + " That allows the companies to find support in one place."
    assert not faithfulness_problems(invented, said)


def test_a_consequence_the_passage_never_gives_is_an_addition_and_is_cut():
    passage = "Every suggestion interrupts you and has to be checked. In our lab people took 19 percent longer."
    invented = "Every suggestion interrupts you and has to be checked, leading to a 19 percent longer task."
    problems = faithfulness_problems(invented, passage)
    assert any("reason" in p for p in problems), problems
    assert without_added_clause(invented, problems[0]) == "Every suggestion interrupts you and has to be checked."
    defined = ("Overfitting is when a model is trained for one narrow set of circumstances and not for the variety it "
               "meets. The tanks weren't moving in training 'cause fuel cost money.")  # causal wording, elsewhere
    ending = ("Overfitting is training for one narrow set of circumstances and not for the variety a model meets, "
              "leading to poor performance in the field.")
    problems = faithfulness_problems(ending, defined)
    assert any("reason" in p for p in problems), problems
    assert without_added_clause(ending, problems[0]) == ("Overfitting is training for one narrow set of circumstances "
                                                         "and not for the variety a model meets.")
    told = "The company grew and then pivoted in 2019, and that meant a hard change in how we looked at things."
    assert not faithfulness_problems("The company pivoted in 2019, leading to a hard change in how it looked at "
                                     "things.", told)


@pytest.mark.parametrize(("claim", "cut"), [
    ("Models are weak at real-world tasks in practice due to their lack of experience with ambiguous work.",
     "Models are weak at real-world tasks in practice."),
    ("Teams ship faster. Remote teams ship much faster than others because they write things down. Meetings drag.",
     "Teams ship faster. Remote teams ship much faster than others. Meetings drag."),
    ("Prices fell last year because demand collapsed.", None),  # five words left: too little to stand alone
    ("Remote engineering teams in large companies often lead to better documentation.", None),  # ends on "often"
    ("Remote teams ship faster than teams that meet every morning.", None),  # no reason to cut
    ("The statement about GPUs and structured data processing has led to a shift in research.", None),  # "... has."
])
def test_an_invented_reason_is_cut_only_when_a_whole_clause_is_left(claim, cut):
    assert without_added_clause(claim, ADDED_REASON) == cut


def test_an_invented_concession_is_a_problem_and_is_cut_like_a_reason():
    passage = ("If you do one genuinely useful thing a week, that puts you ahead of most engineers. It compounds: "
               "fifty useful things a year is a lot of value.")
    claim = ("One genuinely useful thing a week puts an engineer ahead of most others, even if it cannot be done "
             "every week.")
    problems = faithfulness_problems(claim, passage)
    assert problems and problems[0].startswith(ADDED_CONCESSION)
    cut = without_added_clause(claim, problems[0])
    assert cut == "One genuinely useful thing a week puts an engineer ahead of most others."
    assert not faithfulness_problems(cut, passage)
    conceded = passage + " Even if you only manage it every other week, you are ahead."
    assert not [p for p in faithfulness_problems(claim, conceded) if p.startswith(ADDED_CONCESSION)]


def test_a_change_over_time_needs_the_passage_to_tell_of_one():
    passage = ("Pricing power is the ability to raise prices without losing customers, and it was never as common as "
               "those two years made it look. When all the competitors raise their prices together, everyone seems "
               "to have pricing power. Now that inflation has cooled, shoppers compare again.")
    invented = "Pricing power is no longer as common as it was in the past, especially when competitors raise prices."
    assert any("no change" in p for p in faithfulness_problems(invented, passage))
    said = "Pricing power was never as common as it looked: when all competitors raise prices, everyone seems to have it."
    assert not faithfulness_problems(said, passage)
    changed = passage + " Pricing power used to be common among grocery brands; these days it is rare."
    assert not faithfulness_problems("Pricing power used to be common among grocery brands.", changed)
    assert not faithfulness_problems("Pricing power can be used to raise prices without losing customers.", passage)


def test_words_in_quotation_marks_must_be_the_speaker_s():
    passage = ("If you can have one hard talk with your manager and ask, can we agree that I'm not trying to match "
               "your taste, I'm trying to match the taste of our 400 customers, every later meeting goes better.")
    misquoted = "One hard talk with a manager, saying 'we can't agree on taste', makes later meetings go better."
    assert any("quotes" in p for p in faithfulness_problems(misquoted, passage))
    invented_term = 'Matching the customers\' taste is what he calls "taste alignment".'
    assert any("taste alignment" in p for p in faithfulness_problems(invented_term, passage))
    def misquotes(claim: str) -> bool:
        return any("quotes" in p for p in faithfulness_problems(claim, passage))

    # the speaker's words, one spoken word left out, in double or single quotation marks
    assert not misquotes('One hard talk helps: "I\'m trying to match the taste of 400 customers".')
    assert not misquotes("Ask your manager 'can we agree that I'm not trying to match your taste'.")
    # apostrophes are not quotation marks
    assert not misquotes("The customers' taste, not the manager's, is the one to match.")


def test_a_view_the_speaker_reports_or_doubts_is_not_stated_as_fact():
    passage = ("Some people are saying, and I don't know if I believe it, that plain English is the new programming "
               "language for coding agents. What I am sure of is that the instructions must stay readable by people.")
    flat = "Plain English is the new programming language for coding agents."
    assert any("reports or doubts" in p for p in faithfulness_problems(flat, passage))
    hedged = "Some argue that plain English is the new programming language for coding agents."
    assert not [p for p in faithfulness_problems(hedged, passage) if "reports or doubts" in p]
    own = "Instructions given to coding agents must stay readable by people."
    assert not [p for p in faithfulness_problems(own, passage) if "reports or doubts" in p]


def test_good_at_a_thing_where_the_passage_says_bad_at_it_is_inverted():
    passage = ("At the start the generator is terrible at drawing horses and the critic is terrible at telling a "
               "horse from noise, and that is fine: they improve together.")
    inverted = "The critic network is better at telling a horse from noise than a human is."
    assert any("at telling" in p for p in faithfulness_problems(inverted, passage))
    assert not [p for p in faithfulness_problems("The critic is terrible at telling a horse from noise at first.",
                                                 passage) if "inverted" in p]
    both = passage + " Later the critic gets good at telling them apart."
    assert not [p for p in faithfulness_problems(inverted, both) if "at telling" in p]
    # a negation turns the judgement round
    handover = "Drivers who stopped paying attention aren't good at taking over quickly."
    assert any("at taking" in p for p in faithfulness_problems("Drivers are good at taking over quickly.", handover))
    assert not [p for p in faithfulness_problems("Drivers are bad at taking over quickly.", handover) if "at taking" in p]


def test_a_change_by_an_amount_needs_the_passage_to_give_that_amount_of_change():
    passage = ("With the shared cache you get a lot of speed: instead of taking 20 minutes for your build, you take "
               "two seconds. And latency went down by 40 percent once the cache sat next to the runners.")
    def misread(claim: str) -> bool:
        return any("amount of change" in p for p in faithfulness_problems(claim, passage))

    assert misread("The shared cache speeds up builds by two seconds.")  # they now take two seconds
    assert not misread("The shared cache cuts a 20-minute build to two seconds.")
    assert not misread("Latency fell by about 40% once the cache sat next to the runners.")
    # "by" naming who does something is no change
    used = "Docker Desktop is used for free by 13.5 million developers, and the engine is pulled 30 million times."
    assert not [p for p in faithfulness_problems("Docker Desktop is downloaded for free by 13.5 million developers.",
                                                 used) if "amount of change" in p]
