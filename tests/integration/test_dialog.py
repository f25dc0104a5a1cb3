"""Protocol dialogs against real servers: Postfix (smtp, submission, smtps), aiosmtpd (SMTP
AUTH after STARTTLS and in SMTPS), Dovecot (imap, imaps, pop3, pop3s, STARTTLS, login), the
presets (ssh, ftp, redis; redis also against a real redis-server), the user's send/expect, and the hostile servers: silent, garbage,
endless, dripping, resetting, closing, refusing. Each asserts what an administrator reads:
the result, the phase, the detail and the server's words."""

import base64
import socket
import struct

import pytest

from dialog_support import (PASSWORD, certs, elapsed, password_file, probe,  # noqa: F401
                            read_line, registry, scripted, server_dir, shared_dir, text_line,
                            wrong_password_file)
dovecot = pytest.importorskip("fixtures.dovecot")
hostile = pytest.importorskip("fixtures.hostile")
smtp = pytest.importorskip("fixtures.smtp")
redis = pytest.importorskip("fixtures.redis")


@pytest.fixture(scope="module")
def postfix(registry, certs, shared_dir):
    return smtp.start_postfix(registry, server_dir(shared_dir, "postfix"), certs.good)


@pytest.fixture(scope="module")
def dove(registry, certs, shared_dir):
    return dovecot.start_dovecot(registry, server_dir(shared_dir, "dovecot"), certs.good,
                                 username="test", password=PASSWORD)


@pytest.fixture(scope="module")
def dove_plain(registry, shared_dir):
    """A Dovecot without TLS: it offers neither STARTTLS nor STLS."""
    return dovecot.start_dovecot(registry, server_dir(shared_dir, "dovecot-plain"),
                                 tls=False, username="test", password=PASSWORD)


@pytest.fixture(scope="module")
def auth_sink(registry, certs, tmp_path_factory):
    """aiosmtpd with STARTTLS, AUTH PLAIN and LOGIN offered only after it."""
    return smtp.start_smtp_sink(registry, tmp_path_factory.mktemp("sink"), certs.good,
                                tls="starttls", username="test", password=PASSWORD)


@pytest.fixture(scope="module")
def auth_sink_smtps(registry, certs, tmp_path_factory):
    return smtp.start_smtp_sink(registry, tmp_path_factory.mktemp("sink-smtps"), certs.good,
                                tls="implicit", username="test", password=PASSWORD)


@pytest.fixture
def bad(registry, tmp_path):
    """bad(mode, **options) -> a running hostile server."""
    return lambda mode, **kw: hostile.start_hostile(registry, tmp_path, mode, **kw)


def ca(certs):
    return f"ca_file={certs.ca.cert}"


# --- SMTP: Postfix ---

def test_smtp_uses_starttls_when_offered(portprobe, postfix, certs):
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{postfix.smtp_port}", ca(certs))
    assert r["result"] == "ok" and r["up"] == 1
    assert r["tls_version"].startswith("TLSv1.")
    assert r["excerpt"].startswith("220 postfix.test ESMTP")
    assert 364 * 86400 < r["cert_expiry"] < 366 * 86400
    assert r["cert_grade"] == "good"


def test_submission_requires_starttls_and_gets_it(portprobe, postfix, certs):
    r, _ = probe(portprobe, f"submission://127.0.0.1:{postfix.smtp_port}", ca(certs))
    assert r["result"] == "ok" and r["tls_version"].startswith("TLSv1.")


def test_smtps_speaks_smtp_inside_tls(portprobe, postfix, certs):
    r, _ = probe(portprobe, f"smtps://127.0.0.1:{postfix.smtps_port}", ca(certs))
    assert r["result"] == "ok"
    assert r["tls_version"].startswith("TLSv1.")
    assert r["excerpt"].startswith("220 postfix.test ESMTP")
    assert r["tls_time"] > 0 and r["first_byte_time"] > 0


