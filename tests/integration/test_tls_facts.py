"""TLS in depth, the same for every kind that speaks it: the whole presented chain (an
intermediate that expires before the leaf), the leaf's key, signature, fingerprint and pin,
the cipher; stapled OCSP (good, revoked, none) from a real `openssl ocsp` responder through
nginx's ssl_stapling; protocol hygiene against an nginx that still offers TLS 1.0 and 1.1
(OpenSSL's security level lowered on that server only); client certificates against nginx's
ssl_verify_client. Certificates are made with openssl at test time; expected values are read
back from the certificate files with openssl.
"""

import datetime
import json
import os
import time

import pytest

fixtures = pytest.importorskip("fixtures")
from fixtures import certs, dovecot, netns, nginx, ocsp, procs  # noqa: E402

DAY = 86400
SHORT_DAYS = 10  # the short intermediate's life: between cert_crit_days and cert_warn_days
PASSPHRASE = "pp-key-Pa55/phrase"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def run(portprobe, *words, netns_name=None):
    """One round; the JSON records, and the completed process (for its stderr)."""
    done = portprobe("--format", "json", *words, timeout=60, netns=netns_name)
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(l) for l in done.stdout.splitlines() if l.strip()], done


def check(portprobe, url, *options, netns_name=None):
    records, _ = run(portprobe, url, *options, netns_name=netns_name)
    assert len(records) == 1, records
    return records[0]


# --- one PKI for the module: a root, two intermediates, leaves and client certificates ---


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    base = tmp_path_factory.mktemp("tls-facts-pki")
    root = certs.make_ca(base / "root")
    short = certs.make_intermediate(root, base / "short", "portprobe short intermediate",
                                    not_after=now() + datetime.timedelta(days=SHORT_DAYS))
    inter = certs.make_intermediate(root, base / "inter")
    passfile = base / "client-pass.txt"
    passfile.write_text(PASSPHRASE + "\n")
    passfile.chmod(0o600)
    return {
        "root": root, "short": short, "inter": inter, "dir": base, "passfile": passfile,
        "chain": certs.make_leaf(short, base / "leaves", "chain"),
        "good": certs.make_leaf(inter, base / "leaves", "good"),
        "client": certs.make_client(root, base / "clients", "client"),
        "client_locked": certs.make_client(root, base / "clients", "locked",
                                           passphrase_file=passfile),
    }


CLIENT_AUTH = """\
ssl_verify_client on;
ssl_client_certificate {root};
"""
OLD_PROTOCOLS = """\
ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
ssl_ciphers DEFAULT:@SECLEVEL=0;
"""


@pytest.fixture(scope="module")
def web(tmp_path_factory, pki):
    """nginx on loopback: the short chain, client certificates required, old protocols."""
    work = tmp_path_factory.mktemp("tls-facts-web")
    leaves = {"chain": pki["chain"], "clientauth": pki["good"], "old": pki["good"],
              "good": pki["good"]}
    extra = {"clientauth": CLIENT_AUTH.format(root=pki["root"].cert), "old": OLD_PROTOCOLS}
    with procs.Registry() as registry:
        yield nginx.start_nginx(registry, work, leaves, tls_extra=extra)


@pytest.fixture(scope="module")
def imap(pki):
    """Dovecot presenting the short chain, for STARTTLS and implicit TLS dialogs."""
    with procs.Registry() as registry:
        work = procs.shared_tmpdir(registry)
        yield dovecot.start_dovecot(registry, work / "dovecot", pki["chain"])


def ca(pki):
    return f"ca_file={pki['root'].cert}"


# --- the chain, the leaf, the handshake: facts read back from the files ---


def test_intermediate_expiring_before_the_leaf_is_the_chain_expiry(portprobe, web, pki):
    r = check(portprobe, web.url("/", label="chain"), ca(pki))
    assert r["result"] == "ok", r
    leaf_left = (pki["chain"].not_after - now()).total_seconds()
    short_left = (pki["short"].not_after - now()).total_seconds()
    assert abs(r["cert_expiry"] - leaf_left) < 120
    assert abs(r["chain_expiry"] - short_left) < 120
    assert r["chain_expiry_subject"] == "CN=portprobe short intermediate"
    # graded on the earliest expiry: 10 days is below cert_warn_days (20)
    assert r["cert_grade"] == "warning"


