"""Benchmark: extraction prompt tokens per transcript token, counted without generating anything.

    .venv/bin/python bench/prompt_tokens.py                         # the default chunking
    .venv/bin/python bench/prompt_tokens.py --words 450 600 --overlap 40 30

Builds every prompt extraction would send for each transcript of the evaluation set, and for all seven
joined into one 31-minute episode (so the instructions are spread as over a long episode), and counts
them with the embedded model's own tokenizer (llama.cpp's /tokenize and /apply-template, in seconds). The
transcript's tokens are its spoken words only, one line per segment: speaker names, times and line
numbers all count as overhead. "computed" leaves out the instruction prefix that llama.cpp keeps in its
prompt cache from one chunk to the next (what `usage.prompt_tokens_details.cached_tokens` reports).
`podsight eval` measures the same ratios from the model's real usage, with answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from podsight.config import Settings  # noqa: E402
from podsight.eval.dataset import load_eval_set  # noqa: E402
from podsight.insights.extract import chunk_messages, prepare  # noqa: E402
from podsight.llm import EmbeddedServer, resolve_model  # noqa: E402
from podsight.records import Segment  # noqa: E402


class Counter:
    """Token counts from a running llama.cpp server."""

    def __init__(self, server: EmbeddedServer):
        self.root = server.base_url.removesuffix("/v1")
        self.client = httpx.Client(headers={"Authorization": f"Bearer {server.api_key}"}, timeout=60)

    def text(self, text: str) -> int:
        return len(self.client.post(f"{self.root}/tokenize", json={"content": text}).json()["tokens"])

    def chat(self, messages: list[dict]) -> int:
        prompt = self.client.post(f"{self.root}/apply-template", json={"messages": messages}).json()["prompt"]
        return self.text(prompt)


def one_episode(transcripts) -> list[Segment]:
    """The transcripts back to back as one episode, times shifted."""
    joined: list[Segment] = []
    offset = 0.0
    for transcript in transcripts:
        joined += [Segment(s.start + offset, s.end + offset, s.text, s.speaker) for s in transcript.segments]
        offset = joined[-1].end + 1
    return joined


def measure(counter: Counter, segments, speakers, words: int, overlap: int, per_chunk: int) -> tuple[int, int, int, int]:
    """(chunks, transcript tokens, prompt tokens, computed prompt tokens) for one transcript."""
    pieces, _, chunks, names = prepare(segments, words=words, overlap_words=overlap, speakers_hint=speakers)
    prompts = [chunk_messages(chunk, pieces, per_chunk, names) for chunk in chunks]
    sent = sum(counter.chat(messages) for messages in prompts)
    prefix = counter.chat(prompts[0][:1]) - 1 if prompts else 0  # the system turn, less its closing token
    transcript = counter.text("\n".join(s.text for s in segments))
    return len(chunks), transcript, sent, sent - prefix * max(len(prompts) - 1, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, nargs="+", default=[Settings().chunk_words])
    parser.add_argument("--overlap", type=int, nargs="+", default=[Settings().chunk_overlap_words])
    args = parser.parse_args()
    settings = Settings()
    eval_set = load_eval_set()
    cases = [(t.slug, list(t.segments), t.speakers) for t in eval_set.transcripts]
    cases.append(("all seven as one episode", one_episode(eval_set.transcripts), ()))
    with EmbeddedServer(resolve_model(settings.llm_model, settings.cache_dir)) as server:
        counter = Counter(server)
        for words, overlap in zip(args.words, args.overlap):
            print(f"\nchunks of {words} words, {overlap} overlapping ({settings.llm_model} tokenizer)")
            print(f"{'transcript':28} {'chunks':>6} {'tokens':>7} {'prompts':>8} {'sent/tok':>8} {'computed/tok':>12}")
            for slug, segments, speakers in cases:
                chunks, transcript, sent, computed = measure(counter, segments, speakers, words, overlap,
                                                             settings.insights_per_chunk)
                print(f"{slug:28} {chunks:6} {transcript:7} {sent:8} {sent / transcript:8.2f} {computed / transcript:12.2f}")


if __name__ == "__main__":
    main()
