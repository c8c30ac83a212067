"""Malformed and hostile byte streams, sent raw: each gets a clear error, no session is harmed."""

from __future__ import annotations

import socket
import struct

import psycopg
import pytest

from tests.support.proxy_process import ProxyProcess
from tests.support.raw_client import RawConnection, message, query, startup_packet

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def healthy(proxy: ProxyProcess):
    """A well-behaved session that stays open while another client misbehaves."""
    with psycopg.connect(proxy.dsn("ana")) as connection:
        assert connection.execute("SELECT count(*) FROM shop.products").fetchone()[0] > 0
        yield connection
        # The misbehaving client must not have disturbed this session.
        assert connection.execute("SELECT count(*) FROM shop.customers").fetchone() == (1200,)


def _fatal_then_closed(raw: RawConnection) -> dict[str, str]:
    reply = raw.read()
    assert reply is not None and reply.type == b"E", reply
    fields = reply.fields()
    assert fields["S"] == "FATAL"
    assert raw.closed()
    return fields


def test_oversized_startup_packet_is_refused_before_reading_it(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.send(struct.pack("!I", 10_001) + struct.pack("!I", 3 << 16))
    fields = _fatal_then_closed(raw)
    assert fields["C"] == "08P01"
    assert "startup packet" in fields["M"]


def test_startup_packet_shorter_than_its_header(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.send(struct.pack("!I", 4))
    assert _fatal_then_closed(raw)["C"] == "08P01"


@pytest.mark.parametrize("partial", [b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x50\x00\x03"])
def test_partial_startup_then_disconnect(proxy, healthy, partial):
    raw = RawConnection(proxy.host, proxy.port)
    raw.send(partial)
    raw.close()


def test_unknown_protocol_major_version(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    body = struct.pack("!I", (2 << 16)) + b"user\0ana\0\0"
    raw.send(struct.pack("!I", len(body) + 4) + body)
    fields = _fatal_then_closed(raw)
    assert fields["C"] == "0A000"


def test_message_longer_than_the_limit_is_refused_without_waiting_for_it(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(b"Q" + struct.pack("!I", 2**31 - 1))  # claims ~2 GiB, sends nothing more
    fields = _fatal_then_closed(raw)
    assert fields["C"] == "08P01"
    assert "invalid message length" in fields["M"]


def test_negative_message_length(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(b"Q" + struct.pack("!i", 2))
    assert _fatal_then_closed(raw)["C"] == "08P01"


def test_unknown_message_type(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(message(b"z", b"junk"))
    fields = _fatal_then_closed(raw)
    assert fields["C"] == "08P01"


def test_second_startup_packet_after_login(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(startup_packet("ana"))
    assert _fatal_then_closed(raw)["C"] == "08P01"


def test_copy_data_outside_copy(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(message(b"d", b"1\t2\n"))
    assert _fatal_then_closed(raw)["C"] == "08P01"


def test_function_call_is_refused_and_the_session_goes_on(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(message(b"F", struct.pack("!I", 1598) + b"\0\0\0\0\0\0"))
    replies = raw.read_until(b"Z")
    assert replies[0].type == b"E" and replies[0].fields()["C"] == "08P01"
    raw.send(query("SELECT 1"))
    replies = raw.read_until(b"Z")
    assert [r.type for r in replies] == [b"T", b"D", b"C", b"Z"]


def test_message_payload_with_trailing_garbage(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(message(b"S", b"extra"))  # Sync has no payload
    assert _fatal_then_closed(raw)["C"] == "08P01"


def test_query_without_terminator(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(message(b"Q", b"SELECT 1"))
    assert _fatal_then_closed(raw)["C"] == "08P01"


def test_invalid_utf8_is_22021_and_the_session_goes_on(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    raw.send(query(b"SELECT '\xc3\x28'"))
    replies = raw.read_until(b"Z")
    error = replies[0].fields()
    assert replies[0].type == b"E" and error["C"] == "22021"
    assert "0xc3 0x28" in error["M"]
    raw.send(query("SELECT 2"))
    assert [r.type for r in raw.read_until(b"Z")] == [b"T", b"D", b"C", b"Z"]


def test_plaintext_bytes_after_ssl_request_close_the_connection(proxy, healthy):
    """CVE-2021-23214: bytes queued before the TLS handshake must not be trusted."""
    sock = socket.create_connection((proxy.host, proxy.port), timeout=10)
    ssl_request = struct.pack("!II", 8, 80877103)
    sock.sendall(ssl_request + startup_packet("ana"))  # one segment: injected startup
    answer = sock.recv(1)
    assert answer == b"S"
    sock.settimeout(10)
    rest = b""
    try:
        while chunk := sock.recv(4096):
            rest += chunk
    except ConnectionResetError:
        pass
    # Nothing of a session ever follows: no AuthenticationRequest, only an error or EOF.
    assert b"R\x00\x00\x00" not in rest
    sock.close()


def test_gssenc_request_is_declined_and_startup_continues(proxy, healthy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.send(struct.pack("!II", 8, 80877104))
    assert raw.read_byte() == b"N"
    replies = raw.login("ana")
    assert replies[-1].type == b"Z"


def test_ssl_request_is_accepted_when_tls_is_configured(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.send(struct.pack("!II", 8, 80877103))
    assert raw.read_byte() == b"S"


@pytest.mark.parametrize(("minor", "key_length"), [(0, 4), (2, 32)])
def test_cancel_key_length_follows_protocol_version(proxy, minor, key_length):
    raw = RawConnection(proxy.host, proxy.port)
    replies = raw.login("ana", minor=minor)
    key_data = next(r for r in replies if r.type == b"K")
    assert len(key_data.payload) == 4 + key_length
    assert not any(r.type == b"v" for r in replies)


def test_newer_minor_version_and_unknown_options_are_negotiated_down(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    replies = raw.login("ana", minor=5, **{"_pq_.compression": "on"})
    negotiation = next(r for r in replies if r.type == b"v")
    newest_minor, count = struct.unpack("!II", negotiation.payload[:8])
    assert newest_minor == 2 and count == 1
    assert negotiation.payload[8:] == b"_pq_.compression\0"
    assert replies[-1].type == b"Z"


def test_cancel_request_with_a_wrong_key_cancels_nothing(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    replies = raw.login("ana")
    key = next(r for r in replies if r.type == b"K").payload
    process_id, secret = key[:4], key[4:]
    wrong = bytes([secret[0] ^ 0xFF]) + secret[1:]
    canceller = socket.create_connection((proxy.host, proxy.port), timeout=10)
    canceller.sendall(struct.pack("!II", 16, 80877102) + process_id + wrong)
    assert canceller.recv(1) == b""  # closed without a reply, as PostgreSQL does
    raw.send(query("SELECT count(*) FROM shop.orders"))
    replies = raw.read_until(b"Z")
    assert [r.type for r in replies] == [b"T", b"D", b"C", b"Z"]


def test_missing_user_is_fatal(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    body = struct.pack("!I", 3 << 16) + b"database\0acme\0\0"
    raw.send(struct.pack("!I", len(body) + 4) + body)
    assert _fatal_then_closed(raw)["C"] == "28000"


def test_unknown_user_fails_like_a_wrong_password(proxy):
    with pytest.raises(psycopg.OperationalError) as failure:
        psycopg.connect(proxy.dsn("mallory", password="x"), sslmode="disable")
    assert 'password authentication failed for user "mallory"' in str(failure.value)


def test_many_garbage_clients_do_not_disturb_a_working_session(proxy, healthy):
    for payload in (b"\xff" * 64, b"GET / HTTP/1.1\r\n\r\n", b"\x00\x00\x00\x08\x04\xd2\x16\x2f"):
        sock = socket.create_connection((proxy.host, proxy.port), timeout=10)
        sock.sendall(payload)
        sock.close()
