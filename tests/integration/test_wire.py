"""Database and directory ports speak their own handshake, against real servers from Debian
made at test time: PostgreSQL (TLS, no TLS, in recovery, out of connection slots; SCRAM,
md5 and clear-text logins), MariaDB (TLS, out of connections, and a host blocked by
max_connect_errors in a network namespace, where the probe itself must never count),
MongoDB-wire servers (SecantusDB as a replica-set primary and standalone, FerretDB, TLS),
OpenLDAP's slapd (StartTLS, ldaps, a server without TLS), memcached; and a scripted MSSQL
PRELOGIN peer, since no SQL Server is installable here. Each test reads what an
administrator reads: the result, the detail, the version and facts the server gave."""

import json
import re
import socket
import subprocess
import time

import pytest

from dialog_support import PASSWORD, certs, registry, shared_dir  # noqa: F401

procs = pytest.importorskip("fixtures.procs")
postgres = pytest.importorskip("fixtures.postgres")
mariadb = pytest.importorskip("fixtures.mariadb")
services = pytest.importorskip("fixtures.services")
netns = pytest.importorskip("fixtures.netns")


def record(portprobe, url, *options, ns=None, verbose=False):
    """One check with --format json: (record, CompletedProcess)."""
    args = ["--format", "json"] + (["-v"] if verbose else []) + [url, *options]
    proc = portprobe(*args, netns=ns)
    assert proc.returncode in (0, 1), proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0]), proc


def directory(shared_dir, name):
    path = shared_dir / name
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def secret(shared_dir):
    path = shared_dir / "db-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    wrong = shared_dir / "db-wrong-password"
    wrong.write_text("not-" + PASSWORD + "\n")
    return path, wrong


# --- PostgreSQL ---

@pytest.fixture(scope="module")
def pg_tls(registry, shared_dir, certs):
    server = postgres.start_postgres(registry, directory(shared_dir, "pg-tls"),
                                     leaf=certs.good)
    postgres.make_roles(server, PASSWORD)
    return server


@pytest.fixture(scope="module")
def pg_plain(registry, shared_dir):
    """No TLS, and the probe's default user is not trusted: it is asked for SCRAM."""
    hba = postgres.HBA.replace("host all portprobe 127.0.0.1/32 trust\n", "")
    server = postgres.start_postgres(registry, directory(shared_dir, "pg-plain"), hba=hba)
    postgres.make_roles(server, PASSWORD)
    return server


def pg_version():
    out = subprocess.run([str(postgres.bindir() / "postgres"), "--version"],
                         capture_output=True, text=True).stdout
    return re.search(r"\d+\.\d+", out).group(0)