def test_leaf_facts_match_the_certificate_file(portprobe, web, pki):
    r = check(portprobe, web.url("/", label="good"), ca(pki))
    leaf = pki["good"].cert
    assert r["cert_sha256"] == certs.fingerprint(leaf)
    assert r["cert_pin"] == certs.spki_pin(leaf)
    serial = procs.run(["openssl", "x509", "-in", leaf, "-noout", "-serial"]).stdout
    assert r["cert_serial"] == serial.strip().split("=", 1)[1]
    assert r["cert_subject"] == "CN=localhost"
    assert (r["cert_key_type"], r["cert_key_bits"]) == ("EC", 256)
    assert r["cert_signature"] == "ecdsa-with-SHA256"
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert r["tls_cipher"].startswith("TLS_")
    assert r["ocsp_status"] == "none"


FACTS = ("tls_version", "tls_cipher", "cert_expiry", "cert_grade", "cert_subject",
         "cert_serial", "cert_sha256", "cert_pin", "cert_key_type", "cert_key_bits",
         "cert_signature", "chain_expiry", "chain_expiry_subject", "ocsp_status")


def same_facts(a, b):
    """The TLS facts of two records, expiries within a few seconds of each other."""
    for key in FACTS:
        if key.endswith("expiry"):
            assert abs(a[key] - b[key]) < 5, key
        else:
            assert a[key] == b[key], (key, a[key], b[key])


def test_https_and_a_tls_dialog_report_the_same_facts(portprobe, web, pki):
    port = web.https_ports["chain"]
    https, tls = run(portprobe, web.url("/", label="chain"), ca(pki), "name=https",
                     f"tls://127.0.0.1:{port}", ca(pki), "name=tls",
                     "send=GET / HTTP/1.0\\r\\n\\r\\n", "expect=^HTTP/1.1 200")[0]
    assert https["result"] == "ok" and tls["result"] == "ok", (https, tls)
    same_facts(https, tls)


def test_starttls_and_implicit_tls_report_the_same_facts_as_https(portprobe, web, imap, pki):
    records, _ = run(portprobe, web.url("/", label="chain"), ca(pki), "name=https",
                     f"imap://127.0.0.1:{imap.imap_port}", ca(pki), "starttls=require",
                     "name=imap", f"imaps://127.0.0.1:{imap.imaps_port}", ca(pki),
                     "name=imaps")
    by = {r["target"]: r for r in records}
    assert all(r["result"] == "ok" for r in records), records
    # the same leaf and chain: every fact but the negotiated details agrees
    for kind in ("imap", "imaps"):
        for key in ("cert_sha256", "cert_pin", "cert_serial", "chain_expiry_subject",
                    "cert_key_type", "cert_signature", "cert_grade"):
            assert by[kind][key] == by["https"][key], (kind, key)
        assert abs(by[kind]["chain_expiry"] - by["https"]["chain_expiry"]) < 5


# --- pins ---


def test_a_matching_pin_is_up(portprobe, web, pki):
    r = check(portprobe, web.url("/", label="good"), ca(pki),
              f"pin={certs.spki_pin(pki['chain'].cert)}",  # a backup pin first
              f"pin={certs.spki_pin(pki['good'].cert)}")
    assert r["result"] == "ok", r


def test_a_key_none_of_the_pins_is_pin_mismatch(portprobe, web, pki):
    other = certs.spki_pin(pki["chain"].cert)
    r = check(portprobe, web.url("/", label="good"), ca(pki), f"pin={other}")
    assert r["result"] == "pin_mismatch" and r["phase"] == "tls", r
    assert r["detail"] == f"public key {certs.spki_pin(pki['good'].cert)} is not pinned (pin)"


def test_a_malformed_pin_is_refused_by_name(portprobe, web):
    done = portprobe(web.url("/", label="good"), "pin=sha256//short")
    assert done.returncode == 2
    assert 'option "pin": expected sha256// and the base64 of a SHA-256' in done.stderr


def test_pins_apply_to_every_tls_kind(portprobe, web, pki):
    port = web.https_ports["good"]
    r = check(portprobe, f"tls://127.0.0.1:{port}", ca(pki),
              f"pin={certs.spki_pin(pki['chain'].cert)}")
    assert r["result"] == "pin_mismatch", r


# --- protocol hygiene ---


