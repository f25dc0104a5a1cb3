"""ICMP checks against network namespaces the tests build, asserting what a user reads.

Topology (all inside namespaces made here, deleted at teardown):

    prober P  10.250.1.1 ---- 10.250.1.2..8  T  target: nftables faults, a TCP listener
              fd00:250:1::1   fd00:250:1::2,::8
              10.250.2.1 ---- 10.250.2.2     D  delayed: the kernel ignores echoes, a
                                                 userspace responder answers late

portprobe (or the `rounds` driver, for several rounds and host diagnoses) runs inside P.
Echo requests arriving in T are counted with nftables counters, so "exactly count echoes"
is measured on the wire. Needs root, ip, nft and setpriv.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BUILD = Path(os.environ.get("PORTPROBE_BUILDDIR", HERE.parents[1]))
PORTPROBE = BUILD / "telegraf-exec" / "portprobe"
ROUNDS = BUILD / "tests" / "tools" / "rounds"
PYTHON = "/usr/bin/python3"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
TABLE = "inet ppicmp"


def _missing():
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nft", "setpriv", "prlimit"):
        if not shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin"):
            return f"{tool} not found"
    if not PORTPROBE.exists():
        return f"{PORTPROBE} not built (set PORTPROBE_BUILDDIR to the build tree)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def sh(*argv, check=True, input=None, timeout=60):
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          input=input, timeout=timeout)
    if check and done.returncode:
        raise AssertionError(f"{' '.join(map(str, argv))} failed ({done.returncode}): "
                             f"{done.stderr.strip()}")
    return done


def ns_sh(ns, *argv, **kw):
    return sh("ip", "netns", "exec", ns, *argv, **kw)


@dataclass
class Net:
    p: str  # prober
    t: str  # target
    d: str  # delayed responder


def _delete_ns(ns):
    for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    sh("ip", "netns", "delete", ns, check=False)


@pytest.fixture(scope="module")
def net():
    tag = str(os.getpid() % 100000)
    n = Net(f"pp-icmp-p{tag}", f"pp-icmp-t{tag}", f"pp-icmp-d{tag}")
    made = []
    try:
        for ns in (n.p, n.t, n.d):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", n.p, "link", "add", f"ppi{tag}pt", "type", "veth",
           "peer", "name", f"ppi{tag}tp", "netns", n.t)
        sh("ip", "-n", n.p, "link", "add", f"ppi{tag}pd", "type", "veth",
           "peer", "name", f"ppi{tag}dp", "netns", n.d)
        addrs = [(n.p, f"ppi{tag}pt", ["10.250.1.1/24", "10.250.1.9/24",
                                       "fd00:250:1::1/64"]),
                 (n.t, f"ppi{tag}tp", [f"10.250.1.{i}/24" for i in range(2, 9)]
                  + ["fd00:250:1::2/64", "fd00:250:1::8/64"]),
                 (n.p, f"ppi{tag}pd", ["10.250.2.1/24"]),
                 (n.d, f"ppi{tag}dp", ["10.250.2.2/24"])]
        for ns, dev, items in addrs:
            for a in items:
                extra = ["nodad"] if ":" in a else []
                sh("ip", "-n", ns, "addr", "add", a, "dev", dev, *extra)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        # the target answers every reject at once (no ICMP rate limit)
        ns_sh(n.t, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0",
              "net.ipv6.icmp.ratelimit=0")
        # the delayed host's kernel stays silent: the responder answers
        ns_sh(n.d, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        yield n
    finally:
        for ns in made:
            _delete_ns(ns)


def nft_load(ns, rules=""):
    """Replaces the test table of ns: echo requests counted first, then rules."""
    ns_sh(ns, "nft", "delete", "table", *TABLE.split(), check=False)
    script = f"""
