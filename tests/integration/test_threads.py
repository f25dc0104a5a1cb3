"""A large round on several event loops (src/spread.c): the command's --threads, and in the
real collectd a large interval group spread over read callbacks that collectd's ReadThreads
run at once.

What a user would check: the same records and the same alerts, in the same order, on 2 threads
as on 1 (a mixed round of TCP, SMTP, HTTPS and ICMP against real servers: nginx, aiosmtpd);
SIGTERM still ends an execd round at once; in collectd, a part of the group is not held up by
another part's silent target when ReadThreads allows, and a <Host> block's diagnosis still
reads its ping and its ports together.
"""

import json
import re
import select

import pytest

from conftest import free_port
from fixtures import certs, nginx, procs, smtp
from fixtures.sockets import FullBacklog, Listener
from test_collectd import Collectd, wait_for
from test_influx import Execd

HTTPS_TARGETS = 8  # 8 handshakes are enough for a round to be divided (spread.h)


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory):
    return certs.make_cert_set(tmp_path_factory.mktemp("threads-certs"))


@pytest.fixture(scope="module")
def servers(tmp_path_factory, cert_set):
    work = tmp_path_factory.mktemp("threads-servers")
    with procs.Registry() as registry:
        yield {
            "web": nginx.start_nginx(registry, work / "nginx", nginx.leaves_of(cert_set)),
            "smtp": smtp.start_smtp_sink(registry, work / "smtp", cert_set.good, tls="starttls"),
        }


def mixed_config(path, servers, cert_set, service_port):
    """A round of every kind: HTTPS (good and wrong CA), SMTP with STARTTLS, TCP open and
    closed, and a ping of the host they share, which diagnoses the ports' failures."""
    web, mail = servers["web"], servers["smtp"]
    other = certs.make_ca(path.parent / "other-ca")
    sections = [f"[defaults]\ntimeout = 5s\ndown_after = 1\nca_file = {cert_set.ca.cert}\n"]
    sections.append("[ping]\nurl = icmp://127.0.0.1\ncount = 3\nspacing = 20ms\n")
    for i in range(HTTPS_TARGETS):
        sections.append(f"[web{i}]\nurl = {web.url('/', label='good')}\n")
    sections.append(f"[untrusted]\nurl = {web.url('/', label='good')}\nca_file = {other.cert}\n")
    sections.append(f"[mail]\nurl = smtp://127.0.0.1:{mail.port}\nstarttls = require\n")
    sections.append(f"[service]\nurl = tcp://127.0.0.1:{service_port}\n")
    sections.append(f"[closed]\nurl = tcp://127.0.0.1:{free_port()}\n")
    path.write_text("\n".join(sections))
    return path


def stable(line):
    """What does not change from one run to the next: no timings, no stamps, numbers in
    messages (RTTs, outage lengths) as #."""
    r = json.loads(line)
    if r.get("event"):
        return ("event", r["target"], r["kind"], r["state"], r["result"], r["severity"],
                re.sub(r"\d+(\.\d+)?", "#", r["message"]))
    return ("result", r["target"], r["result"], r["up"], r.get("phase"), r.get("detail"),
            r.get("http_status"), r.get("tls_version"), r.get("cert_grade"),
            r.get("packets_sent"))


def three_rounds(pp_bin, tmp_path, conf, service, threads):
    """An execd session of three rounds: all up, the TCP service shut (DOWN), back (UP)."""
    session = Execd([pp_bin, "--execd", "--format", "json", "--verbose", "--threads", threads,
                     "--config", conf], tmp_path / f"stderr-{threads}.log")
    try:
        rounds = []
        for n in range(3):
            if n == 1:
                service.stop()
            if n == 2:
                service.start()
            session.request()
            lines = session.read_lines(HTTPS_TARGETS + 5, timeout=30)
            # the round's alerts follow its records, written with them
            while b"\n" in session.buf or select.select([session.proc.stdout], [], [], 0.5)[0]:
                lines += session.read_lines(1)
            rounds.append([stable(line) for line in lines])
        session.proc.stdin.close()
        assert session.wait(10) == 0
        return rounds, (tmp_path / f"stderr-{threads}.log").read_text()
    finally:
        session.close()


