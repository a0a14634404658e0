"""Render a realistic digest email and photograph it in headless Chromium, as a reader would see it.

    .venv/bin/python docs/make_email_screenshot.py      # writes docs/email-desktop.png, docs/email-mobile.png

The digest is hand-made from the demo's shows (docs/ should not depend on a model run): five insights of
different kinds, one said on three shows, one disputed by another show, vote links and the unsubscribe
footer. Chromium is Debian's (`apt-get install chromium fonts-noto-color-emoji`: without the emoji font
the vote buttons show empty boxes), driven by Playwright; nothing is downloaded.
Look at both images after a change to podsight/digest/templates/digest.html.j2.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from podsight.digest.render import render_html
from podsight.records import Digest, DigestItem, Source

HERE = Path(__file__).parent
WIDTHS = {"desktop": 600, "mobile": 375}  # the classic email column, and an iPhone SE / mini screen
BASE = "https://podsight.example.org"
AUDIO = "https://cdn.example.org/audio"


def _votes(insight_id: int) -> dict[str, str]:
    return {"vote_up_url": f"{BASE}/feedback/eyJzIjoxLCJpIjox{insight_id}.up",
            "vote_down_url": f"{BASE}/feedback/eyJzIjoxLCJpIjox{insight_id}.down"}


def _items() -> tuple[DigestItem, ...]:
    sleep_sources = (
        Source("The Rested Mind", "What one bad night really costs - Dr. Amara Osei", "Dr. Amara Osei",
               "Seventeen hours without sleep and your reaction times look like you've had a drink.",
               f"{AUDIO}/bad-night.mp3#t=754"),
        Source("Ledger Lines", "Pricing power when customers push back - with Owen Hartley", "Owen Hartley",
               "Our on-call rota changed once we learnt that tired people decide like tipsy people.",
               f"{AUDIO}/pricing-power.mp3#t=1322"),
    )
    dispute = Source("Ledger Lines", "The productivity paradox, again - with Élise Fontaine", "Élise Fontaine",
                     "Experienced developers were 14 percent slower when they used an AI coding assistant, "
                     "even though they believed it made them faster.", f"{AUDIO}/productivity-paradox.mp3#t=418",
                     reason="a controlled trial found experienced developers slower, not faster")
    return (
        DigestItem(1, "After 17 hours awake, people react about as slowly as with a 0.05% blood alcohol level.",
                   "On-call engineers making fixes at 2 a.m. are effectively impaired.",
                   "after 17 hours awake, your reaction times are about what you'd see at a blood alcohol "
                   "level of 0.05 percent", "Marcus Bell", "data_point", 1312, "Tokens and Tradeoffs",
                   "The on-call hangover, with Marcus Bell", f"{AUDIO}/on-call-hangover.mp3#t=1312", 0.91,
                   also_said=sleep_sources, **_votes(1)),
        DigestItem(2, "Teams using an AI coding assistant merged 26% more pull requests per week.",
                   "A headline number vendors will quote; another study measured the opposite.",
                   "the teams using an AI coding assistant merged 26 percent more pull requests per week",
                   "Tomas Lindqvist", "claim", 2417, "Tokens and Tradeoffs",
                   "Do AI coding assistants make teams faster? With Tomas Lindqvist",
                   f"{AUDIO}/ai-assistants.mp3#t=2417", 0.84, disputed_by=(dispute,), **_votes(2)),
        DigestItem(3, "A 10-minute walk after dinner blunts the blood-sugar spike of the meal.",
                   "Cheap, easy habit with measurable effect.",
                   "ten minutes of walking after you eat flattens that glucose curve noticeably",
                   "Dr. Rafael Moreno", "advice", 380, "The Rested Mind",
                   "Ten minutes after dinner - Dr. Rafael Moreno", f"{AUDIO}/walk-after-dinner.mp3#t=380", 0.77,
                   **_votes(3)),
        DigestItem(4, "Within two years, most code completion will run on a laptop-sized model, not in the cloud.",
                   "Privacy and cost of developer tools would change.",
                   "I'd bet that in two years the default completion model lives on your machine",
                   "Priya Raman", "prediction", 3605, "Tokens and Tradeoffs",
                   "Small models, your own laptop: Priya Raman on local inference", None, 0.71, **_votes(4)),
        DigestItem(5, "Raising prices 8% lost only 2% of customers, because the product was tied to their payroll.",
                   "", "we put prices up eight percent and lost about two percent of accounts", None, "story", 95,
                   "Ledger Lines", "Pricing power when customers push back - with Owen Hartley",
                   f"{AUDIO}/pricing-power.mp3#t=95", 0.66, **_votes(5)),
    )


def sample_digest() -> Digest:
    return Digest(subscriber_email="reader@example.com", day="2026-11-30", items=_items(),
                  unsubscribe_url=f"{BASE}/unsubscribe/cmVhZGVyQGV4YW1wbGUuY29t.c2lnbmF0dXJl")


def screenshot(html: str, out_dir: Path = HERE) -> list[Path]:
    """Full-page PNGs of `html` at each width in WIDTHS; returns their paths."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed: apt-get install -y chromium")
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        for name, width in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": 800}, device_scale_factor=1)
            page.set_content(html, wait_until="load")
            path = out_dir / f"email-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
        browser.close()
    return written


if __name__ == "__main__":
    for path in screenshot(render_html(sample_digest())):
        print(f"{path} ({path.stat().st_size // 1024} KB)")