table {TABLE} {{
  counter echo4 {{ }}
  counter echo6 {{ }}
  counter marked {{ }}
  chain input {{
    type filter hook input priority 0; policy accept;
    icmp type echo-request counter name "echo4"
    icmpv6 type echo-request counter name "echo6"
    {rules}
  }}
}}
"""
    ns_sh(ns, "nft", "-f", "-", input=script)


def echo_count(ns, name="echo4"):
    out = ns_sh(ns, "nft", "-j", "list", "counter", *TABLE.split(), name).stdout
    for item in json.loads(out)["nftables"]:
        if "counter" in item:
            return item["counter"]["packets"]
    raise AssertionError(f"no counter {name} in {out}")


@pytest.fixture
def target(net):
    """T with a fresh table (counters at zero); the caller adds fault rules."""
    nft_load(net.t)
    yield net
    ns_sh(net.t, "nft", "delete", "table", *TABLE.split(), check=False)


class Spawned:
    """A process started inside a namespace, stopped by its PID."""

    def __init__(self, ns, argv):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, *map(str, argv)],
                                     stdout=subprocess.PIPE, text=True)
        self.first_line = self.proc.stdout.readline().strip()

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@pytest.fixture
def spawn():
    started = []

    def start(ns, argv):
        s = Spawned(ns, argv)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


LISTENER = ("import socket,sys,time;s=socket.socket();s.bind((sys.argv[1],0));"
            "s.listen(64);print(s.getsockname()[1],flush=True);time.sleep(3600)")


def tcp_listener(spawn, ns, addr):
    port = spawn(ns, [PYTHON, "-c", LISTENER, addr]).first_line
    assert port.isdigit(), port
    return int(port)


def delayed_responder(spawn, ns, delays):
    s = spawn(ns, [PYTHON, HERE / "icmp_responder.py", "--delays", delays])
    assert s.first_line == "ready"
    return s


def probe(ns, *args, nobody=False, fmt="json", prefix=(), timeout=60):
    """Runs the portprobe command in ns; returns (CompletedProcess, records)."""
    argv = ["ip", "netns", "exec", ns, *prefix, *(AS_NOBODY if nobody else []),
            PORTPROBE, "-v", "-f", fmt, *args]
    done = sh(*argv, check=False, timeout=timeout)
    assert done.returncode in (0, 1), done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()] if fmt == "json" else []
    return done, records


def rounds(ns, *args, timeout=60):
    """Runs the rounds driver in ns; returns (results, diagnoses) as lists of dicts."""
    if not ROUNDS.exists():
        pytest.skip(f"{ROUNDS} not built (make check builds it)")
    done = sh("ip", "netns", "exec", ns, ROUNDS, *args, timeout=timeout)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return ([x for x in lines if "result" in x], [x for x in lines if "diagnosis" in x])


def grade_for(loss, warn=5, bad=15, crit=30):
    """The grade the default thresholds give a loss percent (strictly above)."""
    if loss > crit:
        return "critical"
    if loss > bad:
        return "bad"
    if loss > warn:
        return "warning"
    return "good"


# --- clean paths ---------------------------------------------------------------------


def test_clean_path_is_good_and_sends_exactly_count(target):
    done, (r,) = probe(target.p, "icmp://10.250.1.2", "count=7", "spacing=20ms")
    assert r["result"] == "ok" and r["up"] == 1
    assert r["packets_sent"] == 7 and r["packets_received"] == 7
    assert r["loss_percent"] == 0
    assert 0 < r["rtt_min"] <= r["rtt_avg"] <= r["rtt_max"] < 0.05
    assert r["quality"] == "good"
    assert echo_count(target.t) == 7
    assert "raw socket" in done.stderr


def test_text_output_reads_like_ping(target):
    done, _ = probe(target.p, "icmp://10.250.1.2", fmt="text")
    line = done.stdout.splitlines()[1]
    assert line.startswith("UP ")
    assert "5/5 received, 0% loss, rtt min/avg/max " in line
    assert line.rstrip().endswith("quality good")


def test_ipv6_namespace_address_and_loopback(target):
    done, recs = probe(target.p, "icmp://[fd00:250:1::2]", "count=4", "spacing=20ms",
                           "icmp://[::1]", "count=3", "spacing=20ms")
    by = {r["target"]: r for r in recs}
    six = by["icmp://[fd00:250:1::2]"]
    assert six["result"] == "ok" and six["packets_received"] == 4
    assert six["address"] == "fd00:250:1::2"
    assert by["icmp://[::1]"]["packets_received"] == 3
    assert echo_count(target.t, "echo6") == 4
    assert "IPv6 echoes over a raw socket" in done.stderr


# --- loss ---------------------------------------------------------------------------

LOSSY = [f"10.250.1.{i}" for i in range(2, 7)]  # 5 targets x 100 echoes = 500


@pytest.mark.parametrize("percent,tolerance", [(0, 0), (20, 55), (50, 70)])
def test_random_drop_shows_as_loss_and_grade(target, percent, tolerance):
    """nftables drops `percent` % of echo requests at random. Over 500 echoes the count
    lost is Binomial(500, p): the tolerance is more than 6 standard deviations (about 9
    and 11 echoes), so a pass/fail is about the code, not luck. With the window equal to
    the round, each target's grade must be the band of its own measured loss."""
    if percent:
        nft_load(target.t, f"icmp type echo-request numgen random mod 100 < {percent} drop")
    args = []
    for a in LOSSY:
        args += [f"icmp://{a}", "count=100", "spacing=10ms", "quality_window=100"]
    _, recs = probe(target.p, *args)
    assert len(recs) == 5
    sent = sum(r["packets_sent"] for r in recs)
    lost = sent - sum(r["packets_received"] for r in recs)
    assert sent == 500 and echo_count(target.t) == 500
    assert abs(lost - 5 * percent) <= tolerance, f"{lost} of 500 lost at {percent} %"
    for r in recs:
        assert r["loss_percent"] == pytest.approx(100 - r["packets_received"])
        assert r["quality"] == grade_for(r["loss_percent"]), r
    if percent == 50:
        assert all(r["quality"] == "critical" for r in recs)