def test_smtp_starttls_no_stays_in_clear_text(portprobe, postfix):
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{postfix.smtp_port}", "starttls=no")
    assert r["result"] == "ok" and "tls_version" not in r


def test_smtp_expect_banner_mismatch_names_the_greeting(portprobe, postfix):
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{postfix.smtp_port}", "starttls=no",
                 "expect_banner=^220 other\\.example")
    assert r["result"] == "banner_mismatch" and r["phase"] == "banner"
    assert "expect_banner" in r["detail"]
    assert r["excerpt"].startswith("220 postfix.test")


def test_smtp_user_send_expect_runs_after_the_protocol(portprobe, postfix):
    url = f"smtp://127.0.0.1:{postfix.smtp_port}"
    r, _ = probe(portprobe, url, "starttls=no", "send=NOOP\\r\\n", "expect=^250")
    assert r["result"] == "ok"
    r, _ = probe(portprobe, url, "starttls=no", "send=NOOP\\r\\n", "expect=^354")
    assert r["result"] == "expect_mismatch" and r["phase"] == "dialog"
    assert r["excerpt"].startswith("250 2.0.0 Ok")


# --- SMTP: refusals and missing STARTTLS ---

def test_smtp_554_greeting_fails_with_the_servers_words(portprobe, registry, tmp_path):
    sink = smtp.start_smtp_sink(registry, tmp_path, greeting="554 no service")
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{sink.port}")
    assert r["result"] == "banner_mismatch" and r["phase"] == "banner"
    assert r["detail"] == "greeting refuses service (554)"
    assert r["excerpt"] == "554 no service"


def test_submission_without_starttls_offer_is_starttls_unavailable(portprobe, bad):
    server = bad("smtp-no-starttls")
    r, _ = probe(portprobe, f"submission://127.0.0.1:{server.port}")
    assert r["result"] == "starttls_unavailable" and r["phase"] == "starttls"
    assert r["detail"] == "server does not offer STARTTLS"
    assert r["excerpt"].startswith("250-hostile.test 250-PIPELINING")


def test_smtp_try_without_starttls_says_it_stayed_plain(portprobe, bad):
    server = bad("smtp-no-starttls")
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}")
    assert r["result"] == "ok" and "tls_version" not in r
    assert r["detail"] == "server offers no STARTTLS: plain text"


def test_smtp_sends_the_configured_ehlo_name(portprobe, scripted):
    def handler(conn, server):
        conn.sendall(b"220 fake ESMTP\r\n")
        server.seen.append(read_line(conn))
        conn.sendall(b"250 fake\r\n")
        if read_line(conn) == b"QUIT":
            conn.sendall(b"221 bye\r\n")
    server = scripted(handler)
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}", "ehlo=probe.example")
    assert r["result"] == "ok"
    assert server.seen == [b"EHLO probe.example"]


def test_smtp_reset_after_ehlo_is_reset_in_dialog(portprobe, scripted):
    def handler(conn, server):
        conn.sendall(b"220 fake ESMTP\r\n")
        read_line(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server = scripted(handler)
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}", "timeout=3s")
    assert r["result"] == "reset" and r["phase"] == "dialog"
    assert "EHLO" in r["detail"]


# --- SMTP AUTH (aiosmtpd) ---

def test_smtp_auth_after_starttls_succeeds(portprobe, auth_sink, certs, password_file):
    r, _ = probe(portprobe, f"submission://127.0.0.1:{auth_sink.port}", ca(certs),
                 "username=test", f"password_file={password_file}")
    assert r["result"] == "ok" and r["tls_version"].startswith("TLSv1.")


def test_smtp_auth_login_mechanism_succeeds(portprobe, auth_sink, certs, password_file):
    r, _ = probe(portprobe, f"submission://127.0.0.1:{auth_sink.port}", ca(certs),
                 "username=test", f"password_file={password_file}", "auth_mechanism=login")
    assert r["result"] == "ok"


