"""Settings, defined once: default, type, validator, secret flag.

Layers, later wins: defaults <- `podsight.toml` <- `PODSIGHT_*` environment variables <- CLI flags.
Nothing else in podsight reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator

from podsight.errors import ConfigError
from podsight.secret import key_path, stored_key

ENV_PREFIX = "PODSIGHT_"
CONFIG_FILE_ENV = "PODSIGHT_CONFIG"


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "podsight"


class Settings(BaseModel):
    """Every setting podsight has. `podsight config show` prints them, secrets redacted."""

    model_config = {"extra": "forbid", "validate_assignment": True}

    # Where things live
    home: Path = Field(default_factory=_default_home, description="Data folder: database, cache, digests.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite in `home`.")

    # Fetching feeds and transcripts
    user_agent: str = "podsight/0.1 (+https://github.com/podsight/podsight)"
    fetch_timeout_s: float = Field(20.0, gt=0, description="Connect/read timeout per request.")
    max_feed_bytes: int = Field(15 * 1024 * 1024, gt=0, description="Size cap for a feed or transcript.")
    per_host_limit: int = Field(4, ge=1, description="Concurrent requests to one host.")
    max_concurrency: int = Field(64, ge=1, description="Concurrent requests in all.")
    max_redirects: int = Field(5, ge=0)
    fetch_deadline_s: float = Field(120.0, gt=0, description="Longest one feed or transcript fetch may take, redirects included.")
    # Checked where each socket connects, every redirect hop included (podsight.http.GuardedTransport).
    # llm_base_url and asr_base_url are not checked: the admin sets them, and they are often on localhost.
    allow_private_addresses: bool = Field(
        False, description="Let feeds, transcripts, audio and webhooks reach loopback, private and link-local "
        "addresses (127.0.0.1, 10.x, 169.254.x...). Off: such fetches are refused.")
    backoff_max_hours: float = Field(48.0, gt=0, description="Cap on the wait after repeated feed errors.")
    poll_interval_minutes: float = Field(60.0, gt=0, description="Wait between two checks of a healthy feed.")
    backfill_episodes: int = Field(3, ge=0, description="On a feed's first scan, process only its newest N.")
    max_new_episodes_per_scan: int = Field(20, ge=1, description="Per feed and scan, queue at most the newest N new "
                                           "episodes; the rest are recorded as back catalogue (a feed that "
                                           "rotates its GUIDs cannot flood the pipeline).")
    max_episode_age_days: float = Field(7.0, gt=0, description="Older episodes are recorded but not processed.")
    max_attempts: int = Field(5, ge=1, description="Tries per episode stage before it is marked failed.")
    lease_s: float = Field(600, ge=10, description="How long a worker holds an episode it claimed without a "
                           "heartbeat (renewed every third of it while it works); a dead worker's episode is "
                           "claimable again after this.")

    # Speech-to-text (episodes without a publisher transcript)
    asr_enabled: bool = Field(True, description="Transcribe audio when a feed publishes no transcript.")
    asr_model: str = Field("whisper-base", description="whisper-base, whisper-tiny.en, or a CTranslate2 model folder.")
    asr_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present, else CPU int8.")
    asr_language: str | None = Field(None, description="Spoken language (e.g. en); unset: detected per episode.")
    max_audio_bytes: int = Field(600 * 1024 * 1024, gt=0, description="Size cap for one episode's audio.")
    asr_download_deadline_s: float = Field(1800.0, gt=0, description="Longest one episode's audio download may take, retries included.")
    asr_beam_size: int = Field(5, ge=1, le=10, description="Whisper beam: 5 measured 0.157 vs 0.192 WER (tiny.en) at 70% of greedy's speed.")
    asr_compute_type: Literal["auto", "int8", "int8_float32", "float32", "float16"] = Field(
        "auto", description="Whisper's compute type; auto: int8 on CPU (2x float32's speed; on AVX2-only CPUs about "
                            "1 word in 100 more errors, README), float16 on CUDA.")
    asr_speakers: bool = Field(True, description="Tell voices apart and name them (host, guest) in ASR transcripts.")
    asr_base_url: str | None = Field(
        None, description="OpenAI-compatible /v1 endpoint for speech-to-text (OpenAI, Groq, speaches). Unset: local Whisper."
    )
    asr_api_key: SecretStr | None = Field(None, description="Key for asr_base_url, if it needs one.")
    asr_api_model: str = Field("whisper-1", description="The endpoint's speech model id, e.g. whisper-large-v3.")
    asr_max_upload_mb: float = Field(25.0, gt=0, description="The endpoint's upload limit; longer audio is split on silence.")

    # Language model
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1. Unset: embedded model."
    )
    llm_api_key: SecretStr | None = Field(None, description="Key for llm_base_url, if it needs one.")
    llm_model: str = Field("qwen2.5-coder-1.5b", description="Embedded model name, or the endpoint's model id.")
    llm_context: int = Field(4096, ge=1024, description="Context window of the embedded model.")
    llm_threads: int = Field(0, ge=0, description="CPU threads for the embedded model; 0 = all cores.")
    llm_timeout_s: float = Field(300.0, gt=0)
    llm_concurrency: int = Field(8, ge=1, le=256, description="Requests kept in flight to llm_base_url while "
                                 "extracting (the embedded model takes one at a time).")

    # Insight extraction
    extraction: Literal["passages", "chunks"] = Field(
        "passages", description="passages: code chooses the moments and the model writes one claim per passage; "
        "chunks: the model reads the whole transcript in chunks and proposes ideas (earlier default).")
    llm_chooses_passages: bool | None = Field(
        None, description="Let the model re-order the code's candidate passages (a capable endpoint can judge; "
        "the embedded 1.5B model cannot). Unset: on when llm_base_url is set.")
    llm_checks_claims: bool | None = Field(
        None, description="Let the model read each claim against its passage and drop the ones it finds unfaithful "
        "(a capable endpoint can; the embedded 1.5B model cannot). Unset: on when llm_base_url is set.")
    chunk_words: int = Field(450, ge=100, description="Transcript words per extraction chunk.")
    chunk_overlap_words: int = Field(40, ge=0)
    insights_per_chunk: int = Field(2, ge=1, le=5)
    min_quote_score: float = Field(88.0, ge=50, le=100, description="Fuzzy match needed to accept a quote.")

    # Links between insights
    embed_model: str = Field("all-minilm-l6-v2", description="Sentence embedding model for links, novelty and interests.")
    link_judge_pairs: int = Field(40, ge=0, description="Closest pairs per run the LLM judges (0: similarity only).")

    # Ranking
    digest_size: int = Field(5, ge=1, le=50)
    max_per_episode: int = Field(2, ge=1)
    # Best F1 on the evaluation set's labelled near-duplicate pairs (`podsight eval` prints it): 0.53
    novelty_threshold: float = Field(0.53, gt=0, le=1, description="Claim cosine above which an insight is old news.")

    # Delivery
    base_url: str = Field("http://localhost:8000", description="Public URL of `podsight serve`, for links.")
    secret_key: SecretStr | None = Field(
        None, description="Signs digest links, feed addresses and admin sessions. Unset: a random key kept in home/secret_key."
    )
    smtp_host: str | None = Field(None, description="Unset: digests are written to files only.")
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "podsight <digest@localhost>"
    smtp_timeout_s: float = Field(30.0, gt=0)
    _stored_key: tuple[Path, str] | None = PrivateAttr(None)  # (home, key) once signing_key() has read the file

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_secret_is_unset(cls, value: Any) -> Any:
        # PODSIGHT_SECRET_KEY= (set but empty, as compose files often leave it) means "not configured":
        # the generated key is used, never an empty one
        return None if value == "" else value

    @model_validator(mode="after")
    def _check_smtp_login(self) -> Settings:
        if self.smtp_username and not self.smtp_password:
            raise ValueError("smtp_username is set but smtp_password is not: set both, or neither")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'podsight.db'}"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def digests_dir(self) -> Path:
        return self.home / "digests"

    def model_chooses_passages(self) -> bool:
        """Whether the model re-orders the candidate passages: as set, else only for an endpoint."""
        return self._endpoint_only(self.llm_chooses_passages)

    def model_checks_claims(self) -> bool:
        """Whether the model reads each claim against its passage: as set, else only for an endpoint."""
        return self._endpoint_only(self.llm_checks_claims)

    def _endpoint_only(self, setting: bool | None) -> bool:
        """A judgement the embedded 1.5B model cannot make: `setting` where the user set it, else on for an
        endpoint (`llm_base_url`) and off for the embedded model."""
        return bool(self.llm_base_url) if setting is None else setting

    def llm_requests_at_once(self) -> int:
        """How many extraction requests may be in flight: `llm_concurrency` for an endpoint, 1 for the
        embedded model (one llama.cpp slot on the machine's cores)."""
        return self.llm_concurrency if self.llm_base_url else 1

    def signing_key(self) -> str:
        """The key for every token podsight signs or checks: `secret_key` when configured, else the one
        generated in `home` on first use. Callers use this, never the field, so no default key exists."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        # read once per home, like every other setting: a feed of 30 digests signs 300 vote links
        if self._stored_key is None or self._stored_key[0] is not self.home:
            self._stored_key = (self.home, stored_key(self.home))
        return self._stored_key[1]

    def signing_key_source(self) -> str:
        """Where the signing key comes from, for `podsight config show` (never the key itself)."""
        if self.secret_key is not None:
            return "******** (configured)"
        path = key_path(self.home)
        return f"******** (generated, in {path})" if path.exists() else f"(generated on first use, in {path})"

    def redacted(self) -> dict[str, Any]:
        """All settings as plain values, secrets replaced by '********'."""
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            out[name] = str(value) if isinstance(value, Path) else value
        out["secret_key"] = self.signing_key_source()
        return out


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from the layers. `overrides` are CLI flags (None values are ignored)."""
    values: dict[str, Any] = {}
    path = config_file or (Path(os.environ[CONFIG_FILE_ENV]) if CONFIG_FILE_ENV in os.environ else None)
    if path is None and Path("podsight.toml").exists():
        path = Path("podsight.toml")
    if path is not None:
        values.update(read_toml(path))
    values.update(_read_env())
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return data.get("podsight", data)


def _read_env() -> dict[str, str]:
    fields = Settings.model_fields
    values = {}
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX) and key != CONFIG_FILE_ENV:
            name = key[len(ENV_PREFIX):].lower()
            if name not in fields:
                raise ConfigError(f"unknown setting {key}; valid ones: {', '.join(ENV_PREFIX + f.upper() for f in fields)}")
            values[name] = value
    return values
