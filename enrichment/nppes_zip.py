"""The NPPES dissemination zip (monthly Full Replacement or weekly incremental), read in place.

CMS publishes ``NPPES_Data_Dissemination_<Month>_<Year>.zip`` (about 1 GB
zipped, 9 GB unzipped) and a weekly zip of the same shape. Each holds
``npidata_pfile_<from>-<to>.csv`` (the main file), the companions
``othername_pfile_*``, ``pl_pfile_*`` and ``endpoint_pfile_*``, a
``*_FileHeader.csv`` for each (ignored: the data files carry their own header)
and a readme PDF. :func:`open_nppes_zip` checks the archive's directory and
names each member's role; the readers then stream members straight out of the
archive, never extracting anything to disk.

The archive is refused before anything is read when a member is unsafe: an
absolute path, a ``..`` component, a symbolic link, a compression ratio above
``max_ratio`` (for members over 1 MiB) or a total uncompressed size above
``max_total_bytes`` (zip-bomb protection). :mod:`zipfile` itself never
inflates a member past the size its directory entry declares, and checks the
CRC at the end, so a lying directory cannot get round those limits.

Not handled yet: encrypted members, and nested zips (the readme PDF and any
other member are listed under :attr:`NppesZip.others` and left alone).
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from core.checks import finite_number
from core.errors import InputError, Problem
from core.progress import ProgressSink
from enrichment.nppes import iter_nppes
from enrichment.nppes_companions import (
    COMPANION_FIELDS,
    TableResult,
    read_endpoints,
    read_locations,
    read_other_names,
    table_frame,
)
from enrichment.records import ReadResult

#: Default refusal threshold for uncompressed / compressed size of one member.
DEFAULT_MAX_RATIO = 200.0

#: Default cap on the total uncompressed size of the archive (monthly files are ~10 GB).
DEFAULT_MAX_TOTAL_BYTES = 64 * 2**30

#: Members smaller than this are not ratio-checked (tiny files compress absurdly well).
RATIO_FLOOR_BYTES = 2**20

#: Roles of the data members, in the order they are reported.
ROLES: tuple[str, ...] = ("main", "othername", "pl", "endpoint")

_PREFIXES = {"npidata": "main", "othername": "othername", "pl": "pl", "endpoint": "endpoint"}
_MEMBER = re.compile(r"(npidata|othername|pl|endpoint)_pfile_.*\.csv", re.IGNORECASE)
_HEADER_MEMBER = re.compile(r".*_fileheader\.csv", re.IGNORECASE)


@dataclass(frozen=True)
class NppesZip:
    """A checked NPPES dissemination zip.

    Attributes
    ----------
    path
        The archive.
    members
        Member name by role (``"main"``, ``"othername"``, ``"pl"``,
        ``"endpoint"``); a weekly or older archive may lack the companions.
    headers
        The ``*_FileHeader.csv`` members (ignored by the readers).
    others
        Every other member (readme PDF, ...), ignored.
    """

    path: Path
    members: dict[str, str]
    headers: tuple[str, ...] = ()
    others: tuple[str, ...] = field(default=())

    @property
    def main_member(self) -> str:
        """Name of the ``npidata_pfile`` member."""
        return self.members["main"]

    @contextmanager
    def open_member(self, role: str) -> Iterator[IO[bytes]]:
        """Open the member of a role as a binary stream, straight from the archive.

        Raises
        ------
        KeyError
            When the archive has no member of that role.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        member = self.members[role]
        with zipfile.ZipFile(self.path) as archive, archive.open(member) as stream:
            try:
                yield stream
            except zipfile.BadZipFile as exc:
                raise InputError(
                    f"{self.path.name}: member {member} is corrupt: {exc}",
                    problems=[Problem(f"corrupt zip member: {exc}", file=member)],
                ) from exc

    def iter_main(
        self,
        chunk_rows: int = 50_000,
        *,
        encoding: str | None = None,
        progress: ProgressSink | None = None,
    ) -> Iterator[ReadResult]:
        """Stream the ``npidata_pfile`` member as chunks, like :func:`enrichment.nppes.iter_nppes`.

        Line numbers are global to the member and problems name the member.
        """
        with self.open_member("main") as stream:
            yield from iter_nppes(
                stream,
                chunk_rows=chunk_rows,
                encoding=encoding,
                progress=progress,
                name=self.main_member,
            )

    def read_companion(
        self, role: str, *, npis: Collection[str] | None = None, encoding: str | None = None
    ) -> TableResult:
        """Read a companion member (``"othername"``, ``"pl"`` or ``"endpoint"``).

        An archive without that member gives an empty result.

        Parameters
        ----------
        role
            Companion role.
        npis
            Keep only rows of these NPIs (e.g. the providers being loaded).
        encoding
            Member encoding; ``None`` means UTF-8.
        """
        readers = {"othername": read_other_names, "pl": read_locations, "endpoint": read_endpoints}
        if role not in readers:
            raise ValueError(f"role must be one of {tuple(readers)}, not {role!r}")
        if role not in self.members:
            return TableResult(records=table_frame([], COMPANION_FIELDS[role]))
        with self.open_member(role) as stream:
            return readers[role](stream, name=self.members[role], npis=npis, encoding=encoding)


