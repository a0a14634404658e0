"""Episode audio: a safe download, a check that the file is whole audio, and bounded-memory decoding.

`download_audio` streams an enclosure to disk under a size cap, retries with backoff and resumes with an
HTTP Range request where the server allows it. `probe_duration` reads the container with PyAV (bundled
FFmpeg, already a faster-whisper dependency) so empty, non-audio and truncated files fail with a clear
`AudioError` before any model is loaded. `pcm_windows` decodes to 16 kHz mono a window at a time, so a
three-hour episode never sits in memory whole (it would be about 700 MB as float32); `prefetched` runs it
in a thread, one window ahead of the transcription.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from podsight.asr.base import AudioError
from podsight.errors import FetchError
from podsight.http import GuardedTransport, PrivateAddressError

logger = logging.getLogger("podsight.asr")

SAMPLE_RATE = 16_000  # what Whisper expects
AUDIO_SUFFIXES = frozenset({".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".webm"})
# Types that are certainly not a playable episode. Anything else is let through and judged by
# `probe_duration`: real hosts send audio as application/octet-stream, binary/octet-stream,
# application/ogg, application/x-download... and rejecting on the header alone would lose episodes.
_NOT_AUDIO_PREFIXES = ("text/", "image/", "application/json", "application/xml", "application/xhtml",
                       "application/rss", "application/atom")
_PLAYLISTS = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
                        "audio/x-mpegurl", "audio/x-scpls"})
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# The whole download, retries included. The read timeout is per socket read, so a server sending a byte
# every few seconds would otherwise hold a download (and the run) forever. 30 minutes is 600 MB (the
# default size cap) at about 330 KB/s.
DOWNLOAD_DEADLINE_S = 1800.0


class _Retryable(Exception):
    """A failure worth another attempt (network, 5xx, timeout)."""


@dataclass
class _Transfer:
    """What is on disk so far, and whether the server lets us continue from there."""

    received: int = 0
    total: int | None = None
    resumable: bool = False


def download_audio(url: str, dest_dir: Path, *, max_bytes: int, timeout_s: float, user_agent: str,
                   retries: int = 3, backoff_s: float = 1.0, deadline_s: float = DOWNLOAD_DEADLINE_S,
                   allow_private: bool = False) -> Path:
    """Download `url` into `dest_dir` and return the file's path, giving up after `deadline_s` seconds in
    all. Raises FetchError with a readable message; the partial file is removed on every failure. Unless
    `allow_private` (the `allow_private_addresses` setting), neither `url` nor any redirect on the way may
    connect to a non-public address (`podsight.http.GuardedTransport`)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=".audio-", suffix=".part")
    os.close(fd)
    part = Path(name)
    try:
        # Async inside, so the deadline can cancel a read in progress (a sync read can only time out).
        received = asyncio.run(_download_within(deadline_s, url, part, max_bytes=max_bytes, timeout_s=timeout_s,
                                                user_agent=user_agent, retries=retries, backoff_s=backoff_s,
                                                allow_private=allow_private))
        if received == 0:
            raise FetchError(f"{url} sent no audio (0 bytes)")
        final = part.with_name(part.name[1:].removesuffix(".part") + _suffix(url))
        os.replace(part, final)
        return final
    except BaseException:
        part.unlink(missing_ok=True)
        raise


async def _download_within(deadline_s: float, url: str, part: Path, *, max_bytes: int, timeout_s: float,
                           user_agent: str, retries: int, backoff_s: float, allow_private: bool) -> int:
    headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}  # byte ranges of the file itself
    transport = None if allow_private else GuardedTransport()  # checks every redirect hop as it connects
    deadline = asyncio.timeout(deadline_s)
    try:
        async with deadline, httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout_s),
                                               follow_redirects=True, max_redirects=10, transport=transport) as client:
            # (redirects followed: enclosures often hop through tracking prefixes)
            return await _download_with_retries(client, url, part, max_bytes, retries, backoff_s)
    except TimeoutError:
        if not deadline.expired():
            raise  # not ours
        raise FetchError(f"gave up on {url}: the download passed its {deadline_s:g} s deadline "
                         "(the server sends too slowly)") from None


