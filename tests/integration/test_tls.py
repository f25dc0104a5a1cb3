"""TLS under the dialogs: implicit TLS and STARTTLS, verification of chain and name told apart
from a failed handshake, and the facts (version, seconds until the leaf expires, grade)
reported for every TLS check, also when verification fails. Certificates are made at test
time: a private CA, a good leaf, one for the wrong name, an expired one, one expiring in 5
days."""

import datetime
import ssl

import pytest

from dialog_support import (certs, probe, read_line, registry, scripted,  # noqa: F401
                            server_context, server_dir, shared_dir, text_line)
certs_mod = pytest.importorskip("fixtures.certs")
hostile = pytest.importorskip("fixtures.hostile")
smtp = pytest.importorskip("fixtures.smtp")

DAY = 86400


@pytest.fixture
def tls_server(registry, tmp_path):
    """tls_server(leaf) -> a TLS server (hostile 'silent' mode) presenting leaf."""
    return lambda leaf: hostile.start_hostile(registry, tmp_path, "silent", leaf=leaf)


def url(server):
    return f"tls://127.0.0.1:{server.port}"


def test_good_certificate_verifies_and_reports_facts(portprobe, tls_server, certs):
    r, _ = probe(portprobe, url(tls_server(certs.good)), f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok" and r["up"] == 1
    assert r["tls_version"] == "TLSv1.3"
    expected = (certs.good.not_after - datetime.datetime.now(datetime.timezone.utc))
    assert abs(r["cert_expiry"] - expected.total_seconds()) < 120
    assert r["cert_grade"] == "good"
    assert r["tls_time"] > 0


def test_unknown_ca_is_verify_failed_with_facts(portprobe, tls_server, certs):
    r, _ = probe(portprobe, url(tls_server(certs.good)))  # the system's CAs only
    assert r["result"] == "tls_verify_failed" and r["phase"] == "tls"
    # the server sends its chain, CA included: a root the system does not trust
    assert r["detail"] == "self-signed certificate in certificate chain"
    assert r["tls_version"] == "TLSv1.3" and r["cert_expiry"] > 300 * DAY


def test_wrong_name_is_verify_failed(portprobe, tls_server, certs):
    r, _ = probe(portprobe, url(tls_server(certs.wrong_name)), f"ca_file={certs.ca.cert}")
    assert r["result"] == "tls_verify_failed"
    assert r["detail"] == "IP address mismatch: certificate is not for 127.0.0.1"


def test_sni_names_the_host_to_verify(portprobe, tls_server, certs):
    server = tls_server(certs.good)
    r, _ = probe(portprobe, url(server), f"ca_file={certs.ca.cert}", "sni=localhost")
    assert r["result"] == "ok"
    r, _ = probe(portprobe, url(server), f"ca_file={certs.ca.cert}", "sni=wrong.example")
    assert r["result"] == "tls_verify_failed"
    assert r["detail"] == "hostname mismatch: certificate is not for wrong.example"


def test_host_name_target_is_verified_by_name(portprobe, tls_server, certs):
    server = tls_server(certs.good)
    r, _ = probe(portprobe, f"tls://localhost:{server.port}", f"ca_file={certs.ca.cert}",
                 "address_family=ipv4")
    assert r["result"] == "ok"


def test_expired_certificate_shows_negative_time_left(portprobe, tls_server, certs):
    r, _ = probe(portprobe, url(tls_server(certs.expired)), f"ca_file={certs.ca.cert}")
    assert r["result"] == "tls_verify_failed"
    assert r["detail"] == "certificate has expired"
    assert -2 * DAY < r["cert_expiry"] < -DAY + 120
    assert r["cert_grade"] == "critical"


def test_expired_certificate_without_verification_is_up_but_critical(
        portprobe, tls_server, certs):
    r, _ = probe(portprobe, url(tls_server(certs.expired)), "verify=no")
    assert r["result"] == "ok"
    assert r["cert_expiry"] < 0 and r["cert_grade"] == "critical"
    assert r["detail"].startswith("not verified (verify=no):")


def test_expiring_certificate_is_graded(portprobe, tls_server, certs):
    server = tls_server(certs.expiring)
    ca = f"ca_file={certs.ca.cert}"
    r, _ = probe(portprobe, url(server), ca)
    assert r["result"] == "ok" and 5 * DAY < r["cert_expiry"] < 6 * DAY
    assert r["cert_grade"] == "critical"  # default cert_crit_days=7
    r, _ = probe(portprobe, url(server), ca, "cert_crit_days=3")
    assert r["cert_grade"] == "warning"  # default cert_warn_days=20
    r, _ = probe(portprobe, url(server), ca, "cert_warn_days=4", "cert_crit_days=2")
    assert r["cert_grade"] == "good"


def test_plain_server_on_tls_port_is_handshake_failed(portprobe, registry, tmp_path):
    server = hostile.start_hostile(registry, tmp_path, "smtp-no-starttls")
    r, _ = probe(portprobe, url(server))
    assert r["result"] == "tls_handshake_failed" and r["phase"] == "tls"
    assert r["detail"] in ("wrong version number", "packet length too long")
    assert "tls_version" not in r


def test_server_closing_during_handshake_is_handshake_failed(portprobe, registry, tmp_path):
    server = hostile.start_hostile(registry, tmp_path, "close")
    r, _ = probe(portprobe, url(server))
    assert r["result"] == "tls_handshake_failed"
    assert r["detail"] == "server closed the connection during the TLS handshake"


def test_tls12_server_reports_its_version(portprobe, scripted, certs):
    context = server_context(certs.good)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    server = scripted(lambda c, s: read_line(c), context)
    r, _ = probe(portprobe, f"tls://127.0.0.1:{server.port}", f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok" and r["tls_version"] == "TLSv1.2"


def test_handshake_alert_is_handshake_failed_with_openssl_reason(portprobe, scripted, certs):
    """A TLS 1.2 server that demands a client certificate aborts the handshake."""
    context = server_context(certs.good)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(str(certs.ca.cert))
    server = scripted(lambda c, s: read_line(c), context)
    r, _ = probe(portprobe, f"tls://127.0.0.1:{server.port}", f"ca_file={certs.ca.cert}")
    assert r["result"] == "tls_handshake_failed" and r["phase"] == "tls"
    assert r["detail"] == "sslv3 alert handshake failure"


def test_missing_ca_file_is_a_local_error(portprobe, tls_server, certs, tmp_path):
    r, _ = probe(portprobe, url(tls_server(certs.good)), f"ca_file={tmp_path}/none.pem")
    assert r["result"] == "socket_error"
    assert r["detail"] == f"ca_file {tmp_path}/none.pem: No such file or directory"


def test_starttls_with_wrong_name_is_verify_failed_in_starttls(
        portprobe, registry, certs, shared_dir):
    sink = smtp.start_smtp_sink(registry, server_dir(shared_dir, "sink-wrong"),
                                certs.wrong_name, tls="starttls")
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{sink.port}", f"ca_file={certs.ca.cert}")
    assert r["result"] == "tls_verify_failed" and r["phase"] == "starttls"
    assert r["tls_version"].startswith("TLSv1.") and r["cert_expiry"] > 300 * DAY


def test_starttls_try_still_fails_on_a_bad_certificate(portprobe, registry, certs,
                                                       shared_dir):
    """try means "use TLS when offered": once used, a bad certificate is a failure."""
    sink = smtp.start_smtp_sink(registry, server_dir(shared_dir, "sink-expired"),
                                certs.expired, tls="starttls")
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{sink.port}", f"ca_file={certs.ca.cert}",
                 "starttls=try")
    assert r["result"] == "tls_verify_failed" and r["cert_expiry"] < 0


def test_data_injected_after_starttls_is_refused(portprobe, scripted):
    def handler(conn, server):
        conn.sendall(b"220 fake ESMTP\r\n")
        read_line(conn)
        conn.sendall(b"250-fake\r\n250 STARTTLS\r\n")
        read_line(conn)
        conn.sendall(b"220 go ahead\r\n250-injected\r\n")
        read_line(conn)
    server = scripted(handler)
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}")
    assert r["result"] == "protocol_error" and r["phase"] == "starttls"
    assert r["detail"] == "server sent data after accepting STARTTLS"
    assert r["excerpt"] == "250-injected"


def test_leaf_expiry_matches_the_certificate_on_disk(portprobe, registry, certs, shared_dir):
    leaf = certs_mod.make_leaf(certs.ca, shared_dir / "leaf-90", "ninety",
                               not_after=datetime.datetime.now(datetime.timezone.utc)
                               + datetime.timedelta(days=90))
    server = hostile.start_hostile(registry, shared_dir, "silent", leaf=leaf)
    r, _ = probe(portprobe, url(server), f"ca_file={certs.ca.cert}")
    left = certs_mod.read_not_after(leaf.cert) - datetime.datetime.now(datetime.timezone.utc)
    assert abs(r["cert_expiry"] - left.total_seconds()) < 120


def test_text_format_says_how_long_ago_a_certificate_expired(portprobe, tls_server, certs):
    line = text_line(portprobe, url(tls_server(certs.expired)), f"ca_file={certs.ca.cert}")
    assert line.startswith("DOWN") and "tls_verify_failed" in line
    assert "certificate has expired" in line
    assert "TLSv1.3" in line and "cert expired 1.0 days ago (critical)" in line
