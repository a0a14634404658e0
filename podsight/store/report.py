"""What `podsight status` reports: per-feed health, work waiting per stage, errors, undelivered digests."""

from __future__ import annotations

from sqlalchemy import func, select

from podsight.store.models import Delivery, DigestRow, Episode, Feed, Subscriber
from podsight.store.queries import EPISODE_STATES, episode_counts


def feed_health(session) -> list[dict]:
    """Every followed feed with its health and its episodes per state (`feeds list`, `status`), and
    `held_back`: None, or when a scan last found more new episodes than `max_new_episodes_per_scan`."""
    counts = episode_counts(session)
    held_back = held_back_report(session)
    return [
        {"id": f.id, "url": f.url, "title": f.title, "status": f.status, "consecutive_errors": f.consecutive_errors,
         "last_error": f.last_error, "last_checked_at": f.last_checked_at, "last_ok_at": f.last_ok_at,
         "next_check_at": f.next_check_at, "episodes": counts.get(f.id, {}), "held_back": held_back.get(f.id)}
        for f in session.scalars(select(Feed).order_by(Feed.id))
    ]


def held_back_report(session) -> dict[int, dict]:
    """Per feed that hit the per-scan cap: {"at": the last scan that did, "episodes": how many it held back
    as back catalogue, "scans": how many scans hit it, "total": episodes held back in all}. The scan marks
    those episodes (`podsight.pipeline.scan.HELD_BACK`) and gives them the scan's time as first_seen_at."""
    marked = Episode.extraction["held_back"].as_string().is_not(None)
    rows = session.execute(select(Episode.feed_id, Episode.first_seen_at, func.count())
                           .where(Episode.state == "skipped", marked)
                           .group_by(Episode.feed_id, Episode.first_seen_at))
    report: dict[int, dict] = {}
    for feed_id, at, n in rows:
        entry = report.setdefault(feed_id, {"at": at, "episodes": n, "scans": 0, "total": 0})
        if at > entry["at"]:
            entry["at"], entry["episodes"] = at, n
        entry["scans"] += 1
        entry["total"] += n
    return report


def status_report(session) -> dict:
    feeds = feed_health(session)
    totals = dict(session.execute(select(Episode.state, func.count()).group_by(Episode.state)).all())
    problems = [
        {"episode_id": e.id, "title": e.title, "state": e.state, "attempts": e.attempts, "error": e.last_error}
        for e in session.scalars(select(Episode).where(Episode.last_error.is_not(None)).order_by(Episode.id))
    ]
    dropped = session.scalars(select(Episode).where(Episode.extraction.is_not(None), Episode.state != "skipped"))
    notes = [
        {"episode_id": e.id, "title": e.title, **{k: e.extraction.get(k) for k in ("insights", "dropped", "chunks_skipped")}}
        for e in dropped if e.extraction.get("dropped") or e.extraction.get("chunks_skipped")
    ]
    leased = [
        {"episode_id": e.id, "title": e.title, "state": e.state, "owner": e.lease_owner, "until": e.lease_expires_at,
         "attempts": e.attempts}
        for e in session.scalars(select(Episode).where(Episode.lease_owner.is_not(None)).order_by(Episode.id))
    ]
    return {
        "feeds": feeds, "episodes": {s: totals.get(s, 0) for s in EPISODE_STATES}, "episode_errors": problems,
        "leased": leased,
        "extraction_notes": notes, "deliveries": delivery_report(session),
        "subscribers": session.scalar(select(func.count()).select_from(Subscriber)),
        "digests": session.scalar(select(func.count()).select_from(DigestRow)),
    }


DELIVERY_STATES = ("pending", "sending", "sent", "failed", "unknown")


def delivery_report(session) -> dict:
    """The outbox at a glance: counts per status, and every delivery not sent, grouped by status.

    pending: waiting for its first try or a retry (`next_attempt_at`, the last error if a try failed);
    failed: given up (attempts used up, or refused for good, e.g. a webhook answering 404); unknown: the
    run stopped mid-send, so it may have arrived. Each carries `error`, the reason a user can act on."""
    counts = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    report: dict = {"counts": {state: counts.get(state, 0) for state in DELIVERY_STATES}}
    for state in ("pending", "sending", "failed", "unknown"):
        rows = session.scalars(select(Delivery).where(Delivery.status == state).order_by(Delivery.id))
        report[state] = [
            {"id": d.id, "subscriber": d.digest.subscriber.email, "day": d.digest.day, "channel": d.channel,
             "target": d.target, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at, "error": d.last_error}
            for d in rows
        ]
    return report