def test_tls_min_version_above_the_negotiated_one_is_weak_protocol(portprobe, web, pki):
    r = check(portprobe, web.url("/", label="old"), ca(pki), "tls_min_version=tls1.3")
    assert r["result"] == "tls_weak_protocol" and r["tls_version"] == "TLSv1.2", r
    assert r["detail"] == "negotiated TLSv1.2, below tls_min_version TLSv1.3"
    assert check(portprobe, web.url("/", label="old"), ca(pki),
                 "tls_min_version=tls1.2")["result"] == "ok"


def test_server_accepting_an_old_protocol_fails_refuse_protocols(portprobe, web, pki):
    r = check(portprobe, web.url("/", label="old"), ca(pki), "refuse_protocols=tls1.0,tls1.1")
    assert r["result"] == "tls_weak_protocol" and r["up"] == 0, r
    assert r["detail"] == "the server accepts tls1.1, which refuse_protocols lists"
    only_one = check(portprobe, web.url("/", label="old"), ca(pki), "refuse_protocols=tls1.0")
    assert only_one["detail"] == "the server accepts tls1.0, which refuse_protocols lists"


def test_server_refusing_old_protocols_passes_and_is_checked_as_usual(portprobe, web, pki):
    r = check(portprobe, web.url("/", label="good"), ca(pki), "refuse_protocols=tls1.0,tls1.1")
    assert r["result"] == "ok" and r["http_status"] == 200, r
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3") and r["cert_pin"]


def test_refuse_protocols_probes_tls_dialogs_too(portprobe, web, pki):
    port = web.https_ports["old"]
    r = check(portprobe, f"tls://127.0.0.1:{port}", ca(pki), "refuse_protocols=tls1.1")
    assert r["result"] == "tls_weak_protocol", r


def test_refuse_protocols_is_refused_where_it_cannot_probe(portprobe, web):
    done = portprobe("smtp://127.0.0.1:25", "refuse_protocols=tls1.0")
    assert done.returncode == 2
    assert 'option "refuse_protocols" needs implicit TLS' in done.stderr
    done = portprobe(web.url("/", label="good"), "refuse_protocols=ssl2")
    assert done.returncode == 2
    assert ('option "refuse_protocols": expected a list of tls1.0, tls1.1 and tls1.2 such as '
            'tls1.0,tls1.1, got "ssl2"') in done.stderr


# --- client certificates ---


def test_client_certificate_is_presented_over_https(portprobe, web, pki):
    url = web.url("/", label="clientauth")
    without = check(portprobe, url, ca(pki))
    assert without["result"] == "http_status" and without["http_status"] == 400, without
    r = check(portprobe, url, ca(pki), f"client_cert={pki['client'].cert}",
              f"client_key={pki['client'].key}")
    assert r["result"] == "ok" and r["http_status"] == 200, r


def test_client_certificate_is_presented_again_after_a_same_host_redirect(portprobe, web, pki):
    r = check(portprobe, web.url("/near?client-cert", label="clientauth"), ca(pki),
              f"client_cert={pki['client'].cert}", f"client_key={pki['client'].key}")
    assert r["result"] == "ok" and r["http_redirects"] == 1 and r["http_status"] == 200, r


def test_client_certificate_is_presented_by_a_tls_dialog(portprobe, web, pki):
    port = web.https_ports["clientauth"]
    words = [f"tls://127.0.0.1:{port}", ca(pki), "send=GET / HTTP/1.0\\r\\n\\r\\n",
             "expect=^HTTP/1.1 200"]
    assert check(portprobe, *words)["result"] == "expect_mismatch"  # 400 without one
    r = check(portprobe, *words, f"client_cert={pki['client'].cert}",
              f"client_key={pki['client'].key}")
    assert r["result"] == "ok", r


def test_encrypted_client_key_with_its_passphrase_file(portprobe, web, pki):
    locked = pki["client_locked"]
    r = check(portprobe, web.url("/", label="clientauth"), ca(pki),
              f"client_cert={locked.cert}", f"client_key={locked.key}",
              f"client_key_password_file={pki['passfile']}")
    assert r["result"] == "ok", r


def test_wrong_passphrase_is_named_and_never_shown(portprobe, web, pki, tmp_path):
    locked = pki["client_locked"]
    wrong = tmp_path / "wrong-pass"
    wrong.write_text("not-the-Pa55phrase\n")
    records, done = run(portprobe, "-v", web.url("/", label="clientauth"), ca(pki),
                        f"client_cert={locked.cert}", f"client_key={locked.key}",
                        f"client_key_password_file={wrong}")
    r = records[0]
    assert r["result"] == "socket_error", r
    assert r["detail"].startswith(f"client_key {locked.key}: no usable private key"), r
    everything = done.stdout + done.stderr
    assert "not-the-Pa55phrase" not in everything and PASSPHRASE not in everything