def test_smtp_auth_refused_is_auth_failed_without_the_secret(
        portprobe, auth_sink, certs, wrong_password_file):
    r, proc = probe(portprobe, f"submission://127.0.0.1:{auth_sink.port}", ca(certs),
                    "username=test", f"password_file={wrong_password_file}", verbose=True)
    assert r["result"] == "auth_failed" and r["phase"] == "auth"
    assert r["detail"] == "AUTH PLAIN refused (535)"
    assert r["excerpt"].startswith("535")
    wrong = "not-" + PASSWORD
    for text in (proc.stdout, proc.stderr):
        assert wrong not in text
        assert base64.b64encode(wrong.encode()).decode() not in text
    assert "AUTH PLAIN ****" in proc.stderr  # the trace shows the step, masked


def test_smtps_auth_succeeds(portprobe, auth_sink_smtps, certs, password_file):
    r, _ = probe(portprobe, f"smtps://127.0.0.1:{auth_sink_smtps.port}", ca(certs),
                 "username=test", f"password_file={password_file}")
    assert r["result"] == "ok"


def test_smtp_password_is_never_sent_without_tls(portprobe, registry, tmp_path,
                                                 password_file):
    sink = smtp.start_smtp_sink(registry, tmp_path, username="test", password=PASSWORD,
                                auth_require_tls=False)
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{sink.port}", "username=test",
                 f"password_file={password_file}")
    assert r["result"] == "starttls_unavailable" and r["phase"] == "auth"
    assert "auth_plaintext=yes" in r["detail"]
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{sink.port}", "username=test",
                 f"password_file={password_file}", "auth_plaintext=yes")
    assert r["result"] == "ok"


def test_smtp_login_where_no_auth_is_offered_is_auth_failed(portprobe, postfix, certs,
                                                            password_file):
    r, proc = probe(portprobe, f"submission://127.0.0.1:{postfix.smtp_port}", ca(certs),
                    "username=test", f"password_file={password_file}", verbose=True)
    assert r["result"] == "auth_failed" and r["phase"] == "auth"
    assert r["detail"] == "server offers no AUTH"
    assert PASSWORD not in proc.stdout + proc.stderr


def test_unreadable_password_file_is_a_local_error(portprobe, auth_sink, certs, tmp_path):
    r, _ = probe(portprobe, f"submission://127.0.0.1:{auth_sink.port}", ca(certs),
                 "username=test", f"password_file={tmp_path}/none")
    assert r["result"] == "socket_error" and r["phase"] == "auth"
    assert r["detail"] == f"password_file {tmp_path}/none: No such file or directory"


# --- IMAP and POP3: Dovecot ---

def test_imap_starttls_and_capability(portprobe, dove, certs):
    r, _ = probe(portprobe, f"imap://127.0.0.1:{dove.imap_port}", ca(certs))
    assert r["result"] == "ok" and r["tls_version"].startswith("TLSv1.")
    assert r["excerpt"].startswith("* OK")


def test_imaps_implicit_tls(portprobe, dove, certs):
    r, _ = probe(portprobe, f"imaps://127.0.0.1:{dove.imaps_port}", ca(certs))
    assert r["result"] == "ok" and r["cert_grade"] == "good"


def test_imap_login_succeeds(portprobe, dove, certs, password_file):
    r, _ = probe(portprobe, f"imap://127.0.0.1:{dove.imap_port}", ca(certs),
                 "username=test", f"password_file={password_file}")
    assert r["result"] == "ok"


def test_imap_login_refused_is_auth_failed_without_the_secret(
        portprobe, dove, certs, wrong_password_file):
    r, proc = probe(portprobe, f"imaps://127.0.0.1:{dove.imaps_port}", ca(certs),
                    "username=test", f"password_file={wrong_password_file}", verbose=True)
    assert r["result"] == "auth_failed" and r["phase"] == "auth"
    assert r["detail"] == "LOGIN refused (NO)"
    assert "AUTHENTICATIONFAILED" in r["excerpt"]
    assert "not-" + PASSWORD not in proc.stdout + proc.stderr
    assert 'LOGIN "test" ****' in proc.stderr


