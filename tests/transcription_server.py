"""TranscriptionServer: a small real OpenAI-compatible speech-to-text server for tests, on 127.0.0.1.

It answers `POST /v1/audio/transcriptions` the way OpenAI does - multipart form in, Bearer key checked,
413 over its upload limit, OpenAI-style JSON errors - and transcribes the upload with a real Whisper
model (pass `podsight.asr.load_transcriber("whisper-tiny.en", cache_dir)`). It is not a fake of the
model; only `script` lets a test inject exact failures (a 503, a malformed body) before real answers.

    with TranscriptionServer(tiny, api_key="k", max_upload_bytes=30_000) as server:
        OpenAITranscriber(server.base_url, api_key="k").transcribe(path)
        server.requests  # [Upload(size=..., fields={"model": ..., ...}, file_name=..., file_size=...)]

`verbose=False` makes it answer only `{"text": ...}` whatever was asked (like some servers do).
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from podsight.asr import AudioError, Transcriber, TranscriptionError

PATH = "/v1/audio/transcriptions"
LANGUAGE_NAMES = {"en": "english", "fr": "french", "de": "german"}  # OpenAI names the language


@dataclass
class Upload:
    """One request the server received."""

    size: int  # bytes of the whole request body (the multipart form)
    headers: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)  # form fields other than the file
    file_name: str | None = None
    file_size: int = 0


Answer = tuple[int, Any]  # (status, body): a dict is sent as JSON, bytes as is labelled JSON, str as text
Scripted = Answer | Callable[[], Answer]  # a callable is called when its turn comes (to stall, say)


class TranscriptionServer:
    """Context manager serving `.base_url` (ends in /v1) and recording `.requests`."""

    def __init__(self, transcriber: Transcriber, *, api_key: str | None = "test-key",
                 max_upload_bytes: int = 25 * 1024 * 1024, verbose: bool = True,
                 script: Iterable[Scripted] = ()):
        self.transcriber = transcriber
        self.api_key, self.max_upload_bytes, self.verbose = api_key, max_upload_bytes, verbose
        self.script = list(script)  # answered first, in order, to requests that pass the checks
        self.requests: list[Upload] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> TranscriptionServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """What OpenAI would answer to this request. Every request is recorded, refused ones too."""
        upload, audio = _parse_form(headers, body)
        with self._lock:
            self.requests.append(upload)
        if path != PATH:
            return _error(404, f"Invalid URL (POST {path})", "invalid_request_error")
        if len(body) > self.max_upload_bytes:
            return _error(413, f"Maximum content size limit ({self.max_upload_bytes}) exceeded "
                               f"({len(body)} bytes read)", "server_error")
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        with self._lock:  # one transcription at a time: the model is shared
            if self.script:
                scripted = self.script.pop(0)
                return scripted() if callable(scripted) else scripted
            if audio is None:
                return _error(400, "you must provide a file", "invalid_request_error")
            return self._transcribe(upload, audio)

    def _transcribe(self, upload: Upload, audio: bytes) -> Answer:
        language = (upload.fields.get("language") or [None])[0]
        suffix = Path(upload.file_name or "audio").suffix
        with tempfile.TemporaryDirectory(prefix="transcription-server-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(audio)
            try:
                result = self.transcriber.transcribe(path, language=language)
            except (AudioError, TranscriptionError) as exc:
                return _error(400, f"Invalid file format or unreadable audio: {exc}", "invalid_request_error")
        fmt = (upload.fields.get("response_format") or ["json"])[0]
        if fmt == "text":
            return 200, result.text
        if fmt != "verbose_json" or not self.verbose:
            return 200, {"text": result.text}
        segments = [{"id": i, "seek": 0, "start": s.start, "end": s.end, "text": " " + s.text, "tokens": [],
                     "temperature": 0.0, "avg_logprob": -0.3, "compression_ratio": 1.2, "no_speech_prob": 0.01}
                    for i, s in enumerate(result.segments)]
        return 200, {"task": "transcribe", "language": LANGUAGE_NAMES.get(result.language, result.language),
                     "duration": result.duration_s, "text": result.text, "segments": segments}


def _error(status: int, message: str, kind: str, code: str | None = None) -> Answer:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _parse_form(headers: dict[str, str], body: bytes) -> tuple[Upload, bytes | None]:
    """Split a multipart/form-data body into its fields and the uploaded file (stdlib email parser)."""
    content_type = headers.get("content-type", "")
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    upload, audio = Upload(size=len(body), headers=headers), None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            upload.file_name, upload.file_size, audio = part.get_filename(), len(payload), payload
        elif name:
            upload.fields.setdefault(name, []).append(payload.decode("utf-8", "replace"))
    return upload, audio


def _make_handler(server: TranscriptionServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # read all, like a proxy
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer = server.answer(self.path, headers, body)
            # bytes are sent labelled as JSON (a server whose JSON is broken), str as plain text
            content_type = "text/plain; charset=utf-8" if isinstance(answer, str) else "application/json"
            data = json.dumps(answer).encode() if isinstance(answer, dict) else (
                answer.encode() if isinstance(answer, str) else answer)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler
