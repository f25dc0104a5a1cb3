"""The trusted CAs of https:// checks, loaded once per engine (src/tls.c's stores, set on each
of libcurl's TLS contexts by src/http_tls.c): each target is still verified against its own
ca_file, on one loop or several, a ca_file changed on disk is read again, and the system's CAs
are the default.

Against a real nginx with a private CA (fixtures.nginx, fixtures.certs); rounds run by the
portprobe command, in one process (--execd) where a change between rounds matters.
"""

import json
import shutil
import subprocess

import pytest

fixtures = pytest.importorskip("fixtures", reason="tests/integration/fixtures is not merged yet")
from fixtures import certs, nginx, procs  # noqa: E402


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory):
    return certs.make_cert_set(tmp_path_factory.mktemp("cas-certs"))


@pytest.fixture(scope="module")
def other_ca(cert_set):
    return certs.make_ca(cert_set.ca.dir.parent / "other-ca")


@pytest.fixture(scope="module")
def web(tmp_path_factory, cert_set):
    with procs.Registry() as registry:
        yield nginx.start_nginx(registry, tmp_path_factory.mktemp("cas-nginx"),
                                nginx.leaves_of(cert_set))


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def one_round(portprobe, *words):
    done = portprobe("--format", "json", *words)
    assert done.returncode in (0, 1), done.stderr
    return records(done.stdout)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_each_target_is_verified_against_its_own_ca_file(portprobe, web, cert_set, other_ca,
                                                         threads):
    url = web.url("/", label="good")
    # alternating, so that a store cached for one file would be used for the other
    words = []
    for i in range(8):  # 8 handshakes: enough to divide the round (spread.h)
        ca = cert_set.ca.cert if i % 2 == 0 else other_ca.cert
        words += [url, f"name=t{i}", f"ca_file={ca}"]
    rs = one_round(portprobe, "--threads", threads, *words)
    assert [(r["target"], r["result"]) for r in rs] == [
        (f"t{i}", "ok" if i % 2 == 0 else "tls_verify_failed") for i in range(8)]


def test_system_cas_are_the_default_and_do_not_know_a_private_ca(portprobe, web):
    rs = one_round(portprobe, web.url("/", label="good"), web.url("/x", label="good"))
    assert [r["result"] for r in rs] == ["tls_verify_failed"] * 2
    assert all(r["phase"] == "tls" and "cert_expiry" in r for r in rs)


def test_an_unreadable_ca_file_is_named(portprobe, web, tmp_path):
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("no certificate here\n")
    [missing, garbage] = one_round(portprobe,
                                   web.url("/", label="good"), f"ca_file={tmp_path / 'none.pem'}",
                                   web.url("/", label="good"), "name=g", f"ca_file={bad}")
    assert missing["result"] == "socket_error"
    assert f"ca_file {tmp_path / 'none.pem'}: No such file" in missing["detail"]
    assert garbage["result"] == "socket_error" and f"ca_file {bad}:" in garbage["detail"]


def test_a_ca_file_changed_on_disk_is_read_again(pp_bin, web, cert_set, other_ca, tmp_path):
    ca_file = tmp_path / "trusted.pem"
    shutil.copy(other_ca.cert, ca_file)
    proc = subprocess.Popen([str(pp_bin), "--execd", "--format", "json",
                             web.url("/", label="good"), f"ca_file={ca_file}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        results = []
        for trusted in (other_ca.cert, cert_set.ca.cert, other_ca.cert):
            shutil.copy(trusted, tmp_path / "next.pem")
            (tmp_path / "next.pem").replace(ca_file)  # a new file, as a package update does
            proc.stdin.write("\n")
            proc.stdin.flush()
            results.append(json.loads(proc.stdout.readline())["result"])
        assert results == ["tls_verify_failed", "ok", "tls_verify_failed"]
    finally:
        proc.stdin.close()
        assert proc.wait(10) == 0