def test_imap_require_without_starttls_is_starttls_unavailable(portprobe, dove_plain):
    r, _ = probe(portprobe, f"imap://127.0.0.1:{dove_plain.imap_port}", "starttls=require")
    assert r["result"] == "starttls_unavailable" and r["phase"] == "starttls"
    assert "CAPABILITY" in r["excerpt"]


def test_imap_bye_greeting_is_told_apart(portprobe, bad):
    server = bad("imap-bye")
    r, _ = probe(portprobe, f"imap://127.0.0.1:{server.port}")
    assert r["result"] == "banner_mismatch" and r["phase"] == "banner"
    assert r["detail"] == "greeting is BYE: the server refuses the connection"
    assert r["excerpt"] == "* BYE hostile.test is shutting down"


def test_imap_preauth_greeting_is_up_but_says_so(portprobe, bad):
    server = bad("imap-preauth")
    r, _ = probe(portprobe, f"imap://127.0.0.1:{server.port}")
    assert r["result"] == "ok"
    assert "PREAUTH" in r["detail"] and "tls_version" not in r


def test_imap_preauth_cannot_satisfy_starttls_require(portprobe, bad):
    server = bad("imap-preauth")
    r, _ = probe(portprobe, f"imap://127.0.0.1:{server.port}", "starttls=require")
    assert r["result"] == "starttls_unavailable"
    assert "PREAUTH" in r["detail"]


def test_pop3_stls_and_capa(portprobe, dove, certs):
    r, _ = probe(portprobe, f"pop3://127.0.0.1:{dove.pop3_port}", ca(certs))
    assert r["result"] == "ok" and r["tls_version"].startswith("TLSv1.")
    assert r["excerpt"].startswith("+OK")


def test_pop3s_implicit_tls(portprobe, dove, certs):
    r, _ = probe(portprobe, f"pop3s://127.0.0.1:{dove.pop3s_port}", ca(certs))
    assert r["result"] == "ok"


def test_pop3_login_succeeds_and_fails(portprobe, dove, certs, password_file,
                                       wrong_password_file):
    url = f"pop3://127.0.0.1:{dove.pop3_port}"
    r, _ = probe(portprobe, url, ca(certs), "username=test", f"password_file={password_file}")
    assert r["result"] == "ok"
    r, proc = probe(portprobe, url, ca(certs), "username=test",
                    f"password_file={wrong_password_file}", verbose=True)
    assert r["result"] == "auth_failed" and r["detail"] == "PASS refused (-ERR)"
    assert "not-" + PASSWORD not in proc.stdout + proc.stderr


def test_pop3_require_without_stls_is_starttls_unavailable(portprobe, dove_plain):
    r, _ = probe(portprobe, f"pop3://127.0.0.1:{dove_plain.pop3_port}", "starttls=require")
    assert r["result"] == "starttls_unavailable"
    assert r["detail"] == "server does not offer STLS"


def test_plain_text_login_when_allowed(portprobe, dove_plain, password_file):
    r, _ = probe(portprobe, f"imap://127.0.0.1:{dove_plain.imap_port}", "starttls=no",
                 "username=test", f"password_file={password_file}", "auth_plaintext=yes")
    assert r["result"] == "ok"


# --- presets and the user's send/expect ---

def test_ssh_banner(portprobe, scripted):
    server = scripted(lambda c, s: (c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
                                    read_line(c)))
    r, _ = probe(portprobe, f"ssh://127.0.0.1:{server.port}")
    assert r["result"] == "ok" and r["excerpt"] == "SSH-2.0-OpenSSH_9.2p1 Debian-2"


def test_ssh_port_answering_smtp_is_banner_mismatch(portprobe, bad):
    server = bad("smtp-no-starttls")
    r, _ = probe(portprobe, f"ssh://127.0.0.1:{server.port}")
    assert r["result"] == "banner_mismatch" and r["excerpt"].startswith("220 hostile")


