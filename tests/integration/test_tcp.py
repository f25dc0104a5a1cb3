"""TCP connect checks against real sockets: open, refused, filtered,
unreachable, DNS failure, IPv6, expect_closed, and a round's concurrency."""

import os
import socket
import threading
import time

import pytest

from conftest import free_port, parse_influx
from fixtures import netns, procs


def influx_rows(proc):
    return {tags["target"]: (tags, fields) for m, tags, fields, ts in
            parse_influx(proc.stdout) if m == "portprobe"}


@pytest.fixture
def listener():
    """A listening TCP socket on 127.0.0.1; yields its port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield s.getsockname()[1]
    s.close()


def test_open_port_is_up_with_connect_time(portprobe, listener):
    p = portprobe("--format", "influx", f"tcp://127.0.0.1:{listener}", "name=web")
    assert p.returncode == 0, p.stderr
    tags, fields = influx_rows(p)["web"]
    assert tags["result"] == "ok" and tags["scheme"] == "tcp"
    assert fields["up"] == 1
    assert 0 < fields["connect_time"] < 1
    assert fields["response_time"] >= fields["connect_time"]
    assert fields["address"] == "127.0.0.1" and fields["port"] == listener


def test_closed_port_is_refused(portprobe):
    port = free_port()
    p = portprobe("--format", "influx", f"tcp://127.0.0.1:{port}", "name=db")
    assert p.returncode == 0  # influx: the data says down (Telegraf drops failed runs)
    tags, fields = influx_rows(p)["db"]
    assert tags["result"] == "refused"
    assert fields["up"] == 0 and fields["phase"] == "connect"


def test_ipv6_loopback(portprobe):
    s = socket.socket(socket.AF_INET6)
    s.bind(("::1", 0))
    s.listen(4)
    port = s.getsockname()[1]
    closed = free_port(socket.AF_INET6, "::1")
    try:
        p = portprobe("--format", "influx", f"tcp://[::1]:{port}", "name=v6up",
                      f"tcp://[::1]:{closed}", "name=v6down")
    finally:
        s.close()
    rows = influx_rows(p)
    assert rows["v6up"][0]["result"] == "ok"
    assert rows["v6up"][1]["address"] == "::1"
    assert rows["v6down"][0]["result"] == "refused"


def test_expect_closed_turns_refusal_into_success(portprobe, listener):
    closed = free_port()
    p = portprobe("--format", "influx",
                  f"tcp://127.0.0.1:{closed}", "expect_closed=yes", "name=shut",
                  f"tcp://127.0.0.1:{listener}", "expect_closed=yes", "name=open")
    rows = influx_rows(p)
    assert rows["shut"][1]["up"] == 1 and rows["shut"][0]["result"] == "ok"
    assert "closed as expected" in rows["shut"][1]["detail"]
    assert rows["open"][1]["up"] == 0
    assert rows["open"][0]["result"] == "unexpected_open"
    assert p.returncode == 0  # influx: the data says down (Telegraf drops failed runs)


def test_text_format_shows_reason(portprobe, listener):
    closed = free_port()
    p = portprobe(f"tcp://127.0.0.1:{listener}", "name=web",
                  f"tcp://127.0.0.1:{closed}", "name=db")
    lines = p.stdout.splitlines()
    web = next(l for l in lines if " web " in l)
    db = next(l for l in lines if " db " in l)
    assert web.startswith("UP") and " ok " in web
    assert db.startswith("DOWN") and "refused" in db
    assert "Connection refused" in db


def test_json_lines_format(portprobe, listener):
    import json
    p = portprobe("--format", "json", f"tcp://127.0.0.1:{listener}", "label=site=fra 1")
    doc = json.loads(p.stdout.splitlines()[0])
    assert doc["result"] == "ok" and doc["up"] == 1
    assert doc["labels"] == {"site": "fra 1"}


# --- name resolution through a resolver the test controls ---

class TinyDNS:
    """An authoritative DNS server on loopback (dnslib): answers A records
    from a map, NXDOMAIN for the rest; or stays silent."""

    def __init__(self, records, silent=False):
        from dnslib import DNSRecord, RR, QTYPE, A, RCODE
        self._mods = (DNSRecord, RR, QTYPE, A, RCODE)
        self.records, self.silent = records, silent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        DNSRecord, RR, QTYPE, A, RCODE = self._mods
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            if self.silent:
                continue
            q = DNSRecord.parse(data)
            name = str(q.q.qname).rstrip(".")
            reply = q.reply()
            if name in self.records:
                if QTYPE[q.q.qtype] == "A":
                    reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(self.records[name]), ttl=5))
            else:
                reply.header.rcode = RCODE.NXDOMAIN
            self.sock.sendto(reply.pack(), peer)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def dns():
    servers = []

    def make(records, silent=False):
        d = TinyDNS(records, silent)
        servers.append(d)
        return d
    yield make
    for d in servers:
        d.close()


def test_name_that_does_not_resolve_is_dns_failed(portprobe, dns):
    d = dns({})
    p = portprobe("--format", "influx", "--resolver", f"127.0.0.1:{d.port}",
                  "tcp://nosuchhost.invalid:80", "name=ghost")
    tags, fields = influx_rows(p)["ghost"]
    assert tags["result"] == "dns_failed"
    assert fields["phase"] == "dns"
    assert "no such name" in fields["detail"]
    assert "dns_time" in fields


def test_name_resolves_through_resolver_then_connects(portprobe, dns, listener):
    d = dns({"db.portprobe.test": "127.0.0.1"})
    p = portprobe("--format", "influx", "--resolver", f"127.0.0.1:{d.port}",
                  f"tcp://db.portprobe.test:{listener}", "name=db")
    tags, fields = influx_rows(p)["db"]
    assert tags["result"] == "ok", fields
    assert fields["address"] == "127.0.0.1"
    assert fields["dns_time"] > 0


def test_ipv6_only_wanted_but_name_has_only_ipv4(portprobe, dns, listener):
    d = dns({"db.portprobe.test": "127.0.0.1"})
    p = portprobe("--format", "influx", "--resolver", f"127.0.0.1:{d.port}",
                  f"tcp://db.portprobe.test:{listener}", "name=db",
                  "address_family=ipv6")
    tags, fields = influx_rows(p)["db"]
    assert tags["result"] == "dns_failed"


def test_silent_resolver_times_out_in_dns_phase(portprobe, dns):
    d = dns({}, silent=True)
    start = time.monotonic()
    p = portprobe("--format", "influx", "--resolver", f"127.0.0.1:{d.port}",
                  "tcp://slow.portprobe.test:80", "name=slow", "timeout=1s")
    elapsed = time.monotonic() - start
    tags, fields = influx_rows(p)["slow"]
    assert tags["result"] == "timeout" and fields["phase"] == "dns"
    assert elapsed < 3


# --- faults in network namespaces the test creates ---

LISTEN_AND_CLOSE = ("import socket\n"
                    "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                    "s.bind(('10.250.0.2',12));s.listen(16)\n"
                    "while True: c,_=s.accept();c.close()")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Two namespaces joined by a veth (fixtures/netns.py): a client (where portprobe runs)
    at 10.250.0.1 and a server at 10.250.0.2. The server drops TCP port 9, resets port 10,
    answers port 11 with ICMP host-unreachable, and listens on port 12. The client has no
    route to 10.250.9.0/24."""
    netns.require()
    with procs.Registry() as registry:
        pair = netns.create_pair(registry, "10.250.0.1", "10.250.0.2", prefix=24)
        procs.run(["ip", "-n", pair.client, "route", "add", "unreachable", "10.250.9.0/24"])
        netns.drop_port(pair.server, 9)
        netns.refuse_port(pair.server, 10)
        netns.unreachable_port(pair.server, 11)
        listener = registry.start(
            netns.exec_argv(pair.server, [procs.PYTHON, "-c", LISTEN_AND_CLOSE]),
            tmp_path_factory.mktemp("lab") / "listener.log", name="listener")
        procs.wait_for_port(listener, 12, host="10.250.0.2",
                            connector=netns.connector(pair.client))
        yield pair.client


