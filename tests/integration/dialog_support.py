"""Shared by test_dialog.py and test_tls.py: certificates, the process registry, a way to run
one check and read its JSON record, and small scripted servers (in-process threads) for the
dialogs no real server here plays: a banner-only SSH, FTP, Redis, a server that resets after
EHLO, one that injects data after STARTTLS.

Real servers (Dovecot, Postfix, aiosmtpd) and the hostile ones come from the fixtures package
and are stopped by PID through the Registry.
"""

import json
import socket
import ssl
import threading
import time

import pytest

# the fixtures package (branch fixtures) must be merged for these tests to run
certs_mod = pytest.importorskip("fixtures.certs", reason="tests/integration/fixtures missing")
procs = pytest.importorskip("fixtures.procs", reason="tests/integration/fixtures missing")

PASSWORD = "pw-Zebra-4711"  # distinctive, so a test can prove it never leaks


@pytest.fixture(scope="session")
def registry():
    """Everything the dialog and TLS tests start, stopped by PID at the end of the session."""
    with procs.Registry() as reg:
        yield reg


@pytest.fixture(scope="session")
def shared_dir(registry):
    """A directory daemons that drop privileges (Dovecot, Postfix) can enter."""
    return procs.shared_tmpdir(registry, prefix="portprobe-dialog-")


def server_dir(shared_dir, name):
    """A fresh directory for one server under shared_dir."""
    path = shared_dir / name
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def certs(shared_dir):
    """A private CA with good, wrong-name, expired and expiring (5 days) leaves."""
    return certs_mod.make_cert_set(shared_dir / "certs")


@pytest.fixture(scope="session")
def password_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secret") / "password"
    path.write_text(PASSWORD + "\n")
    return path


@pytest.fixture(scope="session")
def wrong_password_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secret") / "wrong"
    path.write_text("not-" + PASSWORD + "\n")
    return path


def probe(portprobe, url, *options, verbose=False, timeout=30):
    """Run one check with --format json; returns (record, CompletedProcess)."""
    args = ["--format", "json"] + (["-v"] if verbose else []) + [url, *options]
    proc = portprobe(*args, timeout=timeout)
    assert proc.returncode in (0, 1), proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0]), proc


def text_line(portprobe, url, *options, timeout=30):
    """The row `portprobe --format text` prints for one check (without the header)."""
    proc = portprobe("--format", "text", url, *options, timeout=timeout)
    assert proc.returncode in (0, 1), proc.stderr
    rows = proc.stdout.splitlines()
    assert len(rows) == 2, proc.stdout
    return rows[1]


class Scripted:
    """A TCP server on 127.0.0.1 running `handler(conn, server)` for each connection in a
    thread; with `context` each connection is wrapped in TLS first. `seen` collects what the
    handlers record. Stop with close() (the fixtures below do)."""

    def __init__(self, handler, context=None):
        self.handler = handler
        self.context = context
        self.seen = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            if self.context:
                conn = self.context.wrap_socket(conn, server_side=True)
            conn.settimeout(10)
            self.handler(conn, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def read_line(conn, limit=4096):
    """One CRLF line from conn (without the line end); b"" at end of stream."""
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data.rstrip(b"\r\n")


@pytest.fixture
def scripted():
    """scripted(handler, context=None) -> a running Scripted server, closed after the test."""
    servers = []

    def start(handler, context=None):
        server = Scripted(handler, context)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def server_context(leaf):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(leaf.chain), str(leaf.key))
    return context


def elapsed(fn):
    """(result of fn(), seconds it took)."""
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start
