"""Fitted scoring models on disk: versioned JSON files and an atomically promoted pointer.

Layout under ``settings.scoring_model_dir`` (one folder per service line)::

    mri/model-0001.json     a fitted model (prospects.model.FittedModel), never rewritten
    mri/model-0002.json
    mri/active.json         {"version": 2, "promoted_at": ..., "gate": {...}}

Files rather than rows: a model is a reviewable document (plain JSON, no
pickle), copied between environments like the profiles it sits beside. A
version is written once, to a temporary name then renamed, so a reader never
sees half a file; promotion replaces ``active.json`` the same way
(``os.replace`` is atomic on POSIX and Windows), so a scoring run or request
reads either the old pointer or the new one. Several hosts serving one
database must share this folder (docs/production.md).

Reading never fails the caller: a missing, unreadable or invalid model file
gives ``None`` and a warning, and scoring falls back to the hand-set profile.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from core.errors import NotFoundError, Problem, ScoringError
from prospects.model import FittedModel

__all__ = ["ActiveModel", "active_model", "list_models", "next_version", "promote", "save_model"]

_VERSION_FILE = re.compile(r"^model-(\d{4,})\.json$")


@dataclass(frozen=True)
class ActiveModel:
    """What scoring uses for a service line: a model, or None with the reason."""

    model: FittedModel | None
    warning: str | None = None


def _slug(service_line: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", service_line.strip().lower()).strip("-")
    if not slug:
        raise ScoringError(
            "a service line needs a name",
            problems=[Problem("empty", field="service_line", value=service_line)],
        )
    return slug


def folder_name(service_line: str) -> str:
    """The folder of a service line's models under the model directory."""
    return _slug(service_line)


def calibration_file(root: Path, service_line: str, version: int) -> Path:
    """Where the calibration plot of a version is written at fit time."""
    return Path(root) / _slug(service_line) / f"model-{version:04d}-calibration.png"


def _folder(root: Path, service_line: str) -> Path:
    return root / _slug(service_line)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _versions(root: Path, service_line: str) -> list[int]:
    folder = _folder(root, service_line)
    if not folder.is_dir():
        return []
    found = (_VERSION_FILE.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def next_version(root: Path, service_line: str) -> int:
    """The version number the next fit of ``service_line`` gets."""
    return max(_versions(root, service_line), default=0) + 1


def save_model(root: Path, model: FittedModel) -> Path:
    """Write a new model version (refusing to overwrite one); returns its file."""
    path = _folder(root, model.service_line) / f"model-{model.version:04d}.json"
    if path.exists():
        raise ScoringError(
            f"model version {model.version} of {model.service_line} exists",
            problems=[Problem("versions are never rewritten", file=str(path))],
        )
    _write_atomic(path, model.model_dump_json(indent=1))
    return path


def _read(path: Path, service_line: str) -> tuple[FittedModel | None, str | None]:
    try:
        model = FittedModel.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None, f"model file {path} is missing"
    except (OSError, ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        return None, f"model file {path} cannot be read ({first})"
    if _slug(model.service_line) != _slug(service_line):
        return None, f"model file {path} is for {model.service_line!r}, not {service_line!r}"
    return model, None


def load_version(root: Path, service_line: str, version: int) -> FittedModel:
    """One stored version (for ``show`` and ``promote``).

    Raises
    ------
    NotFoundError
        No such version.
    ScoringError
        The file cannot be read, or is for another service line.
    """
    path = _folder(root, service_line) / f"model-{version:04d}.json"
    if not path.exists():
        known = ", ".join(map(str, _versions(root, service_line))) or "none"
        raise NotFoundError(f"no model version {version} for {service_line!r} (known: {known})")
    model, warning = _read(path, service_line)
    if model is None:
        raise ScoringError(warning or "unreadable model", problems=[Problem(warning or "")])
    return model


def active_pointer(root: Path, service_line: str) -> dict | None:
    """The promoted version's pointer, or None when none was promoted (or it is unreadable)."""
    path = _folder(root, service_line) / "active.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("version"), int) else None


def active_model(root: Path, service_line: str) -> ActiveModel:
    """The promoted model of a service line, or None (with a warning when one should exist)."""
    folder = _folder(root, service_line)
    pointer_file = folder / "active.json"
    if not pointer_file.exists():
        return ActiveModel(None)
    pointer = active_pointer(root, service_line)
    if pointer is None:
        return ActiveModel(None, f"{pointer_file} cannot be read; using the hand-set profile")
    model, warning = _read(folder / f"model-{pointer['version']:04d}.json", service_line)
    if model is None:
        return ActiveModel(None, f"{warning}; using the hand-set profile")
    return ActiveModel(model)


def promote(root: Path, service_line: str, version: int, *, gate: dict) -> dict:
    """Make ``version`` the served model (atomically); returns the new pointer."""
    load_version(root, service_line, version)  # refuses a missing or unreadable one
    pointer = {
        "version": version,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "gate": gate,
    }
    _write_atomic(_folder(root, service_line) / "active.json", json.dumps(pointer, indent=1))
    return pointer


def list_models(root: Path, service_line: str | None = None) -> list[dict]:
    """Every stored version (of one service line, or all), with whether it is served."""
    lines = (
        [service_line]
        if service_line
        else sorted(p.name for p in root.iterdir() if p.is_dir())
        if root.is_dir()
        else []
    )
    out = []
    for line in lines:
        pointer = active_pointer(root, line)
        for version in _versions(root, line):
            model, warning = _read(_folder(root, line) / f"model-{version:04d}.json", line)
            out.append(
                {
                    "service_line": model.service_line if model else line,
                    "version": version,
                    "active": bool(pointer and pointer["version"] == version),
                    "as_of": model.as_of.isoformat() if model else None,
                    "fitted_at": model.fitted_at.isoformat() if model else None,
                    "rows": model.rows if model else None,
                    "starts": model.starts if model else None,
                    "horizon_months": model.horizon_months if model else None,
                    "metrics": model.metrics if model else {},
                    "warning": warning,
                }
            )
    return out