@pytest.mark.parametrize("every,grade", [(10, "warning"), (5, "bad"), (2, "critical")])
def test_exact_drop_rate_gives_its_grade(target, every, grade):
    """numgen inc drops exactly one echo in `every`: 10 % warning, 20 % bad, 50 % crit."""
    nft_load(target.t, f"icmp type echo-request numgen inc mod {every} == 0 drop")
    _, (r,) = probe(target.p, "icmp://10.250.1.2", "count=100", "spacing=10ms",
                        "quality_window=100")
    assert r["packets_sent"] == 100
    assert r["loss_percent"] == pytest.approx(100 / every)
    assert r["quality"] == grade
    assert r["up"] == 1 and r["result"] == "ok"


def test_one_loss_in_a_round_of_five_does_not_swing_the_grade(target):
    """One echo in 20 dropped, rounds of 5: the first round shows 20 % loss, yet the
    grade (over the window of 20) stays good in every round."""
    nft_load(target.t, "icmp type echo-request numgen inc mod 20 == 0 drop")
    results, _ = rounds(target.p, "--rounds", "5", "icmp://10.250.1.2", "count=5",
                        "spacing=20ms")
    assert [r["loss"] for r in results] == [20, 0, 0, 0, 20]
    assert [r["quality"] for r in results] == ["good"] * 5


def test_no_reply_is_a_data_point_not_silence(target):
    nft_load(target.t, "icmp type echo-request drop")
    done, _ = probe(target.p, "icmp://10.250.1.2", "count=3", "spacing=50ms",
                        fmt="influx")
    line = done.stdout.strip()
    # tags are written sorted by key
    assert line.startswith("portprobe,result=no_reply,scheme=icmp,"
                           "target=icmp://10.250.1.2 up=0i,")
    assert "packets_sent=3i,packets_received=0i,loss_percent=100.000000" in line
    assert 'quality="critical"' in line
    assert done.returncode == 0  # influx: the data says down (for Telegraf)
    assert echo_count(target.t) == 3


# --- latency and jitter ---------------------------------------------------------------


