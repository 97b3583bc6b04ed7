"""The pinned outbound transport: address checks, one resolution per request, Host and TLS name.

DNS answers come from :class:`tests.service.conftest.FakeDNS` (a stand-in for
``socket.getaddrinfo``); connections are real where an address is reached
(a TLS server on 127.0.0.1) or recorded by an :class:`httpx.MockTransport`.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.errors import UnsafeDestinationError
from service.integration.outbound import PinnedTransport, refusal_reason
from tests.service.conftest import FakeDNS


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not globally routable"),  # shared address space (CGNAT)
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("2002:7f00:1::", "6to4 loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 link-local"),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:93.184.216.34", None),
    ],
)
def test_refusal_reason(address: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


class Recorder:
    """An inner transport that records what would be sent, and answers 204."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def __call__(self) -> httpx.BaseTransport:
        return httpx.MockTransport(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(204)


def _client(recorder: Recorder, *, allow_private: bool = False) -> httpx.Client:
    return httpx.Client(transport=PinnedTransport(allow_private=allow_private, connect=recorder))


def test_rebinding_answer_is_never_used(fake_dns: FakeDNS) -> None:
    # public at the check, loopback right after: the connection goes to the checked address
    fake_dns.answer("rebind.example.test", ["93.184.216.34"], ["127.0.0.1"])
    recorder = Recorder()
    with _client(recorder) as http:
        r = http.post("https://rebind.example.test/hooks?x=1", content=b"{}")
        assert r.status_code == 204
        [sent] = recorder.sent
        assert sent.url == httpx.URL("https://93.184.216.34/hooks?x=1")
        assert sent.headers["host"] == "rebind.example.test"
        assert sent.extensions["sni_hostname"] == "rebind.example.test"
        assert sent.read() == b"{}"
        assert fake_dns.lookups == ["rebind.example.test"]  # resolved once, by the check
        # the next request is checked again: the name now points at loopback
        with pytest.raises(UnsafeDestinationError, match=r"127\.0\.0\.1 \(loopback address\)"):
            http.post("https://rebind.example.test/hooks", content=b"{}")
    assert len(recorder.sent) == 1


@pytest.mark.parametrize(
    "answer",
    [
        ["93.184.216.34", "10.0.0.5"],  # one private address among public ones is enough
        ["2606:4700:4700::1111", "::ffff:127.0.0.1"],
        ["169.254.169.254"],
    ],
)
def test_any_non_public_address_refuses(fake_dns: FakeDNS, answer: list[str]) -> None:
    fake_dns.answer("mixed.example.test", answer)
    recorder = Recorder()
    with _client(recorder) as http, pytest.raises(UnsafeDestinationError, match=answer[-1]):
        http.post("https://mixed.example.test:8443/h", content=b"{}")
    assert recorder.sent == []  # nothing was sent anywhere


def test_ipv6_and_ports_are_kept(fake_dns: FakeDNS) -> None:
    fake_dns.answer("v6.example.test", ["2606:4700:4700::1111"])
    recorder = Recorder()
    with _client(recorder) as http:
        http.post("http://v6.example.test:8080/h", content=b"{}")
    [sent] = recorder.sent
    assert sent.url == httpx.URL("http://[2606:4700:4700::1111]:8080/h")
    assert sent.headers["host"] == "v6.example.test:8080"
    assert "sni_hostname" not in sent.extensions  # plain http: no TLS


def test_private_addresses_allowed_outside_production_still_pinned(fake_dns: FakeDNS) -> None:
    fake_dns.answer("dev.example.test", ["127.0.0.1"], ["10.9.9.9"])
    recorder = Recorder()
    with _client(recorder, allow_private=True) as http:
        http.post("http://dev.example.test/h", content=b"{}")
    assert recorder.sent[0].url.host == "127.0.0.1" and fake_dns.lookups == ["dev.example.test"]


def test_unresolvable_name_is_a_connect_error(fake_dns: FakeDNS) -> None:
    fake_dns.fail("gone.example.test")
    with _client(Recorder()) as http, pytest.raises(httpx.ConnectError, match="cannot resolve"):
        http.post("https://gone.example.test/h", content=b"{}")


# ----------------------------------------------------------------------------- real TLS


def _certificates(tmp: Path, name: str) -> tuple[Path, Path, Path]:
    """A test CA (PEM), and a server certificate and key for ``name`` signed by it."""
    now = datetime.now(UTC)

    def cert(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: str,
        signer: ec.EllipticCurvePrivateKey,
        *,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    paths[0].write_bytes(
        cert("prm test CA", ca_key, "prm test CA", ca_key, ca=True).public_bytes(
            serialization.Encoding.PEM
        )
    )
    paths[1].write_bytes(
        cert(name, key, "prm test CA", ca_key, ca=False).public_bytes(serialization.Encoding.PEM)
    )
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class TLSReceiver:
    """An HTTPS server on 127.0.0.1 recording the TLS server name and the Host header."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)  # type: ignore[assignment]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[TLSReceiver, Path]]:
    ca, cert, key = _certificates(tmp_path, "hooks.example.test")
    receiver = TLSReceiver(cert, key)
    yield receiver, ca
    receiver.close()


def _tls_client(ca: Path) -> httpx.Client:
    verify = ssl.create_default_context(cafile=str(ca))
    transport = PinnedTransport(
        allow_private=True, connect=lambda: httpx.HTTPTransport(verify=verify, retries=0)
    )
    return httpx.Client(transport=transport, timeout=5.0)


def test_https_sends_the_name_and_verifies_the_certificate_against_it(
    fake_dns: FakeDNS, tls_receiver: tuple[TLSReceiver, Path]
) -> None:
    receiver, ca = tls_receiver
    fake_dns.answer("hooks.example.test", ["127.0.0.1"], ["127.0.0.2"])
    with _tls_client(ca) as http:
        r = http.post(f"https://hooks.example.test:{receiver.port}/h", content=b"{}")
    assert r.status_code == 200
    # the certificate names hooks.example.test only: connecting by IP verified it by name
    assert receiver.server_names == ["hooks.example.test"]
    assert receiver.hosts == [f"hooks.example.test:{receiver.port}"]
    assert fake_dns.lookups == ["hooks.example.test"]


def test_https_certificate_for_another_name_is_refused(
    fake_dns: FakeDNS, tls_receiver: tuple[TLSReceiver, Path]
) -> None:
    receiver, ca = tls_receiver
    fake_dns.answer("other.example.test", ["127.0.0.1"])
    with (
        _tls_client(ca) as http,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        http.post(f"https://other.example.test:{receiver.port}/h", content=b"{}")
    assert receiver.hosts == []
