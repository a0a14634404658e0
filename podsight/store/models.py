"""SQLAlchemy tables. Only the pipeline runner and the CLI touch these; stages work on `podsight.records`."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, true, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, TypeDecorator,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("podsight stores only timezone-aware datetimes")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(512))
    link: Mapped[str | None] = mapped_column(String(2048))
    author: Mapped[str | None] = mapped_column(String(512))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    # active: polled; gone: the server said 410, never polled again
    status: Mapped[str] = mapped_column(String(16), default="active")
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    episodes: Mapped[list[Episode]] = relationship(back_populates="feed", cascade="all, delete-orphan")


class Episode(Base):
    """An episode and where it stands: new -> transcribed -> extracted (or needs_asr / failed / skipped)."""

    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("feed_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(2048))
    guid: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(1024))
    link: Mapped[str | None] = mapped_column(String(2048))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audio_url: Mapped[str | None] = mapped_column(String(2048))
    audio_type: Mapped[str | None] = mapped_column(String(128))
    duration_s: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    transcript_links: Mapped[list] = mapped_column(JSON, default=list)
    persons: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(32), default="new", index=True)
    transcript_source: Mapped[str | None] = mapped_column(String(2048))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # counted when a worker claims the stage
    last_error: Mapped[str | None] = mapped_column(Text)
    # The lease on the episode's current stage (store/jobs.py): who holds it, until when, and the fencing
    # token, bumped on every claim, so a worker whose lease was taken over cannot commit.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extraction: Mapped[dict | None] = mapped_column(JSON)  # chunks, skipped chunks, dropped insights, tokens
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    feed: Mapped[Feed] = relationship(back_populates="episodes")


class TranscriptSegment(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("episode_id", "idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    # Not the conversation: "ad" (sponsor read, housekeeping) or "intro" (welcome, guest biography).
    # Extraction neither reads nor quotes these; pages show them greyed out.
    kind: Mapped[str | None] = mapped_column(String(16))


class InsightRow(Base):
    __tablename__ = "insights"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    claim: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text, default="")
    speaker: Mapped[str | None] = mapped_column(String(256))
    quote: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    importance: Mapped[float] = mapped_column(Float)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    match_score: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(256))
    prompt_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The claim's sentence embedding (float16 bytes, see podsight.embed.index) and the model that made it,
    # stored by the insights stage; the links stage fills in what is missing or of another model.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embed_model: Mapped[str | None] = mapped_column(String(128))
    # The embedding model this insight was linked with: NULL until the links stage has linked it.
    linked_model: Mapped[str | None] = mapped_column(String(128))

    episode: Mapped[Episode] = relationship()


class InsightLink(Base):
    """Two insights from different episodes that speak of the same thing. Stored once per pair, with the
    lower id first. kind: related (same topic), corroborating (same claim), contradicting (opposite claims,
    judged by the language model, whose one-line reason is kept)."""

    __tablename__ = "insight_links"
    __table_args__ = (UniqueConstraint("insight_id", "other_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    similarity: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    judged_by: Mapped[str | None] = mapped_column(String(256))  # the model that judged the pair, if one did
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminUser(Base):
    """Someone who may change settings in the web app; the password is stored as a scrypt hash."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # part of every session cookie's fingerprint: signing out adds one, which ends all this admin's sessions
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Feedback(Base):
    """A subscriber's thumbs up (+1) or down (-1) on an insight they were sent; the latest vote wins."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("subscriber_id", "insight_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    vote: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    send_hour: Mapped[int] = mapped_column(Integer, default=7)
    interests: Mapped[str] = mapped_column(Text, default="")
    follows_all: Mapped[bool] = mapped_column(Boolean, default=True)  # every feed, present and future
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    webhook_url: Mapped[str | None] = mapped_column(String(2048))  # Slack or Discord incoming webhook
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | unsubscribed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)


class DigestRow(Base):
    """One digest per subscriber and local day: the unique constraint is what makes reruns safe."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("subscriber_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # ISO date in the subscriber's timezone
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list[DigestItemRow]] = relationship(order_by="DigestItemRow.position", cascade="all, delete-orphan")
    subscriber: Mapped[Subscriber] = relationship()


class DigestItemRow(Base):
    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("digest_id", "insight_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), index=True)
    insight_id: Mapped[int] = mapped_column(ForeignKey("insights.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON, default=list)

    insight: Mapped[InsightRow] = relationship()


class Delivery(Base):
    """The outbox: one row per digest and channel. pending -> sending -> sent (or failed / unknown)."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("digest_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | file
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(2048))  # address or file path
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    digest: Mapped[DigestRow] = relationship()