def test_fixed_delay_is_latency_not_jitter(net, spawn):
    delayed_responder(spawn, net.d, "300")
    _, (r,) = probe(net.p, "icmp://10.250.2.2")
    assert r["packets_received"] == 5
    # the delay is a floor; the responder may overshoot a little on a busy machine
    assert 0.300 <= r["rtt_min"] and r["rtt_max"] < 0.400
    assert r["jitter"] < 0.040
    assert r["quality"] == "bad"  # 300 ms: above rtt_bad 250 ms


def test_alternating_delay_is_jitter(net, spawn):
    delayed_responder(spawn, net.d, "20,100")
    _, (r,) = probe(net.p, "icmp://10.250.2.2", "count=5", "spacing=200ms")
    # 20, 100, 20, 100, 20 ms: jitter 80 ms, average 52 ms, population stddev 39 ms
    assert 0.020 <= r["rtt_min"] < 0.040
    assert 0.100 <= r["rtt_max"] < 0.130
    assert r["jitter"] == pytest.approx(0.080, abs=0.018)
    assert r["rtt_stddev"] == pytest.approx(0.039, abs=0.010)
    assert r["quality"] == "bad"  # jitter above 60 ms, RTT fine


def test_slow_path_with_service_up_is_degraded(net, spawn):
    delayed_responder(spawn, net.d, "300")
    port = tcp_listener(spawn, net.d, "10.250.2.2")
    _, diags = rounds(net.p, "--diagnose", "icmp://10.250.2.2",
                      f"tcp://10.250.2.2:{port}")
    assert diags[0]["diagnosis"] == "degraded"
    assert diags[0]["text"].startswith("degraded: ping 0% loss, rtt 3")
    assert "quality bad" in diags[0]["text"]


# --- host grouping --------------------------------------------------------------------


def test_icmp_dropped_while_port_answers_is_icmp_filtered(target, spawn):
    nft_load(target.t, "ip daddr 10.250.1.2 icmp type echo-request drop")
    port = tcp_listener(spawn, target.t, "10.250.1.2")
    results, diags = rounds(target.p, "--diagnose", "icmp://10.250.1.2", "count=3",
                            "spacing=50ms", f"tcp://10.250.1.2:{port}", "timeout=2s")
    icmp, tcp = results
    assert icmp["result"] == "no_reply" and icmp["sent"] == 3 and icmp["loss"] == 100
    assert tcp["result"] == "ok"
    assert diags[0]["diagnosis"] == "icmp_filtered"
    assert diags[0]["text"] == "ICMP filtered: no echo reply, 1 of 1 ports up"


def test_ping_up_port_refused_is_service_down(target):
    # nothing listens on port 9 in T: the kernel answers with a reset
    _, diags = rounds(target.p, "--diagnose", "icmp://10.250.1.2", "count=3",
                      "spacing=50ms", "tcp://10.250.1.2:9", "timeout=2s")
    assert diags[0]["diagnosis"] == "service_down"
    assert diags[0]["text"].startswith("service down: tcp://10.250.1.2:9 refused; "
                                       "host up: ping 0% loss")


def test_silent_host_is_host_down(target):
    nft_load(target.t, "ip daddr 10.250.1.3 drop")
    _, diags = rounds(target.p, "--diagnose", "icmp://10.250.1.3", "count=3",
                      "spacing=50ms", "timeout=2s", "tcp://10.250.1.3:25",
                      "timeout=1s")
    assert diags[0]["diagnosis"] == "host_down"
    assert diags[0]["text"] == ("host down: no echo reply, tcp://10.250.1.3:25 "
                                "timeout (connect)")


# --- unreachable ----------------------------------------------------------------------

REJECT = ("ip daddr 10.250.1.8 icmp type echo-request "
          "reject with icmp type host-unreachable\n"
          "ip6 daddr fd00:250:1::8 icmpv6 type echo-request "
          "reject with icmpv6 type addr-unreachable")


