"""Errors shown to users. Each message says what went wrong and, where there is one, the fix."""


class PodsightError(Exception):
    """Base class: anything podsight raises on purpose."""


class ConfigError(PodsightError):
    """A setting is missing or invalid."""


class FetchError(PodsightError):
    """An HTTP fetch failed (status, timeout, size cap, redirect loop...)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class FeedParseError(PodsightError):
    """The document is not an RSS or Atom feed we can read."""


class TranscriptFormatError(PodsightError):
    """A publisher transcript is in a format we cannot read."""


class LLMError(PodsightError):
    """The language model could not be reached or gave no usable answer."""


class LLMOutputError(LLMError):
    """The model answered, but not with JSON matching the schema (after the retry)."""


class LLMStatusError(LLMError):
    """The endpoint answered the request with an HTTP error; `status` says which, so a caller can tell a
    request the endpoint refuses (400: too long for the context) from an endpoint that is down (5xx)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class DeliveryError(PodsightError):
    """A digest could not be delivered (SMTP refused, ...)."""


class StagesFailed(PodsightError):
    """Some stage of a run crashed; the later stages ran all the same. `summary` holds every stage's
    counts, and {"error": ...} for each stage that crashed."""

    def __init__(self, summary: dict):
        failed = {name: counts["error"] for name, counts in summary.items() if "error" in counts}
        super().__init__("the run finished, but " + "; ".join(f"stage {name} crashed: {error}"
                                                             for name, error in failed.items()))
        self.summary = summary