def test_filtered_port_times_out_in_connect_phase(portprobe, lab):
    start = time.monotonic()
    p = portprobe("--format", "influx", "tcp://10.250.0.2:9", "name=filtered",
                  "timeout=1s", netns=lab)
    elapsed = time.monotonic() - start
    tags, fields = influx_rows(p)["filtered"]
    assert tags["result"] == "timeout" and fields["phase"] == "connect"
    assert 0.9 < fields["response_time"] < 1.5
    assert elapsed < 3


def test_connect_timeout_bounds_connect_phase_alone(portprobe, lab):
    p = portprobe("--format", "influx", "tcp://10.250.0.2:9", "name=filtered",
                  "timeout=5s", "connect_timeout=300ms", netns=lab)
    tags, fields = influx_rows(p)["filtered"]
    assert tags["result"] == "timeout" and fields["phase"] == "connect"
    assert fields["response_time"] < 1


def test_reset_by_firewall_is_refused(portprobe, lab):
    p = portprobe("--format", "influx", "tcp://10.250.0.2:10", "name=rst", netns=lab)
    assert influx_rows(p)["rst"][0]["result"] == "refused"


def test_icmp_host_unreachable_is_unreachable(portprobe, lab):
    p = portprobe("--format", "influx", "tcp://10.250.0.2:11", "name=unr", netns=lab)
    tags, fields = influx_rows(p)["unr"]
    assert tags["result"] == "unreachable", fields
    assert fields["phase"] == "connect"


def test_unroutable_address_is_unreachable(portprobe, lab):
    p = portprobe("--format", "influx", "tcp://10.250.9.9:80", "name=noroute",
                  netns=lab)
    tags, fields = influx_rows(p)["noroute"]
    assert tags["result"] == "unreachable", fields