def test_ftp_multiline_greeting_and_quit(portprobe, scripted):
    def handler(conn, server):
        conn.sendall(b"220-Welcome\r\n free text\r\n220 ready\r\n")
        server.seen.append(read_line(conn))
        conn.sendall(b"221 bye\r\n")
    server = scripted(handler)
    r, _ = probe(portprobe, f"ftp://127.0.0.1:{server.port}")
    assert r["result"] == "ok" and server.seen == [b"QUIT"]


def redis_handler(reply):
    def handler(conn, server):
        while line := read_line(conn):
            server.seen.append(line)
            conn.sendall(reply if line == b"PING" else b"+OK\r\n")
    return handler


def test_redis_ping_pong(portprobe, scripted):
    server = scripted(redis_handler(b"+PONG\r\n"))
    r, _ = probe(portprobe, f"redis://127.0.0.1:{server.port}")
    assert r["result"] == "ok" and r["excerpt"] == "+PONG"


def test_redis_needing_auth_is_expect_mismatch(portprobe, scripted):
    server = scripted(redis_handler(b"-NOAUTH Authentication required.\r\n"))
    r, _ = probe(portprobe, f"redis://127.0.0.1:{server.port}")
    assert r["result"] == "expect_mismatch" and r["phase"] == "dialog"
    assert r["excerpt"] == "-NOAUTH Authentication required."


@pytest.fixture(scope="module")
def real_redis(registry, shared_dir):
    return redis.start_redis(registry, server_dir(shared_dir, "redis"))


@pytest.fixture(scope="module")
def real_redis_with_password(registry, shared_dir):
    return redis.start_redis(registry, server_dir(shared_dir, "redis-auth"),
                             password="pw-redis-4711")


def test_redis_preset_against_real_redis(portprobe, real_redis):
    r, _ = probe(portprobe, f"redis://127.0.0.1:{real_redis.port}")
    assert r["result"] == "ok" and r["excerpt"] == "+PONG"


def test_real_redis_wanting_a_password_is_expect_mismatch_in_its_words(
        portprobe, real_redis_with_password):
    r, _ = probe(portprobe, f"redis://127.0.0.1:{real_redis_with_password.port}")
    assert r["result"] == "expect_mismatch" and r["phase"] == "dialog"
    assert r["excerpt"] == "-NOAUTH Authentication required."


def test_send_expect_against_real_redis(portprobe, real_redis):
    """A dialog of the user's own on tcp://: the server's role from INFO."""
    r, _ = probe(portprobe, f"tcp://127.0.0.1:{real_redis.port}",
                 "send=INFO replication\r\n", "expect=role:master")
    assert r["result"] == "ok", r


def echo_upper(conn, server):
    while line := read_line(conn):
        conn.sendall(line.upper() + b"\r\n")


def test_tcp_send_expect_matches(portprobe, scripted):
    server = scripted(echo_upper)
    r, _ = probe(portprobe, f"tcp://127.0.0.1:{server.port}", "send=hello\\r\\n",
                 "expect=^HELLO$", "send=bye\\r\\n", "expect=^BYE")
    assert r["result"] == "ok" and r["excerpt"] == "HELLO"


def test_tcp_expect_mismatch_is_judged_before_the_timeout(portprobe, scripted):
    server = scripted(echo_upper)
    (r, _), took = elapsed(lambda: probe(portprobe, f"tcp://127.0.0.1:{server.port}",
                                         "timeout=1.5s", "send=hello\\r\\n", "expect=^WORLD"))
    assert r["result"] == "expect_mismatch" and r["phase"] == "dialog"
    assert r["excerpt"] == "HELLO" and "no match for /^WORLD/" in r["detail"]
    assert took < 3


def test_tcp_expect_mismatch_when_server_closes(portprobe, scripted):
    server = scripted(lambda c, s: c.sendall(b"nope\r\n"))
    r, _ = probe(portprobe, f"tcp://127.0.0.1:{server.port}", "expect=^yes")
    assert r["result"] == "expect_mismatch" and r["phase"] == "banner"
    assert r["detail"] == "connection closed before /^yes/ matched"