async def _download_with_retries(client: httpx.AsyncClient, url: str, part: Path, max_bytes: int, retries: int,
                                 backoff_s: float) -> int:
    transfer = _Transfer()
    for attempt in range(retries + 1):
        try:
            await _fetch_once(client, url, part, transfer, max_bytes)
            return transfer.received
        except (httpx.TooManyRedirects, httpx.UnsupportedProtocol, httpx.InvalidURL, ValueError) as exc:
            raise FetchError(f"could not download {url}: {exc}") from None  # another try would not help
        except PrivateAddressError as exc:  # nor here: the name resolves the same way next time
            raise PrivateAddressError(f"could not download {url}: {exc}") from None
        except (_Retryable, httpx.TransportError) as exc:
            problem = _describe(exc)
            if attempt == retries:
                raise FetchError(f"could not download {url} after {retries + 1} attempts: {problem}") from None
            logger.info("audio download %s failed (%s) at %d bytes; retrying", url, problem, transfer.received)
            await asyncio.sleep(backoff_s * 2**attempt)
    raise AssertionError("unreachable")


async def _fetch_once(client: httpx.AsyncClient, url: str, part: Path, transfer: _Transfer, max_bytes: int) -> None:
    resume = transfer.received > 0 and transfer.resumable
    headers = {"Range": f"bytes={transfer.received}-"} if resume else {}
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and resume:
            if transfer.received == transfer.total:
                return  # everything had arrived before the connection dropped
            transfer.resumable = False
            raise _Retryable("the server refused to resume the download")
        _check_status(response, url)
        if response.status_code == 206 and _range_start(response) != (transfer.received if resume else 0):
            transfer.resumable = False  # wrong bytes: ask for the whole file next time
            raise _Retryable("the server resumed at the wrong byte")
        append = resume and response.status_code == 206
        if not append:
            _start_over(response, url, transfer, max_bytes)
        with part.open("ab" if append else "wb") as out:
            async for chunk in response.aiter_raw():
                if transfer.received + len(chunk) > max_bytes:
                    raise FetchError(f"{url} is larger than the {max_bytes:,}-byte cap for episode audio")
                out.write(chunk)
                transfer.received += len(chunk)


def _start_over(response: httpx.Response, url: str, transfer: _Transfer, max_bytes: int) -> None:
    """A full answer (first try, or a server that ignored our Range): check it and write from zero."""
    _check_content_type(response, url)
    length = response.headers.get("Content-Length")
    transfer.received = 0
    transfer.total = int(length) if length and length.isdigit() and response.status_code == 200 else None
    transfer.resumable = response.headers.get("Accept-Ranges", "").lower() == "bytes"
    if transfer.total is not None and transfer.total > max_bytes:
        raise FetchError(f"{url} is {transfer.total:,} bytes, over the {max_bytes:,}-byte cap for episode audio")


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status in (200, 206):
        return
    message = f"{url} answered HTTP {status} {response.reason_phrase}".rstrip()
    if status in _RETRY_STATUSES:
        raise _Retryable(message)
    raise FetchError(message, status=status)


def _check_content_type(response: httpx.Response, url: str) -> None:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type in _PLAYLISTS:
        raise FetchError(f"{url} is a streaming playlist ({content_type}), not an audio file; not supported")
    if content_type.startswith(_NOT_AUDIO_PREFIXES):
        kind = "a web page" if "html" in content_type else f"{content_type}"
        raise FetchError(f"{url} returned {kind} ({content_type}) instead of audio: the enclosure link "
                         "probably points at an error or login page")


def _range_start(response: httpx.Response) -> int | None:
    """The first byte of a 206 answer, from `Content-Range: bytes START-END/TOTAL`."""
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection mid-transfer"
    return str(exc) or type(exc).__name__


def _suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    return suffix if suffix in AUDIO_SUFFIXES else ".audio"


def import_av() -> Any:
    try:
        import av
    except ImportError:
        raise AudioError("reading audio needs PyAV: install it with: pip install 'podsight[asr]'") from None
    return av


