"""Builds interview.json: a made-up but realistic sleep-science interview (intro, bio, ad read, outro).

Times are computed from word counts at 2.6 words per second, as in a real conversation.
"""

import json
from pathlib import Path

H, G = "Maya Chen", "Luis Ortega"
LINES = [
    (H, "Hey everybody, welcome to the show. I'm your host, Maya Chen."),
    (H, "My guest today is Dr. Luis Ortega. He is a professor of neuroscience at the University of Lisbon, "
        "and he is the author of the bestselling book The Night Shift of the Brain."),
    (H, "He previously worked at the Sleep Research Unit in Zurich. Luis, thanks for joining me."),
    (G, "Thanks for having me, Maya. It's great to be here."),
    (H, "So let's start with the basics. Why do we sleep at all? What is the brain actually doing at night?"),
    (G, "The short answer is that sleep is when the brain files the day away. During deep sleep the "
        "hippocampus replays what you learned, and the cortex slowly stores it for the long term."),
    (G, "In our lab, people who slept after learning a list of word pairs remembered about forty percent "
        "more of them the next morning than people who stayed awake for the same eight hours."),
    (G, "So if you pull an all-nighter before an exam, you are cramming information into a brain that has "
        "no time to save it. It's like typing a long document and never pressing save."),
    (H, "That's a great image. But a lot of people say they function fine on five or six hours."),
    (G, "Almost everybody who says that is wrong, and they cannot tell. In restriction studies, people "
        "sleeping six hours a night for two weeks performed as badly on attention tests as people who had "
        "not slept at all for a full night, but they rated themselves as only slightly sleepy."),
    (G, "The tiredness stops feeling like tiredness. It just feels like your normal self, and that's the "
        "dangerous part, because you stop noticing the errors."),
    (H, "We'll get into what people can do about that in a second, but first a quick break."),
    (H, "This episode is brought to you by DreamWell mattresses. DreamWell mattresses are made with cooling "
        "gel foam so you never wake up hot."),
    (H, "Every mattress comes with a one hundred night risk-free trial and free shipping."),
    (H, "Go to dreamwell.com/maya and use code MAYA for 20% off your first order."),
    (H, "Alright, so back to the science. Luis, what should people actually change?"),
    (G, "The single most useful thing is a fixed wake-up time, even on weekends. Your internal clock "
        "anchors on morning light and on when you get up, not on when you go to bed."),
    (G, "If you sleep in three hours on Saturday, you give yourself jet lag every Monday. We call it "
        "social jet lag, and in surveys about a third of adults have two hours or more of it."),
    (G, "The second thing is light. Get outside within an hour of waking. Even a cloudy morning is "
        "ten times brighter than a well lit office."),
    (H, "What about caffeine? I drink coffee at three in the afternoon and fall asleep just fine."),
    (G, "Falling asleep is not the problem. Caffeine has a half-life of about five to six hours, so half of "
        "that afternoon coffee is still in your brain at nine in the evening."),
    (G, "You may fall asleep, but you get less deep sleep, and deep sleep is exactly the stage that stores "
        "memories. So the cost is invisible to you but it shows up in what you remember."),
    (H, "Is there anything you think will change in how we treat sleep over the next decade?"),
    (G, "I think within ten years, sleep will be measured routinely in medicine, the way blood pressure is "
        "today. Cheap wearables are already good enough to detect sleep apnea, and most cases of sleep "
        "apnea are still undiagnosed."),
    (G, "And I expect schools to start later. When a district in Seattle moved high school start times "
        "later by about an hour, students slept thirty four minutes more and their grades went up."),
    (H, "Let me push back a little. Some people are just night owls. Is that real or an excuse?"),
    (G, "It's real. Chronotype is partly genetic. A night owl forced to start work at seven is running on "
        "a clock that says it's four in the morning. The best employers let people choose their hours."),
    (H, "Luis, this has been fascinating. Where can people find you?"),
    (G, "You can find me on my website, luisortega.org, and the book is out everywhere."),
    (H, "Thanks so much for coming on. And if you enjoyed this episode, please rate and review the show "
        "wherever you get your podcasts. See you next week."),
]


def build() -> list[dict]:
    segments, clock = [], 0.0
    for speaker, text in LINES:
        duration = round(len(text.split()) / 2.6, 2)
        segments.append({"start": round(clock, 2), "end": round(clock + duration, 2), "speaker": speaker, "text": text})
        clock += duration + 0.4
    return segments


if __name__ == "__main__":
    Path(__file__).with_name("interview.json").write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