def test_a_mixed_round_on_two_threads_gives_what_one_gives(pp_bin, tmp_path, servers, cert_set):
    service = Listener().start()
    try:
        conf = mixed_config(tmp_path / "mixed.ini", servers, cert_set, service.port)
        one, log_one = three_rounds(pp_bin, tmp_path, conf, service, "1")
        two, log_two = three_rounds(pp_bin, tmp_path, conf, service, "2")
    finally:
        service.stop()
    assert "divided among" not in log_one
    assert "divided among 2 loops" in log_two, log_two
    differ = [(n, a, b) for n, (ra, rb) in enumerate(zip(one, two)) for a, b in zip(ra, rb)
              if a != b]
    assert not differ and [len(r) for r in two] == [len(r) for r in one], differ
    # and what they give is right
    first = {r[1]: r for r in one[0] if r[0] == "result"}
    assert all(first[f"web{i}"][2:4] == ("ok", 1) for i in range(HTTPS_TARGETS))
    assert first["untrusted"][2] == "tls_verify_failed"
    assert first["mail"][2:4] == ("ok", 1) and first["mail"][7].startswith("TLSv1")
    assert first["service"][2:4] == ("ok", 1) and first["closed"][2] == "refused"
    assert first["ping"][2] == "ok" and first["ping"][9] == 3
    events = [[r[1:4] for r in rnd if r[0] == "event"] for rnd in one]
    assert events[0] == [("untrusted", "state", "down"), ("closed", "state", "down")]
    assert events[1] == [("service", "state", "down")]
    assert events[2] == [("service", "state", "up")]
    # the service's DOWN message reads the ping, which ran on another loop
    [down] = [r for r in one[1] if r[0] == "event"]
    assert "service down" in down[6] and "host up: ping" in down[6], down


def test_sigterm_ends_a_round_on_two_threads_at_once(pp_bin, tmp_path):
    hang = FullBacklog()
    try:
        # 120 silent connects: enough expected work to divide the round
        words = []
        for i in range(120):
            words += [f"tcp://127.0.0.1:{hang.port}", f"name=h{i}", "timeout=60s"]
        session = Execd([pp_bin, "--execd", "--format", "influx", "--verbose", "--threads", "2",
                         *words], tmp_path / "stderr.log")
        try:
            session.request()
            session.wait_round_started()
            wait_for(lambda: "divided among 2 loops" in (tmp_path / "stderr.log").read_text(),
                     5, "the round to be divided")
            session.sigterm_ends_the_round()
        finally:
            session.close()
    finally:
        hang.close()


# --- collectd ---

def collectd_body(silent_port, fillers, closed, threads, read_threads):
    """One interval group large enough for Threads parts: one silent target, refused
    fillers (127.0.0.2: outside the <Host> block's host), and a <Host> block whose ping
    answers and whose port is closed."""
    targets = "\n".join(f"""  <Target "f{i}">
    URL "tcp://127.0.0.2:{closed}"
  </Target>""" for i in range(fillers))
    return f"""
ReadThreads {read_threads}
<Plugin portprobe>
  Threads {threads}
  DownAfter 100
  <Target "silent">
    URL "tcp://127.0.0.1:{silent_port}"
    Timeout 2
  </Target>
{targets}
  <Host "loopback">
    Address "127.0.0.1"
    Count 2
    Spacing "20ms"
    Timeout "900ms"
    DownAfter 1
    Service "tcp" {closed}
  </Host>
</Plugin>
"""


@pytest.mark.parametrize("read_threads", [2, 1])
def test_collectd_spreads_a_large_group_over_read_callbacks(tmp_path, read_threads):
    fillers, closed = 110, free_port()
    silent = FullBacklog()
    cd = Collectd(tmp_path, collectd_body(silent.port, fillers, closed, 2, read_threads),
                  plugins=("portprobe",))
    try:
        cd.start()
        cd.wait_rounds("portprobe-silent/bool-up", 4, 30)
        silent_rounds = len(cd.rows("portprobe-silent/bool-up"))
        counts = [len(cd.rows(f"portprobe-f{i}/bool-up")) for i in range(fillers)]
        # the logfile plugin logs notifications
        log = wait_for(lambda: f"tcp:{closed} DOWN" in cd.log() and cd.log(), 10,
                       "the FAILURE notification")
    finally:
        cd.stop()
        silent.close()
    assert f"{fillers + 3} targets every 1s, in 2 read callbacks" in log, log
    assert all(c > 0 for c in counts), counts  # every target of every part reports
    if read_threads >= 2:
        # the part without the silent target is checked every second, the other every 2 s
        assert max(counts) >= 1.6 * silent_rounds, (counts, silent_rounds)
        assert "more than collectd's ReadThreads" not in log
    else:
        # one read thread runs the parts one after the other: all wait for the silent one
        assert max(counts) <= silent_rounds + 1, (counts, silent_rounds)
        assert "Threads 2 is more than collectd's ReadThreads 1" in log
    # the <Host> block stayed in one part: its DOWN message reads its ping
    [message] = re.findall(rf"message = (127\.0\.0\.1 tcp:{closed} DOWN.*)", log)
    assert message.startswith(f"127.0.0.1 tcp:{closed} DOWN: refused (service down: "), message
    assert "; host up: ping 0% loss, rtt " in message, message
