"""A name with several addresses: connect-based checks try them in the resolver's order.

What a user sees: a service that answers on one of its addresses is up, as it is for curl and a
browser, and the record says which address answered and what the others did. The names come
from the project's DNS server (dnslib) or from a standard Debian /etc/hosts bind-mounted in a
private mount namespace; the dropped address lives in network namespaces the test builds.
"""

import json
import re
import subprocess

import pytest

from conftest import free_port
from fixtures import certs, dns, netns, nginx, procs
from fixtures.sockets import Listener

# A Debian 12 machine's /etc/hosts as the installer writes it.
STANDARD_HOSTS = """127.0.0.1\tlocalhost
127.0.1.1\tprobe.example\tprobe

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
"""


def records(done):
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    """The DNS server: both.test is ::1 then 127.0.0.1; v4.test 127.0.0.1 alone."""
    with procs.Registry() as registry:
        server = dns.start_dns(registry, tmp_path_factory.mktemp("dns"), {
            "both.test": ["::1", "127.0.0.1"],
            "v4.test": ["127.0.0.1"],
        })
        yield f"127.0.0.1:{server.port}"


@pytest.fixture
def listener():
    with Listener() as lst:  # 127.0.0.1 only: ::1 refuses on the same port
        yield lst


def probe(portprobe, resolver, *words):
    return records(portprobe("--format", "json", "--resolver", resolver, *words))


def test_closed_ipv6_then_open_ipv4_is_up_on_ipv4(portprobe, names, listener):
    r, = probe(portprobe, names, f"tcp://both.test:{listener.port}")
    assert r["result"] == "ok" and r["up"] == 1
    assert r["address"] == "127.0.0.1"
    assert r["addresses_tried"] == 2
    assert r["detail"] == "answered on 127.0.0.1 after ::1: Connection refused"
    assert 0 <= r["connect_time"] < 0.5


def test_every_address_refusing_is_refused_naming_each(portprobe, names):
    port = free_port()
    r, = probe(portprobe, names, f"tcp://both.test:{port}")
    assert r["result"] == "refused" and r["phase"] == "connect"
    assert r["addresses_tried"] == 2
    assert r["detail"] == "::1: Connection refused; 127.0.0.1: Connection refused"


def test_http_falls_back_like_curl(portprobe, names, tmp_path):
    with procs.Registry() as registry:
        web = nginx.start_nginx(registry, tmp_path / "web", {})
        r, = probe(portprobe, names, f"http://both.test:{web.http_port}/",
                   f"keyword={nginx.KEYWORD}")
    assert r["result"] == "ok" and r["http_status"] == 200
    assert r["address"] == "127.0.0.1" and r["addresses_tried"] == 2
    assert "after ::1: Connection refused" in r["detail"]


def test_a_dialog_runs_on_the_address_that_answered(portprobe, names):
    with Listener(greeting=b"+PONG\r\n") as lst:
        ok, bad = probe(portprobe, names,
                        f"tcp://both.test:{lst.port}", "name=pong", "expect=^\\+PONG",
                        f"tcp://both.test:{lst.port}", "name=err", "expect=^-ERR")
    assert ok["result"] == "ok", ok
    assert ok["detail"] == "answered on 127.0.0.1 after ::1: Connection refused"
    assert bad["result"] == "expect_mismatch" and bad["excerpt"].startswith("+PONG")
    assert bad["detail"].endswith("(on 127.0.0.1 after ::1: Connection refused)")


def test_expect_closed_needs_every_address_closed(portprobe, names, listener):
    r, = probe(portprobe, names, f"tcp://both.test:{free_port()}", "expect_closed=yes")
    assert r["result"] == "ok"
    r, = probe(portprobe, names, f"tcp://both.test:{listener.port}", "expect_closed=yes")
    assert r["result"] == "unexpected_open" and r["address"] == "127.0.0.1"


def test_address_family_and_source_address_narrow_the_list(portprobe, names, listener):
    r, = probe(portprobe, names, f"tcp://both.test:{listener.port}", "address_family=ipv6")
    assert r["result"] == "refused" and r["addresses_tried"] == 1 and r["address"] == "::1"
    r, = probe(portprobe, names, f"tcp://both.test:{listener.port}",
               "source_address=127.0.0.1")
    assert r["result"] == "ok" and r["addresses_tried"] == 1 and "detail" not in r


def test_one_address_is_tried_once(portprobe, names, listener):
    r, = probe(portprobe, names, f"tcp://v4.test:{listener.port}")
    assert r["result"] == "ok" and r["addresses_tried"] == 1 and "detail" not in r


# --- a standard /etc/hosts: localhost is ::1 and 127.0.0.1 ---


