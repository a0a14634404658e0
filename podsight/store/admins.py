"""Admin accounts: found by name, added, and their sessions ended (the web's sign-in reads these)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AdminUser


def admin_named(session: Session, username: str) -> AdminUser | None:
    return session.scalar(select(AdminUser).where(AdminUser.username == username)) if username else None


def session_fingerprint_inputs(session: Session, username: str) -> tuple[str, int | None] | None:
    """(password hash, session version) of the admin, what a signed session cookie is checked against."""
    row = session.execute(select(AdminUser.password_hash, AdminUser.session_version)
                          .where(AdminUser.username == username)).first()
    return tuple(row) if row is not None else None


def add_admin(session: Session, username: str) -> AdminUser:
    """A new admin without a password yet (the caller sets its hash in the same transaction)."""
    admin = AdminUser(username=username, password_hash="")
    session.add(admin)
    return admin


def end_sessions(session: Session, username: str) -> None:
    """Every session cookie of the admin stops working (their fingerprint includes the version)."""
    admin = admin_named(session, username)
    if admin is not None:
        admin.session_version = (admin.session_version or 0) + 1
