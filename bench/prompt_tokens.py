"""Benchmark: extraction prompt tokens per transcript token, counted without generating anything.

    .venv/bin/python bench/prompt_tokens.py                         # the default chunking
    .venv/bin/python bench/prompt_tokens.py --words 450 600 --overlap 40 30

Builds every prompt extraction would send for each transcript of the evaluation set (4-6 minutes each),
and for the same transcript said `--repeat` times over (default 10: about an hour, the length of a real
episode, so the instruction is spread over as many chunks), and counts them with the embedded model's own
tokenizer (llama.cpp's /tokenize and /apply-template, in seconds). The
transcript's tokens are its spoken words only, one line per segment: speaker names, times and line
numbers all count as overhead. "computed" leaves out the instruction prefix, which llama.cpp keeps in its
prompt cache from one chunk to the next and one episode to the next, so a run computes it once (what
`usage.prompt_tokens_details.cached_tokens` reports).
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


def repeated(segments: list[Segment], times: int) -> list[Segment]:
    """The transcript `times` over, back to back, times shifted: a long episode of the same show."""
    joined: list[Segment] = []
    for _ in range(times):
        offset = joined[-1].end + 1 if joined else 0.0
        joined += [Segment(s.start + offset, s.end + offset, s.text, s.speaker) for s in segments]
    return joined


def measure(counter: Counter, segments, speakers, words: int, overlap: int, per_chunk: int) -> tuple[int, int, int, int]:
    """(chunks, transcript tokens, prompt tokens, computed prompt tokens) for one transcript."""
    pieces, _, chunks, names = prepare(segments, words=words, overlap_words=overlap, speakers_hint=speakers)
    prompts = [chunk_messages(chunk, pieces, per_chunk, names) for chunk in chunks]
    sent = sum(counter.chat(messages) for messages in prompts)
    prefix = counter.chat(prompts[0][:1]) - 1 if prompts else 0  # the system turn, less its closing token
    transcript = counter.text("\n".join(s.text for s in segments))
    return len(chunks), transcript, sent, sent - prefix * len(prompts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, nargs="+", default=[Settings().chunk_words])
    parser.add_argument("--overlap", type=int, nargs="+", default=[Settings().chunk_overlap_words])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    settings = Settings()
    transcripts = load_eval_set().transcripts
    with EmbeddedServer(resolve_model(settings.llm_model, settings.cache_dir)) as server:
        counter = Counter(server)
        for words, overlap in zip(args.words, args.overlap):
            print(f"\nchunks of {words} words, {overlap} overlapping ({settings.llm_model} tokenizer); "
                  f"prompt tokens sent / computed per transcript token")
            print(f"{'transcript':24} {'minutes':>7} {'chunks':>6} {'sent':>5} {'computed':>8}   "
                  f"{'x' + str(args.repeat) + ' minutes':>11} {'chunks':>6} {'sent':>5} {'computed':>8}")
            totals = [0, 0, 0]
            for t in transcripts:
                row = f"{t.slug:24}"
                for times in (1, args.repeat):
                    segments = repeated(list(t.segments), times)
                    chunks, tokens, sent, computed = measure(counter, segments, t.speakers, words, overlap,
                                                             settings.insights_per_chunk)
                    row += f" {segments[-1].end / 60:7.0f} {chunks:6} {sent / tokens:5.2f} {computed / tokens:8.2f}   "
                    if times > 1:
                        totals = [totals[0] + tokens, totals[1] + sent, totals[2] + computed]
                print(row)
            print(f"{'all, x' + str(args.repeat):24} {'':7} {'':6} {'':5} {'':8}   {'':11} {'':6} "
                  f"{totals[1] / totals[0]:5.2f} {totals[2] / totals[0]:8.2f}")


if __name__ == "__main__":
    main()
