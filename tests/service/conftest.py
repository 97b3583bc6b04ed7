from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from core.settings import Settings
from service.context import open_context
from tests.paths import FIXTURES

DATA = FIXTURES


@pytest.fixture
def ctx(backend_url, tmp_path):
    settings = Settings(
        database_url=backend_url,
        osm_file=DATA / "osm" / "aguascalientes.osm.bz2",
        cache_dir=tmp_path / "cache",
        nucc_file=DATA / "nucc_taxonomy_220.csv",
    )
    context = open_context(settings)
    yield context
    context.close()


class FakeDNS:
    """A stand-in for ``socket.getaddrinfo`` answering chosen names in turns.

    ``dns.answer("a.test", ["93.184.216.34"], ["127.0.0.1"])``: the first lookup
    of ``a.test`` answers the public address, every later one loopback (the
    last turn repeats). Other names, IP literals included, go to the real
    resolver. httpcore looks names up as ``bytes``: those count too, so a
    second lookup by anything is seen in :attr:`lookups`.
    """

    def __init__(self, real: Callable[..., Any]) -> None:
        self._real = real
        self._turns: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def answer(self, name: str, *turns: list[str]) -> None:
        self._turns[name] = list(turns)

    def fail(self, name: str) -> None:
        """Make ``name`` not resolve (NXDOMAIN)."""
        self._turns[name] = []

    def __call__(
        self,
        host: str | bytes | None,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple]:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self._turns:
            return self._real(host, port, family, type, proto, flags)
        self.lookups.append(name)
        turns = self._turns[name]
        if not turns:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = turns[min(self.lookups.count(name), len(turns)) - 1]
        port = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """``socket.getaddrinfo`` answering the names the test chooses (see :class:`FakeDNS`)."""
    dns = FakeDNS(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    return dns