def test_host_unreachable_reply_is_unreachable(target):
    nft_load(target.t, REJECT)
    _, (r, r6) = probe(target.p, "icmp://10.250.1.8", "count=3", "spacing=50ms",
                           "icmp://[fd00:250:1::8]", "count=3", "spacing=50ms")
    assert r["result"] == "unreachable" and r["up"] == 0
    assert r["detail"] == "host unreachable from 10.250.1.8 (ICMP type 3 code 1)"
    assert r["packets_sent"] == 3 and r["loss_percent"] == 100
    assert r6["result"] == "unreachable"
    assert r6["detail"].startswith("address unreachable from fd00:250:1::8")
    # every echo was answered by an error: the round ends without waiting
    assert r["response_time"] < 0.5


def test_unroutable_address_is_unreachable(net):
    sh("ip", "-n", net.p, "route", "add", "unreachable", "10.250.2.128/25")
    try:
        _, (r,) = probe(net.p, "icmp://10.250.2.200", "count=2", "spacing=20ms")
    finally:
        sh("ip", "-n", net.p, "route", "del", "unreachable", "10.250.2.128/25")
    assert r["result"] == "unreachable"
    assert r["detail"] == "send: No route to host"
    assert r["packets_sent"] == 2 and r["packets_received"] == 0


# --- privileges -----------------------------------------------------------------------


@pytest.fixture
def ping_group(net):
    """Sets net.ipv4.ping_group_range in P (a callable); restores "1 0" afterwards."""
    def set_range(value):
        ns_sh(net.p, "sysctl", "-qw", f"net.ipv4.ping_group_range={value}")
    yield set_range
    set_range("1 0")


def test_unprivileged_user_uses_datagram_ping_sockets(target, ping_group):
    ping_group("65534 65534")
    nft_load(target.t, REJECT)
    done, recs = probe(target.p, "icmp://10.250.1.2", "count=4", "spacing=20ms",
                           "icmp://[fd00:250:1::2]", "count=4", "spacing=20ms",
                           "icmp://10.250.1.8", "count=2", "spacing=20ms",
                           nobody=True)
    v4, v6, rejected = recs
    assert "IPv4 echoes over a datagram (ping) socket" in done.stderr
    assert "IPv6 echoes over a datagram (ping) socket" in done.stderr
    assert v4["result"] == "ok" and v4["packets_received"] == 4
    assert v6["result"] == "ok" and v6["packets_received"] == 4
    assert echo_count(target.t) == 4 + 2 and echo_count(target.t, "echo6") == 4
    # errors reach a datagram socket through its error queue
    assert rejected["result"] == "unreachable"
    assert rejected["detail"].startswith("host unreachable from 10.250.1.8")


def test_without_privileges_the_error_names_the_fixes(target, ping_group):
    ping_group("1 0")
    done, (r,) = probe(target.p, "icmp://10.250.1.2", nobody=True)
    assert r["result"] == "socket_error" and r["up"] == 0
    assert "run as root" in r["detail"]
    assert "setcap cap_net_raw+ep" in r["detail"]
    assert "net.ipv4.ping_group_range (now 1 0)" in r["detail"]
    assert echo_count(target.t) == 0


# --- scale ----------------------------------------------------------------------------


def test_500_loopback_targets_share_sockets_without_phantom_loss(net):
    """500 targets at once with only 64 descriptors allowed: one socket per family
    serves them all, every echo comes back, and RTT stays at loopback speed."""
    nft_load(net.p)  # counts the echo requests arriving on lo
    args = [f"icmp://127.0.{i // 250 + 1}.{i % 250 + 1}" for i in range(500)]
    try:
        done, recs = probe(net.p, "--concurrency", "1000", *args,
                               prefix=("prlimit", "--nofile=64:64"))
        lo_echoes = echo_count(net.p)
    finally:
        ns_sh(net.p, "nft", "delete", "table", *TABLE.split(), check=False)
    assert len(recs) == 500
    assert [r["result"] for r in recs] == ["ok"] * 500, done.stderr[-2000:]
    assert sum(r["packets_received"] for r in recs) == 2500
    assert lo_echoes == 2500  # the counter sees requests on lo (and not our replies)
    assert max(r["rtt_max"] for r in recs) < 0.050
    assert all(r["quality"] == "good" for r in recs)