def test_encrypted_key_without_a_passphrase_file_says_what_is_missing(portprobe, web, pki):
    locked = pki["client_locked"]
    r = check(portprobe, web.url("/", label="clientauth"), ca(pki),
              f"client_cert={locked.cert}", f"client_key={locked.key}")
    assert r["result"] == "socket_error"
    assert "encrypted keys need client_key_password_file" in r["detail"], r


def test_a_fifo_as_passphrase_file_is_refused_not_waited_for(portprobe, web, pki, tmp_path):
    fifo = tmp_path / "pass.fifo"
    os.mkfifo(fifo)
    locked = pki["client_locked"]
    words = (web.url("/", label="clientauth"), ca(pki), "timeout=3s",
             f"client_cert={locked.cert}", f"client_key={locked.key}",
             f"client_key_password_file={fifo}")
    # a FIFO when the targets are read: refused at start, naming the option
    done = portprobe(*words, timeout=10)
    assert done.returncode == 2
    assert f'option "client_key_password_file": {fifo} is a FIFO, not a regular file' \
        in done.stderr


def test_a_passphrase_file_that_becomes_a_fifo_fails_its_check_at_once(
        pp_bin, web, pki, tmp_path):
    from test_influx import Execd
    secret = tmp_path / "pass"
    secret.write_bytes(pki["passfile"].read_bytes())
    locked = pki["client_locked"]
    words = [web.url("/", label="clientauth"), ca(pki), "timeout=3s",
             f"client_cert={locked.cert}", f"client_key={locked.key}",
             f"client_key_password_file={secret}"]
    session = Execd([pp_bin, "--execd", "--format", "json", *words], tmp_path / "err.log")
    try:
        session.request()
        first = json.loads(session.read_lines(1)[0])
        assert first["result"] == "ok", first
        secret.unlink()
        os.mkfifo(secret)
        started = time.monotonic()
        session.request()
        second = json.loads(session.read_lines(1, timeout=8)[0])
        assert time.monotonic() - started < 3
        assert second["result"] == "socket_error"
        assert second["detail"] == f"client_key_password_file {secret}: not a regular file"
        session.proc.stdin.close()
        assert session.wait(5) == 0
    finally:
        session.close()


def test_client_key_without_client_cert_is_refused(portprobe, web, pki):
    done = portprobe(web.url("/", label="good"), f"client_key={pki['client'].key}")
    assert done.returncode == 2
    assert 'option "client_key" needs client_cert' in done.stderr


def test_tls_options_are_refused_on_plain_http(portprobe, web, pki):
    done = portprobe(web.url("/"), f"client_cert={pki['client'].cert}")
    assert done.returncode == 2
    assert ('option "client_cert" applies to targets that speak TLS (https, tls, smtps, '
            'imaps, pop3s, and STARTTLS)') in done.stderr


# --- stapled OCSP: a real responder, nginx stapling (inside a namespace: `openssl ocsp`
# listens on every interface) ---

STAPLING = """\
ssl_stapling on;
ssl_stapling_verify on;
ssl_trusted_certificate {trusted};
"""
STAPLING_FILE = """\
ssl_stapling on;
ssl_stapling_file {response};
"""


