"""UDP services: a datagram out, a reply back, sent again while none comes within the
timeout. An ICMP port unreachable is refused, silence is a timeout that says how many
datagrams went unanswered. NTP against a real chronyd (never touching the clock): offset
and stratum, an unsynchronised server is down, and a reply that answers none of our
requests (an echo of our own) is ignored. Everything on 127.0.0.1."""

import json

import pytest

from dialog_support import registry, shared_dir  # noqa: F401

services = pytest.importorskip("fixtures.services")


def record(portprobe, url, *options):
    proc = portprobe("--format", "json", url, *options)
    assert proc.returncode in (0, 1), proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


@pytest.fixture
def peer():
    made = []

    def make(factory, **kw):
        server = factory(**kw)
        made.append(server)
        return server
    yield make
    for server in made:
        server.close()


def test_udp_echo_answers(portprobe, peer):
    echo = peer(services.udp_echo)
    r = record(portprobe, f"udp://127.0.0.1:{echo.port}", "send=portprobe\\n",
               "expect=^portprobe$")
    assert r["result"] == "ok" and r["up"] == 1
    assert r["excerpt"] == "portprobe"
    assert echo.seen == [b"portprobe\n"]
    r = record(portprobe, f"udp://127.0.0.1:{echo.port}", "send=portprobe", "expect=^pong")
    assert r["result"] == "expect_mismatch" and r["detail"] == "reply does not match /^pong/"


def test_udp_closed_port_is_refused(portprobe, peer):
    silent = peer(services.udp_silent)
    port = silent.port
    silent.close()  # nothing listens there now: the kernel answers ICMP port unreachable
    r = record(portprobe, f"udp://127.0.0.1:{port}", "send=x", "timeout=2s")
    assert r["result"] == "refused" and r["up"] == 0
    assert "ICMP port unreachable" in r["detail"]
    assert r["response_time"] < 1


def test_udp_silence_is_a_timeout_after_every_retry(portprobe, peer):
    silent = peer(services.udp_silent)
    r = record(portprobe, f"udp://127.0.0.1:{silent.port}", "send=x", "timeout=1500ms",
               "retries=2")
    assert r["result"] == "timeout" and r["phase"] == "dialog"
    assert r["detail"].startswith("no reply to 3 datagrams within 1.")
    assert silent.seen == [b"x"] * 3
    assert 1.4 < r["response_time"] < 1.6


def test_udp_retry_gets_the_late_answer(portprobe, peer):
    echo = peer(services.udp_echo, ignore_first=2)
    r = record(portprobe, f"udp://127.0.0.1:{echo.port}", "send=hello", "timeout=1500ms",
               "retries=2")
    assert r["result"] == "ok" and len(echo.seen) == 3
    assert 0.9 < r["response_time"] < 1.2  # the third datagram left at 2/3 of timeout
    echo2 = peer(services.udp_echo, ignore_first=1)
    r = record(portprobe, f"udp://127.0.0.1:{echo2.port}", "send=hello", "timeout=1s",
               "retries=0")
    assert r["result"] == "timeout" and echo2.seen == [b"hello"]


# --- NTP ---

def test_ntp_offset_and_stratum(portprobe, registry, shared_dir):
    chrony = services.start_chronyd(registry, shared_dir / "chrony")
    r = record(portprobe, f"ntp://127.0.0.1:{chrony.port}")
    assert r["result"] == "ok", r
    assert r["stratum"] == 10
    assert abs(r["clock_offset"]) < 0.05  # the same clock on both ends
    assert r["info"].startswith("stratum 10, refid ")
    assert r["excerpt"].startswith("NTPv4 mode 4, leap 0, stratum 10")
    text = portprobe("--format", "influx", f"ntp://127.0.0.1:{chrony.port}").stdout
    assert ",stratum=10i" in text and "clock_offset=" in text
    proc = portprobe("--format", "nagios", f"ntp://127.0.0.1:{chrony.port}")
    assert proc.returncode == 0 and ", stratum 10," in proc.stdout
    assert " offset=" in proc.stdout.split("|")[1] and "stratum=10;;;0;16" in proc.stdout


def test_ntp_unsynchronised_server_is_down(portprobe, registry, shared_dir):
    chrony = services.start_chronyd(registry, shared_dir / "chrony-nosource",
                                    synchronised=False)
    r = record(portprobe, f"ntp://127.0.0.1:{chrony.port}")
    assert r["result"] == "unavailable", r
    assert "not synchronised (leap indicator 3" in r["detail"]
    assert "clock_offset" not in r


def test_ntp_ignores_a_reply_that_answers_no_request(portprobe, peer):
    """An echo sends our own mode 3 request back: not an answer, so the check waits on
    and times out rather than taking it as the server's time."""
    echo = peer(services.udp_echo)
    r = record(portprobe, f"ntp://127.0.0.1:{echo.port}", "timeout=1s", "retries=1")
    assert r["result"] == "timeout" and len(echo.seen) == 2
    assert all(len(d) == 48 and d[0] == 0x23 for d in echo.seen)  # NTPv4, mode 3


def test_ntp_options_are_its_own(portprobe):
    proc = portprobe("ntp://127.0.0.1:123", "send=x")
    assert proc.returncode == 2
    assert "ntp targets send their own request" in proc.stderr
    proc = portprobe("udp://127.0.0.1:9")
    assert proc.returncode == 2 and "udp targets take one send" in proc.stderr
    proc = portprobe("udp://127.0.0.1:9", "send=x", "starttls=require")
    assert proc.returncode == 2 and "does not apply to udp targets" in proc.stderr


def test_collectd_reads_the_offset_and_stratum(tmp_path, registry, shared_dir):
    """The real collectd with the plugin: the NTP figures as values (collectd's own
    time_offset type, as its ntpd plugin sends, and portprobe_stratum from our types.db)."""
    from test_collectd import Collectd
    chrony = services.start_chronyd(registry, shared_dir / "chrony-collectd")
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  <Target "clock">
    URL "ntp://127.0.0.1:{chrony.port}"
  </Target>
</Plugin>
""")
    try:
        cd.start()
        cd.wait_rounds("portprobe-clock/bool-up", 1, 15)
        assert cd.getval("portprobe-clock/bool-up") == 1
        assert cd.getval("portprobe-clock/portprobe_stratum") == 10
        assert abs(cd.getval("portprobe-clock/time_offset-ntp")) < 0.05
    finally:
        cd.stop()
