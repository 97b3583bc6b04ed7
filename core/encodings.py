"""The text encoding of a loaded file: one rule for every reader.

Every reader of a text file (:func:`core.csvio.iter_decoded_lines` and
:class:`core.arrowcsv.ArrowCsvReader`, so every registry and clinic reader)
opens and decodes its bytes here:

* a byte-order mark decides: UTF-8, UTF-16 or UTF-32 (either byte order); the
  mark is never part of the first header;
* without one, a file whose every other byte is NUL is UTF-16 (either order);
* else, unless an encoding is named, the file is UTF-8; when a byte is not
  UTF-8 and everything before it was ASCII (the same bytes in either), it is
  read as Windows-1252 from there on, and a warning says so. A byte that is not
  UTF-8 after non-ASCII UTF-8 text, or not Windows-1252 either, refuses the
  file, naming the line and the byte offset;
* a named encoding (``prm ingest ... --encoding``, an upload's ``encoding``
  field) is used as named; a byte-order mark contradicting it is refused.

UTF-16 and UTF-32 (and any encoding in which ``,``, ``;``, tab, ``|``, quotes and
line ends are not the ASCII bytes) are transcoded to UTF-8 as they are read, so
the line splitting and the block parsing above stay byte-oriented.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from core.errors import EncodingError, InputError, Problem
from core.notices import ENCODING_DETECTED, LoadWarning

__all__ = [
    "ENCODING_HINT",
    "FALLBACK_ENCODING",
    "OpenedText",
    "TextDecoder",
    "check_encoding",
    "detect_encoding",
    "open_text_bytes",
    "sniff_encoding",
]

#: What to do about an encoding the file is not in (the options that exist).
ENCODING_HINT = "name its encoding with --encoding (prm ingest) or the upload's encoding field"

#: Read from the first byte that is not UTF-8 on, when everything before it was ASCII.
FALLBACK_ENCODING = "cp1252"

_BOMS: tuple[tuple[bytes, str, str], ...] = (  # UTF-32 first: its LE mark starts as UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 (big-endian)"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 (big-endian)"),
)
_HEAD_BYTES = 512  # read to find a mark, or the NULs of UTF-16 without one
_ASCII_PROBE = "\r\n,;|\t\"' AZaz09"
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _family(codec: str) -> str:
    """``utf-8``, ``utf-16``, ``utf-32``, or the codec itself."""
    for family in ("utf-8", "utf-16", "utf-32"):
        if codec.startswith(family):
            return family
    return codec


def check_encoding(encoding: str | None, *, field: str = "encoding") -> str | None:
    """The codec name of an encoding a user named (``None``: none named).

    Parameters
    ----------
    encoding
        As typed, e.g. ``"UTF-16"``, ``"windows-1252"``, ``"latin-1"``.
    field
        The option or form field named in the problem.

    Raises
    ------
    InputError
        When no text encoding has that name.
    """
    if encoding is None or not encoding.strip():
        return None
    try:
        name = codecs.lookup(encoding.strip()).name
        "\n".encode(name)  # a codec that is no text encoding (base64, rot13) raises LookupError
    except LookupError:
        raise InputError(
            f"unknown text encoding {encoding!r}",
            problems=[
                Problem(
                    "not a text encoding; e.g. utf-8, utf-16, utf-32, cp1252, latin-1",
                    field=field,
                    value=encoding[:60],
                )
            ],
        ) from None
    return name


@dataclass(frozen=True)
class Sniffed:
    """How a file's bytes are to be read.

    Attributes
    ----------
    codec
        The codec of the bytes after the mark.
    bom
        The byte-order mark to skip (``b""`` when there is none).
    reason
        Why ``codec`` was chosen when it was detected and is not UTF-8 (the
        warning's words); ``None`` when named, or UTF-8.
    """

    codec: str
    bom: bytes = b""
    reason: str | None = None


def _nul_pattern(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of ``head`` is NUL (UTF-16 without a mark)."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even, odd = head[0 : 2 * pairs : 2], head[1 : 2 * pairs : 2]
    if odd.count(0) == pairs and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) == pairs and odd.count(0) == 0:
        return "utf-16-be"
    return None


def sniff_encoding(head: bytes, *, encoding: str | None, file: str) -> Sniffed:
    """Apply the rule (module docstring) to a file's first bytes.

    Parameters
    ----------
    head
        The file's first bytes (a few hundred suffice).
    encoding
        The codec named (:func:`check_encoding`), or ``None``.
    file
        The file's name, for the problem.

    Raises
    ------
    EncodingError
        A byte-order mark contradicting the named encoding.
    """
    mark = next(((bom, codec, label) for bom, codec, label in _BOMS if head.startswith(bom)), None)
    if encoding is None:
        if mark is not None:
            bom, codec, label = mark
            return Sniffed(
                codec, bom, None if codec == "utf-8" else f"{label}, by its byte-order mark"
            )
        nul = _nul_pattern(head[:_HEAD_BYTES])
        if nul is None:
            return Sniffed("utf-8")
        order = "little" if nul.endswith("le") else "big"
        return Sniffed(nul, b"", f"UTF-16 ({order}-endian), as every other byte is NUL (no mark)")
    named = codecs.lookup(encoding).name
    if _family(named) == "utf-8":
        named = "utf-8"
    if mark is None:
        if named in ("utf-16", "utf-32"):  # no mark to say the byte order: the NULs may
            guess = _nul_pattern(head) if named == "utf-16" else None
            return Sniffed(guess or f"{named}-le")
        return Sniffed(named)
    bom, codec, label = mark
    if _family(named) != _family(codec) or (named.endswith(("-le", "-be")) and named != codec):
        raise EncodingError(
            f"{file} starts with the byte-order mark of {label}, not {named}; "
            "name that encoding, or none",
            problems=[
                Problem(
                    f"the file's byte-order mark says {label}, but {named} was named",
                    file=file,
                    line=1,
                    field="encoding",
                    value=bom.hex(),
                )
            ],
        )
    return Sniffed(codec, bom)


def _ascii_compatible(codec: str) -> bool:
    """Whether line ends, delimiters, quotes, letters and digits are their ASCII bytes in ``codec``."""
    try:
        return _ASCII_PROBE.encode(codec) == _ASCII_PROBE.encode("ascii")
    except UnicodeError:
        return False


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class TextDecoder:
    """Decodes the (ASCII-compatible) bytes of one file, line by line or block by block.

    Attributes
    ----------
    codec
        The codec in use; ``utf-8`` becomes :data:`FALLBACK_ENCODING` at the
        first byte that is not UTF-8 after ASCII only, when none was named
        (non-ASCII text that is UTF-8 after that is refused: mixed encodings).
    file
        The file's name, for problems and warnings.
    named
        An encoding was named (or detected from a mark): no fallback.
    warnings
        Where the warning of a fallback goes.
    """

    codec: str
    file: str
    named: bool = False
    warnings: list[LoadWarning] = field(default_factory=list)
    tried: list[str] = field(init=False)
    non_ascii_line: int | None = field(default=None, init=False)  # first non-ASCII text's line

    def __post_init__(self) -> None:
        self.tried = [self.codec]

    def seen(self, raw: bytes, *, line: int) -> None:
        """Note ``raw`` (starting on ``line``) as decoded elsewhere (valid in :attr:`codec`)."""
        if self.non_ascii_line is None and not raw.isascii():
            self.non_ascii_line = _first_non_ascii_line(raw, line)

    def decode(self, raw: bytes, *, line: int, offset: int) -> str:
        """``raw`` (starting on ``line``, at byte ``offset`` of the file) as text.

        Raises
        ------
        EncodingError
            At the first byte that is not in the codec (and no fallback applies),
            naming the line, the byte offset and the encodings tried.
        """
        try:
            text = raw.decode(self.codec)
        except UnicodeDecodeError as exc:
            if self.named or self.codec != "utf-8" or self.non_ascii_line is not None:
                raise self._error(raw, exc, line=line, offset=offset) from exc
            if not raw[: exc.start].isascii():
                self.seen(raw[: exc.start], line=line)
                raise self._error(raw, exc, line=line, offset=offset) from exc
            self._fall_back(raw, exc, line=line)
            return self.decode(raw, line=line, offset=offset)
        if self.fell_back and not raw.isascii() and _is_utf8(raw):
            raise self._mixed(raw, line=line, offset=offset)
        self.seen(raw, line=line)
        return text

    @property
    def fell_back(self) -> bool:
        """Whether the file is read as Windows-1252 since a byte that was not UTF-8."""
        return not self.named and self.codec == FALLBACK_ENCODING

    def _mixed(self, raw: bytes, *, line: int, offset: int) -> EncodingError:
        """The refusal of UTF-8 text after Windows-1252 bytes."""
        found = _NON_ASCII.search(raw)
        at = found.start() if found else 0
        at_line = _first_non_ascii_line(raw, line)
        return EncodingError(
            f"{self.file}: UTF-8 text at line {at_line}, byte offset {offset + at}, after bytes "
            f"that were not UTF-8: the file mixes encodings; {ENCODING_HINT}",
            problems=[
                Problem(
                    f"UTF-8 text after Windows-1252 bytes (the file mixes encodings; "
                    f"encodings tried: {', '.join(self.tried)})",
                    file=self.file,
                    line=at_line,
                    field="encoding",
                    value=raw[at : at + 4].hex(),
                )
            ],
        )

    def _fall_back(self, raw: bytes, exc: UnicodeDecodeError, *, line: int) -> None:
        at_line = line + raw.count(b"\n", 0, exc.start)
        bad = raw[exc.start : exc.start + 1]
        self.codec = FALLBACK_ENCODING
        self.tried.append(FALLBACK_ENCODING)
        self.warnings.append(
            LoadWarning(
                code=ENCODING_DETECTED,
                message=f"not UTF-8 (byte {bad!r} on line {at_line}, ASCII before it): "
                f"read as Windows-1252 (cp1252); if it is another, {ENCODING_HINT}",
                file=self.file,
            )
        )

    def _error(
        self, raw: bytes, exc: UnicodeDecodeError, *, line: int, offset: int
    ) -> EncodingError:
        at_line = line + raw.count(b"\n", 0, exc.start)
        at = offset + exc.start
        bad = raw[exc.start : exc.end]
        tried = ", ".join(self.tried)
        if self.non_ascii_line is not None and self.codec == "utf-8" and not self.named:
            why = (
                f"UTF-8 text on line {self.non_ascii_line}, then bytes that are not: "
                "the file mixes encodings"
            )
        else:
            why = f"not {self.codec}"
        return EncodingError(
            f"{self.file}: undecodable byte {bad!r} at line {at_line}, byte offset {at} ({why}; "
            f"encodings tried: {tried}); {ENCODING_HINT}",
            problems=[
                Problem(
                    f"undecodable byte at byte offset {at} ({why}; encodings tried: {tried})",
                    file=self.file,
                    line=at_line,
                    field="encoding",
                    value=bad.hex(),
                )
            ],
        )


def _first_non_ascii_line(raw: bytes, line: int) -> int:
    """The line of ``raw``'s first non-ASCII byte (``raw`` starting on ``line``)."""
    found = _NON_ASCII.search(raw)
    return line + raw.count(b"\n", 0, found.start() if found else 0)


class _Transcoded(io.RawIOBase):
    """A binary stream in any codec, read as UTF-8 bytes (decoding errors name their line)."""

    def __init__(self, raw: IO[bytes], codec: str, file: str, offset: int) -> None:
        self._raw, self._file, self._codec = raw, file, codec
        self._decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        self._buffer = b""
        self._line, self._offset, self._done = 1, offset, False

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target) and not self._done:
            piece = self._raw.read(1 << 16)
            self._done = not piece
            pending = len(self._decoder.getstate()[0])
            try:
                text = self._decoder.decode(piece, final=self._done)
            except UnicodeDecodeError as exc:
                raise self._error(exc, self._offset - pending) from exc
            self._offset += len(piece)
            self._line += text.count("\n")
            self._buffer += text.encode("utf-8")
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def _error(self, exc: UnicodeDecodeError, start: int) -> EncodingError:
        """The problem of undecodable bytes in a piece starting at byte ``start`` of the file."""
        before = exc.object[: exc.start].decode(self._codec, errors="replace")
        line = self._line + before.count("\n")
        at = start + exc.start
        return EncodingError(
            f"{self._file}: undecodable bytes at line {line}, byte offset {at} "
            f"({exc.reason}; encodings tried: {self._codec}); {ENCODING_HINT}",
            problems=[
                Problem(
                    f"undecodable bytes at byte offset {at} ({exc.reason}; "
                    f"encodings tried: {self._codec})",
                    file=self._file,
                    line=line,
                    field="encoding",
                    value=exc.object[exc.start : exc.end].hex(),
                )
            ],
        )