def test_stalled_prober_shows_no_phantom_loss_or_inflated_rtt(net, spawn):
    """The prober's own load, made certain: 1000 loopback targets plus one 100 ms away,
    and the process is stopped for half a second right after its first echo reaches the
    delayed host. That reply arrives while the prober cannot read and a pile of send
    timers falls due meanwhile. RTT comes from the kernel's receive stamps, so the
    delayed host still measures about 100 ms (reading time would say 500), loopback
    stays at loopback speed, and nothing is lost."""
    delayed_responder(spawn, net.d, "100")
    nft_load(net.d)
    args = [f"icmp://127.0.{i // 250 + 1}.{i % 250 + 1}" for i in range(1000)]
    proc = subprocess.Popen(["ip", "netns", "exec", net.p, PORTPROBE, "-f", "json",
                             "icmp://10.250.2.2", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while echo_count(net.d) < 1 and time.monotonic() < deadline:
            pass  # until the first echo is out
        os.kill(proc.pid, signal.SIGSTOP)
        time.sleep(0.5)  # the stall under test, not a synchronisation
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        ns_sh(net.d, "nft", "delete", "table", *TABLE.split(), check=False)
    slow, *local = [json.loads(line) for line in out.splitlines()]
    assert slow["packets_received"] == 5
    assert 0.100 <= slow["rtt_min"] and slow["rtt_max"] < 0.200, slow
    assert len(local) == 1000
    assert sum(r["packets_received"] for r in local) == 5000, err[-2000:]
    assert max(r["rtt_max"] for r in local) < 0.050
    assert "dropped" not in err


def test_source_address_is_the_echoes_source(target):
    nft_load(target.t, 'ip saddr 10.250.1.9 icmp type echo-request counter name "marked"')
    # one host from two sources: two targets, so each needs a name of its own
    _, (r, bad) = probe(target.p, "icmp://10.250.1.2", "source_address=10.250.1.9",
                        "count=3", "spacing=20ms", "name=from .9",
                        "icmp://10.250.1.2", "source_address=10.250.2.77",
                        "name=from .77")
    assert r["result"] == "ok" and r["packets_received"] == 3
    assert echo_count(target.t, "marked") == 3
    assert bad["result"] == "socket_error"
    assert bad["detail"] == "source_address 10.250.2.77: Cannot assign requested address"


def test_count_and_spacing_must_fit_timeout():
    done = sh(PORTPROBE, "icmp://127.0.0.1", "count=20", "spacing=1s", check=False)
    assert done.returncode == 2
    assert "do not fit in timeout (5000ms)" in done.stderr


def test_text_output_says_whether_the_host_or_the_service_is_down(target):
    """The command's table ends with a HOST line per host that has an ICMP target and port
    checks: one host whose port refuses while ping answers, one host that is silent."""
    nft_load(target.t, "ip daddr 10.250.1.3 drop")
    done, _ = probe(target.p, "icmp://10.250.1.2", "count=3", "spacing=50ms",
                    "tcp://10.250.1.2:9", "name=smtp-ish", "timeout=2s",
                    "icmp://10.250.1.3", "count=3", "spacing=50ms", "timeout=2s",
                    "tcp://10.250.1.3:25", "name=silent-port", "timeout=1s",
                    fmt="text")
    hosts = [line.split(None, 3) for line in done.stdout.splitlines()
             if line.startswith("HOST ")]
    assert hosts == [
        ["HOST", "10.250.1.2", "service_down", hosts[0][3]],
        ["HOST", "10.250.1.3", "host_down",
         "host down: no echo reply, silent-port timeout (connect)"]], done.stdout
    assert hosts[0][3].startswith("service down: smtp-ish refused; host up: ping 0% loss")
    assert done.returncode == 1


def test_no_host_lines_without_an_icmp_target_or_in_other_formats(target):
    done, _ = probe(target.p, "tcp://10.250.1.2:9", "timeout=2s", fmt="text")
    assert "HOST" not in done.stdout
    done, records = probe(target.p, "icmp://10.250.1.2", "count=2", "spacing=20ms",
                          "tcp://10.250.1.2:9", "timeout=2s")
    assert len(records) == 2 and "HOST" not in done.stdout
