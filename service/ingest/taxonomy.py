"""The NUCC taxonomy in force: the newest loaded version of the code set."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.models import Taxonomy


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def current_version(session: Session) -> str | None:
    """The newest NUCC version loaded (``"24.1"`` beats ``"22.0"``), or None."""
    versions = session.scalars(select(Taxonomy.version).distinct()).all()
    return max(versions, key=_version_key) if versions else None


def taxonomy_code(session: Session, code: str) -> Taxonomy | None:
    """One code of the current version, or None when it is not in that version."""
    version = current_version(session)
    return session.get(Taxonomy, (code, version)) if version else None


def classification_map(session: Session) -> dict[str, str | None]:
    """Code -> NUCC classification, for the current version."""
    version = current_version(session)
    if version is None:
        return {}
    return dict(
        session.execute(
            select(Taxonomy.code, Taxonomy.classification).where(Taxonomy.version == version)
        ).all()
    )