def in_standard_hosts(pp_bin, tmp_path, *args):
    """Run portprobe in a private mount namespace whose /etc/hosts is Debian's standard one."""
    hosts = tmp_path / "hosts"
    hosts.write_text(STANDARD_HOSTS)
    script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(hosts),
                           str(pp_bin), "--format", "json", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_localhost_reaches_an_ipv4_only_listener_on_a_standard_hosts_file(
        pp_bin, tmp_path, listener):
    r, = records(in_standard_hosts(pp_bin, tmp_path, f"tcp://localhost:{listener.port}"))
    assert r["result"] == "ok" and r["address"] == "127.0.0.1"
    assert r["addresses_tried"] == 2 and "::1: Connection refused" in r["detail"]


def test_https_localhost_on_a_standard_hosts_file_verifies(pp_bin, tmp_path):
    cert_set = certs.make_cert_set(tmp_path / "certs")
    with procs.Registry() as registry:
        web = nginx.start_nginx(registry, tmp_path / "web", nginx.leaves_of(cert_set))
        r, = records(in_standard_hosts(pp_bin, tmp_path, web.url("/", "good", "localhost"),
                                       f"ca_file={cert_set.ca.cert}"))
    assert r["result"] == "ok" and r["address"] == "127.0.0.1"
    assert r["tls_version"].startswith("TLSv1") and r["cert_grade"] == "good"


def test_https_on_every_address_verifies_the_urls_name_on_each(pp_bin, tmp_path):
    """addresses=all: libcurl gets the core's socket for each address and still verifies the
    certificate for localhost, the URL's host."""
    cert_set = certs.make_cert_set(tmp_path / "certs")
    with procs.Registry() as registry:
        web = nginx.start_nginx(registry, tmp_path / "web", nginx.leaves_of(cert_set))
        summary, *parts = records(in_standard_hosts(
            pp_bin, tmp_path, web.url("/", "good", "localhost"), "addresses=all",
            f"ca_file={cert_set.ca.cert}"))
    assert summary["checked"] == 2 and summary["checked_up"] == 1
    seen = {p["address"]: p for p in parts}
    assert seen["127.0.0.1"]["result"] == "ok" and seen["127.0.0.1"]["http_status"] == 200
    assert seen["127.0.0.1"]["cert_grade"] == "good"
    assert seen["::1"]["result"] == "refused" and seen["::1"]["family"] == "ipv6"


# --- a dropped address: its share of the timeout, then the next one ---


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Client and server namespaces; the server has 10.250.3.2 (open) and 10.250.3.3, where
    the port is dropped. drop.test is .3 then .2, both.test .2 then .3."""
    netns.require()
    work = tmp_path_factory.mktemp("addresses-lab")
    with procs.Registry() as registry:
        pair = netns.create_pair(registry, "10.250.3.1", "10.250.3.2", prefix=24)
        procs.run(["ip", "-n", pair.server, "addr", "add", "10.250.3.3/24", "dev", "veth0"])
        port = 8080
        web = registry.start(netns.exec_argv(pair.server, [
            procs.PYTHON, "-m", "http.server", "--bind", "0.0.0.0", "--directory", work,
            port]), work / "http.log", name="http.server")
        procs.wait_for_port(web, port, "10.250.3.2",
                            connector=netns.connector(pair.client))
        netns.add_input_rule(pair.server, f"ip daddr 10.250.3.3 tcp dport {port} drop")
        server = dns.start_dns(registry, work / "dns", {
            "drop.test": ["10.250.3.3", "10.250.3.2"],
        }, host="10.250.3.2", netns=pair.server)
        yield pair.client, f"10.250.3.2:{server.port}", port


@pytest.mark.parametrize("scheme", ["tcp", "http"])
def test_a_dropped_address_gives_way_after_its_share_of_the_timeout(portprobe, lab, scheme):
    ns, resolver, port = lab
    r, = records(portprobe("--format", "json", "--resolver", resolver,
                           f"{scheme}://drop.test:{port}/", "timeout=2s", netns=ns))
    assert r["result"] == "ok", r
    assert r["address"] == "10.250.3.2" and r["addresses_tried"] == 2
    # two addresses: the first gets half of the 2 s (less the DNS time)
    m = re.fullmatch(r"answered on 10\.250\.3\.2 after 10\.250\.3\.3: no connection "
                     r"within ([0-9.]+)s", r["detail"])
    assert m and 0.9 <= float(m.group(1)) <= 1.0, r["detail"]
    assert 0.9 <= r["response_time"] < 1.9


def test_connect_timeout_is_shared_by_the_addresses(portprobe, lab):
    ns, resolver, port = lab
    r, = records(portprobe("--format", "json", "--resolver", resolver,
                           f"tcp://drop.test:{port}", "timeout=5s", "connect_timeout=600ms",
                           netns=ns))
    assert r["result"] == "ok"
    assert 0.25 <= r["response_time"] < 0.6