def test_postgres_tls_handshake_and_startup(portprobe, pg_tls, certs):
    r, _ = record(portprobe, f"postgres://127.0.0.1:{pg_tls.port}", f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok" and r["up"] == 1
    assert r["tls_version"].startswith("TLSv1.")
    assert 364 * 86400 < r["cert_expiry"] < 366 * 86400 and r["cert_grade"] == "good"
    assert r["server_version"].startswith(pg_version())
    assert r["info"] == "TLS offered; auth trust"
    assert r["detail"] == "logged in as portprobe without a password"
    assert "ReadyForQuery" in r["excerpt"]
    # the TLS facts every TLS check reports
    assert r["tls_cipher"].startswith("TLS_") and r["cert_pin"].startswith("sha256//")
    assert 0 < r["chain_expiry"] <= r["cert_expiry"]


def test_postgres_certificate_not_trusted_still_reports_it(portprobe, pg_tls):
    r, _ = record(portprobe, f"postgres://127.0.0.1:{pg_tls.port}")
    assert r["result"] == "tls_verify_failed" and r["phase"] == "starttls"
    assert r["cert_expiry"] > 364 * 86400 and "certificate" in r["detail"]


def test_postgres_starttls_no_speaks_plain(portprobe, pg_tls):
    r, _ = record(portprobe, f"postgres://127.0.0.1:{pg_tls.port}", "starttls=no")
    assert r["result"] == "ok" and "tls_version" not in r
    assert r["server_version"].startswith(pg_version())


@pytest.mark.parametrize("user,method", [("scramuser", "scram-sha-256"),
                                         ("md5user", "md5"), ("plainuser", "password")])
def test_postgres_login(portprobe, pg_tls, certs, secret, user, method):
    r, proc = record(portprobe, f"postgres://127.0.0.1:{pg_tls.port}", f"ca_file={certs.ca.cert}",
                     f"username={user}", f"password_file={secret[0]}", verbose=True)
    assert r["result"] == "ok", r
    assert r["info"] == f"TLS offered; auth {method}"
    assert "AuthenticationOk" in r["excerpt"]
    assert PASSWORD not in proc.stdout + proc.stderr


def test_postgres_wrong_password_is_auth_failed(portprobe, pg_tls, certs, secret):
    r, proc = record(portprobe, f"postgres://127.0.0.1:{pg_tls.port}", f"ca_file={certs.ca.cert}",
                     "username=scramuser", f"password_file={secret[1]}", verbose=True)
    assert r["result"] == "auth_failed" and r["phase"] == "auth"
    assert "password authentication failed" in r["detail"] and "28P01" in r["detail"]
    assert PASSWORD not in proc.stdout + proc.stderr
    # the file others may read (0644) is named, as for the dialogs
    assert f"password_file {secret[1]} is readable by others" in proc.stderr


def test_postgres_without_tls(portprobe, pg_plain):
    url = f"postgres://127.0.0.1:{pg_plain.port}"
    r, _ = record(portprobe, url)
    assert r["result"] == "ok"
    assert r["info"] == "no TLS; auth scram-sha-256"
    assert r["detail"] == ("server does not offer TLS: plain text; "
                           "server asks for scram-sha-256 authentication")
    assert r["excerpt"] == "Authentication request scram-sha-256 SCRAM-SHA-256"
    r, _ = record(portprobe, url, "starttls=require")
    assert r["result"] == "starttls_unavailable"
    assert r["detail"] == "server does not offer TLS"


def test_postgres_password_in_clear_text_needs_tls(portprobe, pg_plain, secret):
    url = f"postgres://127.0.0.1:{pg_plain.port}"
    r, _ = record(portprobe, url, "username=plainuser", f"password_file={secret[0]}")
    assert r["result"] == "starttls_unavailable" and "clear text" in r["detail"]
    r, _ = record(portprobe, url, "username=scramuser", f"password_file={secret[0]}")
    assert r["result"] == "ok"  # SCRAM never sends the password


def test_postgres_in_recovery_is_down_with_its_words(portprobe, registry, shared_dir):
    server = postgres.start_postgres(registry, directory(shared_dir, "pg-standby"),
                                     standby=True)
    r, _ = record(portprobe, f"postgres://127.0.0.1:{server.port}")
    assert r["result"] == "unavailable" and r["up"] == 0
    assert "57P03" in r["detail"] and "not accepting connections" in r["detail"]
    assert "Hot standby mode is disabled" in r["excerpt"]
    tcp, _ = record(portprobe, f"tcp://127.0.0.1:{server.port}")
    assert tcp["result"] == "ok"  # a bare connect calls it up


def test_postgres_out_of_connection_slots(portprobe, registry, shared_dir):
    server = postgres.start_postgres(registry, directory(shared_dir, "pg-full"),
                                     max_connections=1)
    postgres.make_roles(server, PASSWORD)
    url = f"postgres://127.0.0.1:{server.port}"
    held = postgres.hold_connection(server)
    try:
        r, _ = record(portprobe, url)
        assert r["result"] == "unavailable"
        assert "53300" in r["detail"] and "too many clients" in r["detail"]
    finally:
        held.close()
    deadline = time.monotonic() + 10
    while record(portprobe, url)[0]["result"] != "ok":  # the slot frees once it exits
        assert time.monotonic() < deadline
        time.sleep(0.1)


# --- MariaDB ---

@pytest.fixture(scope="module")
def maria_tls(registry, shared_dir, certs):
    return mariadb.start_mariadb(registry, directory(shared_dir, "maria-tls"),
                                 leaf=certs.good,
                                 variables={"max_connections": 10, "connect_timeout": 30})


def maria_version(server):
    return mariadb.sql(server, "SELECT VERSION()").strip()


def test_mysql_handshake_tls_and_version(portprobe, maria_tls, certs):
    r, _ = record(portprobe, f"mysql://127.0.0.1:{maria_tls.port}", f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok"
    assert r["server_version"] == maria_version(maria_tls)
    assert r["info"] == "protocol 10, TLS offered"
    assert r["tls_version"].startswith("TLSv1.") and r["cert_grade"] == "good"
    # 1045 access denied, or 1698 access denied without a password: a live server
    assert re.search(r"Access denied for user 'portprobe'.*\((1045|1698)\)$", r["detail"])
    r, _ = record(portprobe, f"mariadb://127.0.0.1:{maria_tls.port}", "starttls=no")
    assert r["result"] == "ok" and "tls_version" not in r


def test_mysql_too_many_connections_is_down(portprobe, maria_tls):
    held = []
    try:
        for _ in range(11):  # max_connections, and one more kept for SUPER
            s = socket.create_connection(("127.0.0.1", maria_tls.port), timeout=5)
            s.recv(4096)  # the greeting: the connection is counted
            held.append(s)
        r, _ = record(portprobe, f"mysql://127.0.0.1:{maria_tls.port}", "starttls=no")
        assert r["result"] == "unavailable" and r["phase"] == "banner"
        assert r["detail"] == "server refuses service: Too many connections (1040)"
        assert r["excerpt"] == "ERR 1040: Too many connections"
    finally:
        for s in held:
            s.close()


def test_mysql_host_blocked_and_the_probe_never_counts(portprobe, registry, shared_dir):
    """max_connect_errors=2: from another host (a namespace with a name for the prober,
    since MariaDB never blocks loopback and counts only named hosts), portprobe's checks
    finish the handshake and never count; two clients that hang up during it do, and the
    host is blocked."""
    netns.require()
    pair = netns.create_pair(registry)
    mariadb.name_hosts(pair.server, {pair.client_addr: "prober.test"})
    server = mariadb.start_mariadb(registry, directory(shared_dir, "maria-blocked"),
                                   host=pair.server_addr, ns=pair.server,
                                   variables={"max_connect_errors": 2})
    url = f"mysql://{pair.server_addr}:{server.port}"
    r, _ = record(portprobe, url, ns=pair.client)
    assert r["result"] == "unavailable"  # no account may come from that host yet
    assert "'prober.test' is not allowed to connect to this MariaDB server (1130)" in r["detail"]
    mariadb.sql(server, "CREATE USER 'app'@'%' IDENTIFIED BY 'not-used-here'")
    for _ in range(5):
        r, _ = record(portprobe, url, ns=pair.client)
        assert r["result"] == "ok", r
    for _ in range(2):  # a bare TCP check: connect, read the greeting, hang up
        netns.in_netns(pair.client, lambda: _hang_up(pair.server_addr, server.port))
    r, _ = record(portprobe, url, ns=pair.client)
    assert r["result"] == "unavailable" and r["phase"] == "banner"
    assert "is blocked because of many connection errors" in r["detail"]
    assert "(1129)" in r["detail"]


def _hang_up(host, port):
    with socket.create_connection((host, port), timeout=5) as s:
        s.recv(4096)
        s.sendall(b"\x01\x00\x00\x01\xff")  # not a handshake response
        time.sleep(0.3)


# --- MongoDB wire ---

@pytest.fixture(scope="module")
def pymongo():
    return pytest.importorskip("pymongo")


def mongo_version(pymongo, port, **tls):
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=5000,
                                 directConnection=True, **tls)
    try:
        return client.admin.command("buildInfo")["version"]
    finally:
        client.close()


def test_mongodb_replica_set_primary(portprobe, registry, shared_dir, pymongo):
    server = services.start_secantus(registry, directory(shared_dir, "secantus-rs"),
                                     standalone=False)
    r, _ = record(portprobe, f"mongodb://127.0.0.1:{server.port}", "timeout=20s")
    assert r["result"] == "ok", r
    assert r["info"].startswith("writable primary, replica set secantus")
    assert r["server_version"] == mongo_version(pymongo, server.port)
    assert r["excerpt"].startswith("{")


def test_mongodb_standalone_ferretdb(portprobe, registry, shared_dir, pymongo):
    server = services.start_ferretdb(registry, directory(shared_dir, "ferret"))
    r, _ = record(portprobe, f"mongodb://127.0.0.1:{server.port}")
    assert r["result"] == "ok", r
    assert r["info"].startswith("standalone")
    assert r["server_version"] == mongo_version(pymongo, server.port)


def test_mongodbs_implicit_tls(portprobe, registry, shared_dir, certs):
    server = services.start_ferretdb(registry, directory(shared_dir, "ferret-tls"),
                                     leaf=certs.good)
    url = f"mongodbs://127.0.0.1:{server.port}"
    r, _ = record(portprobe, url, f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok", r
    assert r["tls_version"].startswith("TLSv1.") and r["cert_grade"] == "good"
    assert r["info"].startswith("standalone")
    r, _ = record(portprobe, url)
    assert r["result"] == "tls_verify_failed" and r["phase"] == "tls"
    r, _ = record(portprobe, f"mongodb://127.0.0.1:{server.port}", "timeout=3s")
    assert r["up"] == 0  # OP_MSG sent to a TLS port gets no answer in kind


# --- LDAP ---

@pytest.fixture(scope="module")
def slapd_tls(registry, shared_dir, certs):
    return services.start_slapd(registry, directory(shared_dir, "slapd-tls"), leaf=certs.good,
                                tls_modern=True)


def test_ldap_starttls_and_root_dse(portprobe, slapd_tls, certs):
    r, _ = record(portprobe, f"ldap://127.0.0.1:{slapd_tls.port}", f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok", r
    assert r["tls_version"].startswith("TLSv1.") and r["cert_grade"] == "good"
    assert r["info"] == "LDAP versions 3; naming contexts dc=portprobe,dc=test"
    assert r["excerpt"].startswith("SearchResultDone success")


def test_ldaps(portprobe, slapd_tls, certs):
    r, _ = record(portprobe, f"ldaps://127.0.0.1:{slapd_tls.tls_port}",
                  f"ca_file={certs.ca.cert}")
    assert r["result"] == "ok" and r["tls_version"].startswith("TLSv1.")
    assert "naming contexts dc=portprobe,dc=test" in r["info"]


def test_ldaps_tls_rules_of_every_tls_check(portprobe, slapd_tls, certs):
    url, ca = f"ldaps://127.0.0.1:{slapd_tls.tls_port}", f"ca_file={certs.ca.cert}"
    r, _ = record(portprobe, url, ca, "refuse_protocols=tls1.0,tls1.1")
    assert r["result"] == "ok", r  # TLS 1.2 and later only: slapd refuses both
    r, _ = record(portprobe, url, ca, "pin=sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert r["result"] == "pin_mismatch" and r["cert_pin"].startswith("sha256//")


def test_ldaps_of_debians_default_slapd_accepts_tls_1_1(portprobe, registry, shared_dir,
                                                       certs):
    """slapd as Debian builds it (GnuTLS, its default priorities) still takes TLS 1.1."""
    server = services.start_slapd(registry, directory(shared_dir, "slapd-default-tls"),
                                  leaf=certs.good)
    r, _ = record(portprobe, f"ldaps://127.0.0.1:{server.tls_port}", f"ca_file={certs.ca.cert}",
                  "refuse_protocols=tls1.0,tls1.1")
    assert r["result"] == "tls_weak_protocol" and r["phase"] == "tls"
    assert "accepts tls1.1" in r["detail"]


def test_ldap_without_tls(portprobe, registry, shared_dir):
    server = services.start_slapd(registry, directory(shared_dir, "slapd-plain"))
    url = f"ldap://127.0.0.1:{server.port}"
    r, _ = record(portprobe, url)
    assert r["result"] == "ok" and "tls_version" not in r
    assert r["detail"].startswith("server refused StartTLS: protocolError (2)")
    assert r["detail"].endswith(": plain text")
    r, _ = record(portprobe, url, "starttls=require")
    assert r["result"] == "starttls_unavailable" and r["phase"] == "starttls"


# --- memcached, MSSQL, wrong services ---

def test_memcached_version(portprobe, registry, shared_dir):
    server = services.start_memcached(registry, directory(shared_dir, "memcached"))
    out = subprocess.run(["memcached", "--version"], capture_output=True, text=True).stdout
    r, _ = record(portprobe, f"memcached://127.0.0.1:{server.port}")
    assert r["result"] == "ok"
    assert r["server_version"] == out.split()[1]
    assert r["excerpt"] == f"VERSION {out.split()[1]}"


@pytest.mark.parametrize("encryption,words", [(0, "off"), (3, "required")])
def test_mssql_prelogin(portprobe, encryption, words):
    peer = services.mssql_peer(encryption=encryption)
    try:
        r, _ = record(portprobe, f"mssql://127.0.0.1:{peer.port}")
    finally:
        peer.close()
    assert r["result"] == "ok"
    assert r["server_version"] == "16.0.1000.6"
    assert r["info"] == f"encryption {words}"
    assert peer.seen and peer.seen[0][0] == 0x12  # a PRELOGIN packet


@pytest.mark.parametrize("scheme,words", [
    ("postgres", "not a PostgreSQL server"), ("mongodb", "not a MongoDB server"),
    ("ldap", "not an LDAP server"), ("mssql", "not a TDS server")])
def test_another_service_on_the_port(portprobe, maria_tls, scheme, words):
    """A server that greets first (MariaDB) where another protocol was expected."""
    r, _ = record(portprobe, f"{scheme}://127.0.0.1:{maria_tls.port}", "starttls=no"
                  if scheme in ("postgres", "ldap") else "timeout=3s")
    assert r["result"] == "protocol_error", r
    assert words in r["detail"]
    assert "MariaDB" in r["excerpt"]  # the greeting, as it came


def test_mysql_port_that_never_greets(portprobe, pg_plain):
    r, _ = record(portprobe, f"mysql://127.0.0.1:{pg_plain.port}", "timeout=1s")
    assert r["result"] == "timeout" and r["phase"] == "banner"
