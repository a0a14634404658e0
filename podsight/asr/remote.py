"""A `Transcriber` backed by any OpenAI-compatible `/v1/audio/transcriptions` endpoint: OpenAI, Groq,
speaches (faster-whisper server), LocalAI, a vLLM Whisper server...

A file the endpoint accepts as it is (a format OpenAI lists, under the upload limit) is sent as it is.
Anything else - too large, too long for the model, or a format such as AAC or Opus-in-.opus - is decoded
and cut in pauses into MP3 pieces under the limit (`split.split_on_silence`); each piece's segment times
are shifted by where the piece starts, so the result reads as one transcript of the whole file.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from podsight.asr.audio import probe_duration
from podsight.asr.base import Progress, TranscriptionError, TranscriptionResult
from podsight.asr.split import MIN_PIECE_S, PIECE_BIT_RATE, Piece, max_piece_seconds, split_on_silence
from podsight.http import error_detail, retry_delay
from podsight.records import Person, Segment

logger = logging.getLogger("podsight.asr")

# What OpenAI's endpoint takes as is (its documented list); other servers take at least these.
UPLOADABLE_SUFFIXES = frozenset({".flac", ".m4a", ".mp3", ".mp4", ".mpeg", ".mpga", ".oga", ".ogg", ".wav", ".webm"})
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
UPLOAD_MARGIN = 0.9  # of the limit: servers count the multipart envelope, some count in MiB, some in MB
FORM_BYTES = 1_024  # the multipart fields and boundaries around the file
EXCERPT_CHARS = 200
# OpenAI's verbose_json names the language ("english"); records carry ISO 639-1 codes (Whisper's set).
_LANGUAGE_CODES = dict(pair.split(":")[::-1] for pair in (
    "en:english zh:chinese de:german es:spanish ru:russian ko:korean fr:french ja:japanese pt:portuguese "
    "tr:turkish pl:polish ca:catalan nl:dutch ar:arabic sv:swedish it:italian id:indonesian hi:hindi "
    "fi:finnish vi:vietnamese he:hebrew uk:ukrainian el:greek ms:malay cs:czech ro:romanian da:danish "
    "hu:hungarian ta:tamil no:norwegian th:thai ur:urdu hr:croatian bg:bulgarian lt:lithuanian la:latin "
    "mi:maori ml:malayalam cy:welsh sk:slovak te:telugu fa:persian lv:latvian bn:bengali sr:serbian "
    "az:azerbaijani sl:slovenian kn:kannada et:estonian mk:macedonian br:breton eu:basque is:icelandic "
    "hy:armenian ne:nepali mn:mongolian bs:bosnian kk:kazakh sq:albanian sw:swahili gl:galician mr:marathi "
    "pa:punjabi si:sinhala km:khmer sn:shona yo:yoruba so:somali af:afrikaans oc:occitan ka:georgian "
    "be:belarusian tg:tajik sd:sindhi gu:gujarati am:amharic yi:yiddish lo:lao uz:uzbek fo:faroese "
    "ht:haitian_creole ps:pashto tk:turkmen nn:nynorsk mt:maltese sa:sanskrit lb:luxembourgish my:myanmar "
    "bo:tibetan tl:tagalog mg:malagasy as:assamese tt:tatar haw:hawaiian ln:lingala ha:hausa ba:bashkir "
    "jw:javanese su:sundanese yue:cantonese"
).split())
_KNOWN_CODES = frozenset(_LANGUAGE_CODES.values())


class _Refused(TranscriptionError):
    """The endpoint would not take the file's format (400/415): for an original file, a reason to
    re-encode it rather than to fail."""


class OpenAITranscriber:
    """Speech-to-text over HTTP. `max_upload_bytes`: the endpoint's limit (OpenAI and Groq's free tier:
    25 MB). `max_piece_s`: the longest audio the model takes in one request, where it has a limit
    (gpt-4o-transcribe: about 1400 s); None for none. `work_dir`: where pieces are written (a temporary
    folder inside it, always removed); None for the system's temporary folder."""

    def __init__(self, base_url: str, *, api_key: str | None, model: str = "whisper-1",
                 max_upload_bytes: int = 25 * 1024 * 1024, max_piece_s: float | None = None,
                 timeout_s: float = 600.0, user_agent: str = "podsight", retries: int = 2,
                 backoff_s: float = 1.0, work_dir: Path | None = None):
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/audio/transcriptions"
        self.model = model
        self.name = f"openai:{model}"
        self.max_upload_bytes, self.max_piece_s = max_upload_bytes, max_piece_s
        self.piece_s = _piece_seconds(max_upload_bytes, max_piece_s)
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self.work_dir = work_dir
        headers = {"User-Agent": user_agent} | ({"Authorization": f"Bearer {api_key}"} if api_key else {})
        # Uploads of many MB over slow links: the timeout is per read/write, connecting should be quick.
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s, connect=15.0))

    @property
    def options(self) -> dict[str, Any]:
        """The options in force, recorded with every result."""
        return {"endpoint": self.base_url, "model": self.model, "max_upload_bytes": self.max_upload_bytes,
                "max_piece_s": self.max_piece_s, "piece_bit_rate": PIECE_BIT_RATE}

    def transcribe(self, path: Path, *, language: str | None = None, progress: Progress | None = None,
                   persons: Sequence[Person] = ()) -> TranscriptionResult:
        """Transcribe `path`; see `podsight.asr.base.Transcriber`. The endpoints return no voices, so
        `persons` is not used: segments carry no speaker."""
        path = Path(path)
        total = probe_duration(path)  # unusable audio fails here, before any upload
        language = _normalise_language(language)
        segments, detected, pieces = None, None, 1
        if self._uploadable_as_is(path, total):
            try:
                segments, detected = self._transcribe_piece(Piece(path, 0.0, total), language)
            except _Refused as exc:
                logger.warning("%s; re-encoding %s", exc, path.name)
        if segments is None:
            segments, detected, pieces = self._transcribe_in_pieces(path, total, language, progress)
        if progress:
            progress(total, total)
        return TranscriptionResult(segments=segments, language=language or detected or "en", duration_s=total,
                                   model=self.name, options=self.options | {"pieces": pieces})

    def close(self) -> None:
        self._client.close()

    def _uploadable_as_is(self, path: Path, total_s: float) -> bool:
        small = path.stat().st_size + FORM_BYTES <= self.max_upload_bytes * UPLOAD_MARGIN
        short = self.max_piece_s is None or total_s <= self.max_piece_s
        return small and short and path.suffix.lower() in UPLOADABLE_SUFFIXES

    def _transcribe_in_pieces(self, path: Path, total: float, language: str | None,
                              progress: Progress | None) -> tuple[list[Segment], str | None, int]:
        segments: list[Segment] = []
        detected, count = None, 0
        with self._pieces(path, total) as pieces:
            for piece in pieces:
                if piece.path.stat().st_size + FORM_BYTES > self.max_upload_bytes:
                    raise TranscriptionError(f"a piece of {path.name} encoded larger than the upload limit "
                                             f"({self.max_upload_bytes:,} bytes); raise the limit")
                found, detected = self._transcribe_piece(piece, language or detected)
                segments += found
                count += 1
                if progress:
                    progress(min(piece.start_s + piece.duration_s, total), total)
        logger.info("transcribed %s in %d pieces of up to %.0f s", path.name, count, self.piece_s)
        return segments, detected, count

    @contextlib.contextmanager
    def _pieces(self, path: Path, total: float) -> Iterator[Iterator[Piece]]:
        """The pieces of `path`, in a temporary folder removed on the way out, whatever happens."""
        if self.work_dir is not None:
            Path(self.work_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="podsight-asr-") as tmp:
            pieces = split_on_silence(path, Path(tmp), total_s=total, max_piece_s=self.piece_s)
            with contextlib.closing(pieces):
                yield pieces

    def _transcribe_piece(self, piece: Piece, language: str | None) -> tuple[list[Segment], str | None]:
        """Upload one piece; its segments shifted to the piece's place in the whole file."""
        response = self._post(piece.path, language)
        _raise_for_status(response, self.base_url)
        body = _read_json(response, self.base_url)
        return _segments(body, piece), _language_code(body.get("language"))

    def _post(self, path: Path, language: str | None) -> httpx.Response:
        """POST the file, retrying 429/5xx and dropped connections with backoff (honouring Retry-After)."""
        fields: dict[str, Any] = {"model": self.model, "response_format": "verbose_json",
                                  "timestamp_granularities[]": ["segment"]}
        if language:
            fields["language"] = language
        for attempt in range(self.retries + 1):
            try:
                with path.open("rb") as audio:  # opened anew each attempt: a retry sends the file from byte 0
                    response = self._client.post(self.url, data=fields, files={"file": (path.name, audio)})
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise TranscriptionError(f"the speech endpoint URL {self.url!r} is not usable ({exc}); check the base "
                                         "URL (PODSIGHT_ASR_BASE_URL, e.g. https://api.openai.com/v1)") from None
            except httpx.TimeoutException:
                raise TranscriptionError(
                    f"the speech endpoint {self.url} did not answer within {self.timeout_s:g} s; "
                    "raise the timeout or lower the upload limit so pieces are shorter") from None
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise TranscriptionError(f"cannot reach the speech endpoint {self.url} ({exc or type(exc).__name__}); "
                                             "is the server running? Check PODSIGHT_ASR_BASE_URL") from None
                delay = self.backoff_s * 2**attempt
            else:
                if response.status_code not in RETRYABLE_STATUS or attempt == self.retries:
                    return response
                delay = retry_delay(response, self.backoff_s * 2**attempt, cap=120.0)
            logger.info("speech endpoint %s failed (attempt %d); retrying in %.1f s", self.url, attempt + 1, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")


def _piece_seconds(max_upload_bytes: int, max_piece_s: float | None) -> float:
    """The longest piece to cut: under the upload limit with margin, and the model's length limit."""
    budget = int(max_upload_bytes * UPLOAD_MARGIN) - FORM_BYTES
    seconds = min(max_piece_seconds(budget, PIECE_BIT_RATE), max_piece_s or float("inf"))
    if seconds < MIN_PIECE_S:
        raise TranscriptionError(
            f"an upload limit of {max_upload_bytes:,} bytes" + (f" and a piece limit of {max_piece_s:g} s"
            if max_piece_s else "") + f" leave under {MIN_PIECE_S:.0f} s of audio per upload; "
            "raise PODSIGHT_ASR_MAX_UPLOAD_MB")
    return seconds


def _normalise_language(language: str | None) -> str | None:
    """A feed's language tag as the API wants it ("en-US" -> "en"); an odd tag is dropped (detected)."""
    if not language:
        return None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code in _KNOWN_CODES:
        return code
    logger.warning("language %r is not one Whisper knows; the endpoint will detect the language", language)
    return None


def _language_code(value: Any) -> str | None:
    """ISO 639-1 from what the endpoint said: OpenAI says "english", speaches and Groq say "en"."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip().lower().replace(" ", "_")
    return value if value in _KNOWN_CODES else _LANGUAGE_CODES.get(value)


def _segments(body: dict, piece: Piece) -> list[Segment]:
    """Segments of one answer, shifted by the piece's start and clamped to the piece (Whisper may stamp
    past the end of the audio it was given). An answer with text but no usable segments (some servers
    ignore verbose_json) becomes one segment spanning the piece."""
    end_of_piece = piece.start_s + piece.duration_s
    found = []
    for raw in body.get("segments") or []:
        try:
            start, end, text = float(raw["start"]), float(raw["end"]), str(raw["text"]).strip()
        except (KeyError, TypeError, ValueError):
            found = None  # a segment without times: trust none of them, keep the text
            break
        start, end = min(piece.start_s + max(start, 0.0), end_of_piece), min(piece.start_s + end, end_of_piece)
        if text:
            found.append(Segment(start=round(start, 2), end=round(max(end, start), 2), text=text))
    if found:
        return found
    text = str(body.get("text") or "").strip()
    return [Segment(start=round(piece.start_s, 2), end=round(end_of_piece, 2), text=text)] if text else []


def _read_json(response: httpx.Response, base_url: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not ("text" in body or "segments" in body):
        raise TranscriptionError(
            f"the speech endpoint {base_url} did not return a transcription (got {response.text[:EXCERPT_CHARS]!r}); "
            "is PODSIGHT_ASR_BASE_URL an OpenAI-compatible /v1 URL?")
    return body


def _raise_for_status(response: httpx.Response, base_url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = error_detail(response, EXCERPT_CHARS)
    if status in (401, 403):
        raise TranscriptionError(f"the speech endpoint {base_url} refused the API key (HTTP {status}: {detail}); "
                                 "check the API key in PODSIGHT_ASR_API_KEY")
    if status == 404:
        raise TranscriptionError(f"the speech endpoint {base_url} answered 404 ({detail}); check the base URL "
                                 "(PODSIGHT_ASR_BASE_URL, ending in /v1) and that it serves the model "
                                 "named in PODSIGHT_ASR_API_MODEL")
    if status == 413:
        raise TranscriptionError(f"the speech endpoint {base_url} refused the upload as too large ({detail}); "
                                 "lower PODSIGHT_ASR_MAX_UPLOAD_MB to the endpoint's limit")
    if status in (400, 415) and any(word in detail.lower() for word in ("format", "decode", "corrupt", "unsupported")):
        raise _Refused(f"the speech endpoint {base_url} could not read the audio (HTTP {status}: {detail})")
    raise TranscriptionError(f"the speech endpoint {base_url} answered HTTP {status}: {detail}")