def test_open_port_across_namespaces(portprobe, lab):
    p = portprobe("--format", "influx", "tcp://10.250.0.2:12", "name=open",
                  netns=lab)
    assert influx_rows(p)["open"][0]["result"] == "ok"
    assert p.returncode == 0


def test_filtered_port_with_expect_closed_is_up(portprobe, lab):
    p = portprobe("--format", "influx", "tcp://10.250.0.2:9", "name=f",
                  "timeout=500ms", "expect_closed=yes", netns=lab)
    assert influx_rows(p)["f"][1]["up"] == 1
    assert p.returncode == 0


def test_round_costs_the_slowest_target_not_the_sum(portprobe, lab):
    args = []
    for i in range(40):
        args += ["tcp://10.250.0.2:9", f"name=f{i}", "timeout=1s"]
    args += ["tcp://10.250.0.2:12", "name=open"]
    start = time.monotonic()
    p = portprobe("--format", "influx", *args, netns=lab)
    elapsed = time.monotonic() - start
    rows = influx_rows(p)
    assert len(rows) == 41
    assert all(rows[f"f{i}"][0]["result"] == "timeout" for i in range(40))
    assert rows["open"][0]["result"] == "ok"
    assert elapsed < 2.5, f"40 one-second timeouts took {elapsed:.1f}s"


def test_concurrency_cap_still_finishes_every_target(portprobe, lab):
    args = []
    for i in range(6):
        args += ["tcp://10.250.0.2:9", f"name=f{i}", "timeout=300ms"]
    p = portprobe("--format", "influx", "--concurrency", "2", *args, netns=lab)
    rows = influx_rows(p)
    assert len(rows) == 6
    # three waves of two: about 0.9 s in all
    assert all(rows[f"f{i}"][0]["result"] == "timeout" for i in range(6))


# --- usage and configuration errors ---

def test_bad_option_exits_2_naming_target_and_key(portprobe):
    p = portprobe("tcp://127.0.0.1:1", "name=db", "timeout=soon")
    assert p.returncode == 2
    assert 'target "db"' in p.stderr and '"timeout"' in p.stderr
    assert p.stdout == ""


def test_unknown_option_suggests_the_key(portprobe):
    p = portprobe("tcp://127.0.0.1:1", "timout=3s")
    assert p.returncode == 2
    assert 'did you mean "timeout"' in p.stderr


def test_config_file_errors_name_file_line_and_key(portprobe, tmp_path):
    cfg = tmp_path / "targets.ini"
    cfg.write_text("[defaults]\ntimeout = 2s\n\n[db]\nurl = tcp://127.0.0.1:5432\n"
                   "down_after = many\n")
    p = portprobe("--config", cfg)
    assert p.returncode == 2
    assert f"{cfg}:6:" in p.stderr and '"down_after"' in p.stderr
    assert 'target "db"' in p.stderr


def test_config_file_runs_its_targets(portprobe, tmp_path, listener):
    cfg = tmp_path / "targets.ini"
    cfg.write_text(f"[defaults]\ntimeout = 2s\nlabel = site=lab\n\n"
                   f"[web front]\nurl = tcp://127.0.0.1:{listener}\n\n"
                   f"[db]\nurl = tcp://127.0.0.1:{free_port()}\n")
    p = portprobe("--format", "influx", "--config", cfg)
    rows = influx_rows(p)
    assert rows["web front"][0]["result"] == "ok"
    assert rows["web front"][0]["site"] == "lab"
    assert rows["db"][0]["result"] == "refused"
    assert p.returncode == 0  # influx: the data says down (Telegraf drops failed runs)


def test_no_targets_is_a_usage_error(portprobe):
    p = portprobe()
    assert p.returncode == 2 and "no targets" in p.stderr


def test_the_demo_target_list_runs_and_names_each_failure(portprobe):
    """examples/demo.conf, the README's main job, without the demo's web server: every
    target is in the table with its reason, and the HOST line reads ping and ports together."""
    demo = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "demo.conf")
    p = portprobe("--config", demo)
    assert p.returncode == 1, p.stderr
    rows = {line[6:34].strip(): line.split()[0] for line in p.stdout.splitlines()[1:]
            if line.startswith(("UP ", "DOWN "))}
    assert set(rows) == {"demo web", "web over http", "smtp on localhost",
                         "admin port must be closed", "name that does not resolve",
                         "loopback answers ping"}, p.stdout
    assert rows["admin port must be closed"] == "UP"
    assert rows["loopback answers ping"] == "UP"
    assert "dns_failed" in p.stdout or "timeout" in p.stdout
    host = [line for line in p.stdout.splitlines() if line.startswith("HOST ")]
    assert len(host) == 1 and "127.0.0.1" in host[0] and "host up: ping 0% loss" in host[0]
