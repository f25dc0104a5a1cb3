"""Hostile peers (issue 24), each played by a real server of its own from the fixtures
(hostile_server.py, dns_server.py) against the built command: servers that echo the password
back (quoted, escaped, base64, split over two writes), replies that start with a bare line
feed, files that block when opened, resolvers that fail one lookup badly, a descriptor limit
far below the round's size, and a server that trickles bytes to make the dialog work hard.
Each test asserts what a user reads: the result, its detail, and that no secret shows."""

import json
import os
import resource
import subprocess
import threading
import time

import pytest

from dialog_support import certs, probe, registry, shared_dir  # noqa: F401
from hostile_support import (PASSWORD, USERNAME, leaked, rendered, secret_forms,
                             write_password_file)

hostile = pytest.importorskip("fixtures.hostile")
dns = pytest.importorskip("fixtures.dns")
procs = pytest.importorskip("fixtures.procs")


@pytest.fixture
def bad(registry, tmp_path):
    """bad(mode, **options) -> a running hostile server."""
    return lambda mode, **kw: hostile.start_hostile(registry, tmp_path, mode, **kw)


@pytest.fixture
def password(tmp_path):
    return write_password_file(tmp_path)


# --- secrets: every form the dialog sent is scrubbed, whole or in pieces ---

# (hostile mode, scheme, options) of a login whose refusal echoes what carried the password
ECHOES = {
    "imap LOGIN": ("echo-imap", "imap", []),
    "pop3 PASS": ("echo-pop3", "pop3", []),
    "smtp AUTH PLAIN": ("echo-smtp", "smtp", []),
    "smtp AUTH LOGIN": ("echo-smtp", "smtp", ["auth_mechanism=login"]),
}


def login_words(server, scheme, options, password):
    return [f"{scheme}://127.0.0.1:{server.port}", f"username={USERNAME}",
            f"password_file={password}", "auth_plaintext=yes", "timeout=3s", *options]


def test_the_forms_looked_for_are_the_ones_a_dialog_sends():
    raw, quoted, b64, plain = secret_forms()
    assert quoted == 'Tr0ub\\"ad\\\\or\\xc3\\xb6 Zebra-4711'.join('""')
    assert raw == "Tr0ub\"ad\\or\\xc3\\xb6 Zebra-4711"
    assert leaked(["server said: a2 NO " + quoted]) and not leaked(["a2 NO ****"])
    assert leaked(["half: " + b64[: len(b64) // 2]]) and leaked(["..." + plain[-8:]])


@pytest.mark.parametrize("login", sorted(ECHOES))
def test_an_echoed_password_never_shows_in_the_record(portprobe, bad, password, login):
    mode, scheme, options = ECHOES[login]
    server = bad(mode)
    words = login_words(server, scheme, options, password)
    r, proc = probe(portprobe, *words)
    assert r["result"] == "auth_failed" and r["phase"] == "auth", r
    assert "refused" in r["excerpt"] or "failed" in r["excerpt"], r["excerpt"]
    assert "****" in r["excerpt"], r["excerpt"]
    influx = portprobe("--format", "influx", *words)
    assert "auth_failed" in influx.stdout, influx.stdout + influx.stderr
    assert not leaked([proc.stdout, proc.stderr, influx.stdout, influx.stderr])


def test_an_echoed_password_never_shows_in_the_alert(portprobe, bad, password, tmp_path):
    server = bad("echo-imap")
    words = login_words(server, "imap", ["down_after=1"], password)
    state = tmp_path / "state"
    shown = [portprobe("--format", fmt, "--state-file", state.with_suffix("." + fmt), *words)
             for fmt in ("text", "json", "influx")]
    assert "ALERT failure: " in shown[0].stdout, shown[0].stdout
    assert '"event":true' in shown[1].stdout and "portprobe_event," in shown[2].stdout
    assert "****" in shown[0].stdout
    assert not leaked([p.stdout + p.stderr for p in shown])


@pytest.mark.parametrize("login", sorted(ECHOES))
def test_an_echo_split_over_two_writes_never_shows_in_the_trace(portprobe, bad, password,
                                                                 login):
    mode, scheme, options = ECHOES[login]
    server = bad(mode, split=True)
    r, proc = probe(portprobe, *login_words(server, scheme, options, password), verbose=True)
    assert r["result"] == "auth_failed", r
    assert "S: " in proc.stderr  # the trace is on
    assert not leaked([proc.stdout, proc.stderr]), proc.stderr


def test_a_password_file_readable_by_others_is_warned_about(portprobe, bad, tmp_path):
    server = bad("echo-imap")
    private = write_password_file(tmp_path)
    r, proc = probe(portprobe, *login_words(server, "imap", [], private))
    assert r["result"] == "auth_failed" and "password_file" not in proc.stderr
    private.chmod(0o644)
    r, proc = probe(portprobe, *login_words(server, "imap", [], private))
    assert r["result"] == "auth_failed"
    assert (f'warning: target "imap://127.0.0.1:{server.port}": password_file {private} is '
            "readable by others (mode 0644)") in proc.stderr, proc.stderr
    assert not leaked([proc.stdout, proc.stderr])