def test_tls_send_expect_inside_tls(portprobe, dove, certs):
    r, _ = probe(portprobe, f"tls://127.0.0.1:{dove.imaps_port}", ca(certs),
                 "expect=^\\* OK", "send=a1 LOGOUT\\r\\n", "expect=^a1 OK")
    assert r["result"] == "ok" and r["tls_version"].startswith("TLSv1.")


# --- hostile servers: every bad behaviour gets a named result within the timeout ---

def test_silent_server_is_timeout_in_banner(portprobe, bad):
    server = bad("silent")
    (r, _), took = elapsed(lambda: probe(portprobe, f"smtp://127.0.0.1:{server.port}",
                                         "timeout=1s"))
    assert r["result"] == "timeout" and r["phase"] == "banner"
    assert took < 2.5


def test_garbage_is_protocol_error_with_escaped_excerpt(portprobe, bad):
    server = bad("garbage", size=64)
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}")
    assert r["result"] == "protocol_error" and r["phase"] == "banner"
    assert r["detail"] == "binary data in reply"
    assert r["excerpt"].startswith("\\x00\\xff\\xfe\\x1b")


def test_endless_line_is_protocol_error_at_max_reply(portprobe, bad):
    server = bad("huge", size=1 << 20)
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}", "max_reply=4k")
    assert r["result"] == "protocol_error"
    assert r["detail"] == "reply longer than 4096 bytes (max_reply)"
    assert r["excerpt"].startswith("220 xxxx") and r["excerpt"].endswith("...")


def test_endless_stream_without_newline_on_a_line_protocol(portprobe, bad):
    server = bad("endless")
    r, _ = probe(portprobe, f"ssh://127.0.0.1:{server.port}", "timeout=3s")
    assert r["result"] == "protocol_error"
    assert "max_reply" in r["detail"]


def test_dripping_server_times_out_with_what_it_said(portprobe, bad):
    server = bad("drip", interval=0.3)
    (r, _), took = elapsed(lambda: probe(portprobe, f"smtp://127.0.0.1:{server.port}",
                                         "timeout=1.5s"))
    assert r["result"] == "timeout" and r["phase"] == "banner"
    assert r["excerpt"].startswith("220") and len(r["excerpt"]) < 10
    assert took < 3


def test_reset_mid_greeting_is_reset(portprobe, bad):
    server = bad("reset")
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}")
    assert r["result"] == "reset" and r["phase"] == "banner"
    assert r["excerpt"].startswith("220 hostile")


def test_close_before_greeting_is_closed(portprobe, bad):
    server = bad("close")
    r, _ = probe(portprobe, f"imap://127.0.0.1:{server.port}")
    assert r["result"] == "closed" and r["phase"] == "banner"
    assert r["detail"] == "server closed the connection before the greeting"


def test_silent_server_inside_tls_times_out_after_handshake(portprobe, bad, certs):
    server = bad("silent", leaf=certs.good)
    r, _ = probe(portprobe, f"smtps://127.0.0.1:{server.port}", ca(certs), "timeout=1s")
    assert r["result"] == "timeout" and r["phase"] == "banner"
    assert r["tls_version"].startswith("TLSv1.")


# --- what a person reads ---

def test_text_format_shows_result_detail_tls_and_words(portprobe, postfix, bad, certs):
    up = text_line(portprobe, f"smtp://127.0.0.1:{postfix.smtp_port}", ca(certs))
    assert up.startswith("UP") and " ok " in up
    assert "TLSv1.3" in up and "cert expires in" in up
    assert 'server said: "220 postfix.test ESMTP' in up
    server = bad("smtp-no-starttls")
    down = text_line(portprobe, f"submission://127.0.0.1:{server.port}")
    assert down.startswith("DOWN") and "starttls_unavailable" in down
    assert "server does not offer STARTTLS" in down and 'server said: "250-hostile' in down