def _unsafe_name(name: str) -> str | None:
    if not name or "\x00" in name:
        return "empty or NUL in member name"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"[A-Za-z]:", normalized):
        return "absolute path in member name"
    if ".." in PurePosixPath(normalized).parts:
        return "'..' component in member name"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def open_nppes_zip(
    path: str | os.PathLike[str],
    *,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> NppesZip:
    """Check an NPPES dissemination zip and name its members by role.

    Parameters
    ----------
    path
        Monthly or weekly dissemination zip.
    max_ratio
        Largest uncompressed / compressed size ratio allowed for a member over
        :data:`RATIO_FLOOR_BYTES`.
    max_total_bytes
        Largest total uncompressed size allowed.

    Returns
    -------
    NppesZip

    Raises
    ------
    InputError
        Not a zip file; unsafe members (each named, with the reason); no
        ``npidata_pfile`` member (the problems list what the archive holds);
        several members for one role.
    """
    problems: list[Problem] = []
    finite_number(max_ratio, field="max_ratio", problems=problems, gt=0)
    finite_number(max_total_bytes, field="max_total_bytes", problems=problems, gt=0)
    if problems:
        raise InputError("zip limits must be positive numbers", problems=problems)
    archive_path = Path(path)
    label = archive_path.name
    if not archive_path.is_file():
        raise InputError(
            f"no such file: {archive_path}", problems=[Problem("file not found", file=label)]
        )
    try:
        with zipfile.ZipFile(archive_path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{label} is not a zip archive: {exc}",
            problems=[Problem(f"not a zip archive: {exc}", file=label)],
        ) from exc

    problems: list[Problem] = []
    total = 0
    for info in infos:
        reason = _unsafe_name(info.filename)
        if reason is None and _is_symlink(info):
            reason = "symbolic link"
        if reason is None and info.file_size > RATIO_FLOOR_BYTES:
            ratio = info.file_size / info.compress_size if info.compress_size else float("inf")
            if ratio > max_ratio:
                reason = f"compression ratio {ratio:.0f} exceeds {max_ratio:g} (zip bomb?)"
        if reason is not None:
            problems.append(
                Problem(f"unsafe zip member: {reason}", file=label, field=info.filename)
            )
        total += info.file_size
    if total > max_total_bytes:
        problems.append(
            Problem(
                f"total uncompressed size {total} bytes exceeds the cap of {max_total_bytes}",
                file=label,
            )
        )
    if problems:
        raise InputError(f"{label}: refused unsafe zip archive", problems=problems)

    members: dict[str, list[str]] = {}
    headers: list[str] = []
    others: list[str] = []
    for info in infos:
        if info.is_dir():
            continue
        base = PurePosixPath(info.filename.replace("\\", "/")).name
        if _HEADER_MEMBER.fullmatch(base):
            headers.append(info.filename)
            continue
        match = _MEMBER.fullmatch(base)
        if match:
            members.setdefault(_PREFIXES[match.group(1).lower()], []).append(info.filename)
        else:
            others.append(info.filename)
    for role, names in members.items():
        if len(names) > 1:
            problems.append(
                Problem(f"several {role} members: {', '.join(names)}", file=label, field=role)
            )
    if "main" not in members:
        held = ", ".join(i.filename for i in infos) or "nothing"
        problems.append(
            Problem(f"no npidata_pfile_*.csv member; the archive holds: {held}", file=label)
        )
    if problems:
        raise InputError(f"{label} is not a usable NPPES dissemination zip", problems=problems)
    return NppesZip(
        path=archive_path,
        members={role: members[role][0] for role in ROLES if role in members},
        headers=tuple(headers),
        others=tuple(others),
    )