@pytest.fixture(scope="module")
def ocsp_lab(tmp_path_factory, pki):
    """nginx stapling answers of `openssl ocsp` for a good and a revoked leaf, and a server
    that staples nothing. nginx staples only "good" answers it fetched itself, so the revoked
    leaf's answer is fetched from the same responder with `openssl ocsp` and stapled from a
    file (ssl_stapling_file)."""
    netns.require()
    work = tmp_path_factory.mktemp("tls-facts-ocsp")
    inter, root = pki["inter"], pki["root"]
    with procs.Registry() as registry:
        ns = netns.create_single(registry)
        port = ocsp.responder_port()
        url = f"http://127.0.0.1:{port}/"
        stapled = certs.make_leaf(inter, work / "leaves", "stapled", ocsp_url=url)
        revoked = certs.make_leaf(inter, work / "leaves", "revoked", ocsp_url=url)
        certs.revoke(inter, revoked.cert)
        ocsp.start_responder(registry, work, inter, port, netns=ns)
        response = work / "revoked.ocsp"
        netns.run(ns, ["openssl", "ocsp", "-issuer", inter.cert, "-cert", revoked.cert,
                       "-url", url, "-respout", response, "-CAfile", root.cert])
        trusted = work / "trusted.pem"
        trusted.write_text(root.cert.read_text() + inter.cert.read_text())
        extra = {"stapled": STAPLING.format(trusted=trusted),
                 "revoked": STAPLING_FILE.format(response=response)}
        web = nginx.start_nginx(registry, work / "nginx",
                                {"stapled": stapled, "revoked": revoked, "nostaple": stapled},
                                tls_extra=extra, netns=ns)
        lab = {"ns": ns, "web": web, "stapled": stapled, "revoked": revoked}
        yield lab


def ocsp_check(portprobe, lab, label, *options):
    return check(portprobe, lab["web"].url("/", label=label), *options, netns_name=lab["ns"])


def stapled_record(portprobe, lab, pki, *options, timeout=20.0):
    """The record of the stapling server once nginx staples (it fetches the answer from the
    responder after the first handshake that asks for one)."""
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
    while True:
        r = ocsp_check(portprobe, lab, "stapled", ca(pki), *options)
        if r.get("ocsp_status") != "none" or datetime.datetime.now() > deadline:
            return r


def test_good_stapled_response_is_reported_with_its_next_update(portprobe, ocsp_lab, pki):
    r = stapled_record(portprobe, ocsp_lab, pki)
    assert r["result"] == "ok" and r["ocsp_status"] == "good", r
    assert abs(r["ocsp_next_update"] - DAY) < 600  # openssl ocsp -ndays 1


def test_ocsp_require_is_met_by_a_good_staple(portprobe, ocsp_lab, pki):
    stapled_record(portprobe, ocsp_lab, pki)
    r = ocsp_check(portprobe, ocsp_lab, "stapled", ca(pki), "ocsp=require")
    assert r["result"] == "ok", r


def test_ocsp_require_without_a_staple_is_ocsp_missing(portprobe, ocsp_lab, pki):
    r = ocsp_check(portprobe, ocsp_lab, "nostaple", ca(pki), "ocsp=require")
    assert r["result"] == "ocsp_missing" and r["phase"] == "tls", r
    assert r["detail"] == "stapled OCSP response: none (ocsp=require)"
    assert ocsp_check(portprobe, ocsp_lab, "nostaple", ca(pki))["result"] == "ok"


def test_revoked_certificate_is_its_own_result(portprobe, ocsp_lab, pki):
    r = ocsp_check(portprobe, ocsp_lab, "revoked", ca(pki))
    assert r["result"] == "cert_revoked" and r["up"] == 0, r
    assert r["ocsp_status"] == "revoked"
    serial = procs.run(["openssl", "x509", "-in", ocsp_lab["revoked"].cert, "-noout",
                        "-serial"]).stdout.strip().split("=", 1)[1]
    assert r["detail"] == f"the stapled OCSP response says certificate {serial} is revoked"


def test_revoked_is_told_by_a_tls_dialog_too(portprobe, ocsp_lab, pki):
    port = ocsp_lab["web"].https_ports["revoked"]
    r = check(portprobe, f"tls://127.0.0.1:{port}", ca(pki), netns_name=ocsp_lab["ns"])
    assert r["result"] == "cert_revoked" and r["ocsp_status"] == "revoked", r


def test_ocsp_no_asks_for_no_staple(portprobe, ocsp_lab, pki):
    r = ocsp_check(portprobe, ocsp_lab, "revoked", ca(pki), "ocsp=no")
    assert r["result"] == "ok" and "ocsp_status" not in r, r


def test_a_staple_from_an_untrusted_responder_is_invalid(portprobe, ocsp_lab, pki, tmp_path):
    other = certs.make_ca(tmp_path / "other-ca")
    assert stapled_record(portprobe, ocsp_lab, pki)["ocsp_status"] == "good"
    # the same answer judged against a store without its signer's root: invalid
    r = ocsp_check(portprobe, ocsp_lab, "stapled", f"ca_file={other.cert}", "verify=no")
    assert r["ocsp_status"] == "invalid" and r["result"] == "ok", r