def probe_duration(path: Path) -> float:
    """Seconds of audio in the file at `path`, from its packets (not only its header). Raises AudioError
    for a missing, empty, non-audio or truncated file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioError(f"cannot read audio file {path}: {exc.strerror}") from None
    if size == 0:
        raise AudioError(f"audio file {path.name} is empty (0 bytes)")
    av = import_av()
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path.name} has no audio stream")
            stream = container.streams.audio[0]
            declared = _header_duration(stream, size)
            span = _packet_span(container, stream, av.error.FFmpegError)
    except av.error.FFmpegError as exc:
        raise AudioError(f"{path.name} is not audio podsight can read ({exc.strerror})") from None
    if span <= 0:
        raise AudioError(f"{path.name} contains no audio")
    if declared is not None and span < 0.9 * declared - 1.0:
        raise AudioError(f"{path.name} is truncated: its header says {declared:.0f} s, its data ends at {span:.0f} s")
    return span


def _header_duration(stream: Any, size: int) -> float | None:
    """The duration the file's header declares (an MP3 frame count, an MP4 sample table...), or None.

    Without such a header FFmpeg estimates file size / bit rate: a truncated file then looks whole, and a
    VBR file without a frame count looks longer than it is; such an estimate says nothing, so it is None.
    """
    if not stream.duration:
        return None
    declared = float(stream.duration * stream.time_base)
    bit_rate = stream.codec_context.bit_rate
    if bit_rate and abs(size * 8 / bit_rate - declared) <= 0.03 * declared:
        return None
    return declared


def _packet_span(container: Any, stream: Any, damaged: type[Exception]) -> float:
    """Seconds from the first to the end of the last audio packet (demuxing only, no decoding: a few
    seconds for hours of audio). Damaged data ends the span where it starts."""
    first = last = None
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            last = max(last or 0, packet.pts + (packet.duration or 0))
    except damaged as exc:
        logger.info("audio data damaged, reading stopped there: %s", exc)
    if first is None or last is None:
        return 0.0
    return float((last - first) * stream.time_base)


def pcm_windows(path: Path, *, window_s: float = 300.0, search_s: float = 10.0) -> Iterator[tuple[float, Any]]:
    """Yield (start second, 16 kHz mono float32 samples) for consecutive windows of about `window_s`.

    Each window is cut at the quietest tenth of a second in its last `search_s` seconds, so a cut falls
    in a pause rather than through a word. Memory stays near one window (5 min: about 19 MB of samples).
    """
    import numpy as np

    window, frame = int(window_s * SAMPLE_RATE), SAMPLE_RATE // 10
    search = int(min(search_s, window_s / 2) * SAMPLE_RATE)
    pending: list[Any] = []
    pending_len, offset = 0, 0
    for chunk in decode_pcm(path):
        pending.append(chunk)
        pending_len += len(chunk)
        while pending_len >= window + frame:
            audio = np.concatenate(pending)
            cut = _quiet_cut(audio[window - search:window], frame) + window - search
            yield offset / SAMPLE_RATE, audio[:cut]
            pending, pending_len, offset = [audio[cut:]], len(audio) - cut, offset + cut
    if pending_len:
        yield offset / SAMPLE_RATE, np.concatenate(pending)


class prefetched(Iterator[Any]):  # noqa: N801 (used like a function)
    """`items` produced by a background thread, up to `depth` ahead of the consumer: decoding the next
    audio window overlaps with transcribing the current one. An exception in the producer is raised to
    the consumer; `close()` (or garbage collection) stops the producer at its next item."""

    _DONE = object()

    def __init__(self, items: Iterator[Any], *, depth: int = 1):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(items,), name="podsight-decode", daemon=True)
        self._thread.start()

    def _produce(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
            self._put(("done", None))
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer)
            self._put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> prefetched:
        return self

    def __next__(self) -> Any:
        if self._stop.is_set():
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "item":
            return value
        self._stop.set()
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        self._stop.set()
        while True:  # drop what was decoded ahead, so the producer is not blocked on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=10)

    def __del__(self) -> None:
        self._stop.set()


def _quiet_cut(tail: Any, frame: int) -> int:
    """Index (in `tail`) of the middle of its lowest-energy frame."""
    usable = len(tail) - len(tail) % frame
    energy = (tail[:usable].reshape(-1, frame) ** 2).sum(axis=1)
    return int(energy.argmin()) * frame + frame // 2


def decode_pcm(path: Path) -> Iterator[Any]:
    """Decode and resample to 16 kHz mono float32, a few seconds at a time. Undecodable frames are
    skipped (a glitch in a long episode should not cost the episode)."""
    import numpy as np

    av = import_av()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            for frame in _valid_frames(container.decode(audio=0), av.error.InvalidDataError):
                for piece in resampler.resample(frame):
                    yield piece.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
            for piece in resampler.resample(None):
                yield piece.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
    except av.error.FFmpegError as exc:
        raise AudioError(f"{Path(path).name} could not be decoded ({exc.strerror})") from None
    finally:
        del resampler
        gc.collect()  # PyAV's resampler keeps buffers until collected (faster-whisper issue 390)


def _valid_frames(frames: Iterator[Any], invalid: type[Exception]) -> Iterator[Any]:
    iterator = iter(frames)
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            return
        except invalid:
            continue
        frame.pts = None  # resample by sample count; damaged timestamps must not stop the resampler
        yield frame