class _Chained(io.RawIOBase):
    """Bytes already read from a stream that cannot seek, then the rest of it."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(target), len(self._head))
            target[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(target))
        target[: len(data)] = data
        return len(data)


@dataclass
class OpenedText:
    """A file's bytes, ready to be split on ASCII line ends, and how to decode them.

    Attributes
    ----------
    stream
        The bytes after the byte-order mark (UTF-8 when transcoded).
    decoder
        Decodes what :attr:`stream` gives.
    offset
        Bytes of the file before :attr:`stream`'s first (the mark's).
    transcoded
        The file's codec when :attr:`stream` is its text transcoded to UTF-8.
    """

    stream: IO[bytes]
    decoder: TextDecoder
    offset: int = 0
    transcoded: str | None = None

    @property
    def codec(self) -> str:
        """The codec the file's bytes are in (so far: a fallback may change it)."""
        return self.transcoded or self.decoder.codec


def open_text_bytes(
    stream: IO[bytes],
    *,
    encoding: str | None,
    file: str,
    warnings: list[LoadWarning] | None = None,
) -> OpenedText:
    """Apply the rule to an open binary stream, at its start.

    Parameters
    ----------
    stream
        The file's bytes (a seekable stream is rewound past the mark; another
        is read on from the bytes looked at).
    encoding
        The encoding named, or ``None`` to detect it.
    file
        The file's name, for problems and warnings.
    warnings
        Receives the warning of an encoding detected (not UTF-8), now or later.

    Raises
    ------
    InputError, EncodingError
        An unknown encoding name; a byte-order mark contradicting it.
    """
    named = check_encoding(encoding)
    found = warnings if warnings is not None else []
    seekable = stream.seekable()
    start = stream.tell() if seekable else 0
    head = stream.read(_HEAD_BYTES)
    sniffed = sniff_encoding(head, encoding=named, file=file)
    skip = len(sniffed.bom)
    if seekable:
        stream.seek(start + skip)
        body: IO[bytes] = stream
    else:
        body = io.BufferedReader(_Chained(head[skip:], stream), buffer_size=1 << 16)
    if sniffed.reason is not None:
        found.append(
            LoadWarning(
                code=ENCODING_DETECTED,
                message=f"not UTF-8: read as {sniffed.reason}; if it is another, {ENCODING_HINT}",
                file=file,
            )
        )
    if not _ascii_compatible(sniffed.codec):
        body = io.BufferedReader(_Transcoded(body, sniffed.codec, file, skip), buffer_size=1 << 20)
        decoder = TextDecoder("utf-8", file, named=True, warnings=found)
        return OpenedText(body, decoder, skip, transcoded=sniffed.codec)
    # a mark or a name says what the file is: no fallback then
    decoder = TextDecoder(sniffed.codec, file, named=named is not None or skip > 0, warnings=found)
    return OpenedText(body, decoder, skip)


def detect_encoding(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    warnings: list[LoadWarning] | None = None,
) -> str:
    """The codec a whole file decodes in by the rule (for readers that read a file several times).

    Reading the file again with the codec returned gives the same text
    (a Windows-1252 fallback included: what comes before it is ASCII).

    Parameters
    ----------
    path
        The file.
    encoding
        The encoding named, or ``None`` to detect it.
    warnings
        Receives the warning of an encoding detected (not UTF-8).

    Raises
    ------
    EncodingError, InputError
        As :func:`open_text_bytes` and :meth:`TextDecoder.decode` do.
    """
    with Path(path).open("rb") as fh:
        opened = open_text_bytes(fh, encoding=encoding, file=Path(path).name, warnings=warnings)
        offset = opened.offset
        for number, raw in enumerate(opened.stream, start=1):
            opened.decoder.decode(raw, line=number, offset=offset)
            offset += len(raw)
        return opened.codec
