"""http:// and https:// checks against a real nginx started for these tests.

One nginx (fixtures.nginx) serves a keyword page, a 500 page, a redirect chain, a redirect
loop, a slow endpoint (through a slow upstream) and a 4 MiB body, on a plain port and on one
HTTPS port per certificate of a private CA: good, wrong name, expired, expiring in 5 days.
Each test runs the portprobe command as a user would and reads its JSON lines.
"""

import asyncio
import json
import os
import subprocess
import threading
import time

import pytest

# the shared real-server fixtures (tests/integration/fixtures, from the fixtures branch)
fixtures = pytest.importorskip("fixtures", reason="tests/integration/fixtures is not merged yet")
from fixtures import certs, hostile, nginx, procs  # noqa: E402

SLOW = 2.0  # seconds the slow endpoint takes by default
DAY = 86400
# the reset server sends the first half of this, then RST: headers and part of the body
RESET_BANNER = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x" * 80


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory):
    return certs.make_cert_set(tmp_path_factory.mktemp("http-certs"))


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("http-nginx")


@pytest.fixture(scope="module")
def web(web_dir, cert_set):
    with procs.Registry() as registry:
        yield nginx.start_nginx(registry, web_dir, nginx.leaves_of(cert_set),
                                slow_seconds=SLOW)


@pytest.fixture(scope="module")
def odd_servers(tmp_path_factory, cert_set):
    """Hostile servers: silent (plain and TLS), reset, close, garbage."""
    work = tmp_path_factory.mktemp("http-hostile")
    with procs.Registry() as registry:
        yield {
            "silent": hostile.start_hostile(registry, work, "silent"),
            "silent_tls": hostile.start_hostile(registry, work, "silent", leaf=cert_set.good),
            "reset": hostile.start_hostile(registry, work, "reset", banner=RESET_BANNER),
            "close": hostile.start_hostile(registry, work, "close"),
            "garbage": hostile.start_hostile(registry, work, "garbage"),
            "many_headers": hostile.start_hostile(registry, work, "http-many-headers"),
            "long_header": hostile.start_hostile(registry, work, "http-long-header"),
        }


class SlowServer:
    """An HTTP server in a thread of the test process that answers 200 after `delay` s.

    The fixture's slow upstream (http.server) listens with a backlog of 5, so 50
    simultaneous connections queue in SYN retries there; this one takes them all at once.
    """

    def __init__(self, delay):
        self.delay = delay
        self.open = self.most_open = 0  # connections being answered, most at once
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "slow server did not start"

    async def _answer(self, reader, writer):
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            await asyncio.sleep(self.delay)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                         b"Connection: close\r\n\r\nslow\n")
            await writer.drain()
        finally:
            self.open -= 1
            writer.close()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._answer, "127.0.0.1", 0, backlog=512))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def slow_server():
    server = SlowServer(SLOW)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab():
    """A network namespace whose loopback drops TCP port 9 (a filtered port) and answers
    port 11 with ICMP host-unreachable."""
    ns = f"pp-http-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], check=True, text=True,
                       input="table inet pphttp {\n chain input {\n"
                             "  type filter hook input priority 0;\n"
                             "  tcp dport 9 drop\n"
                             "  tcp dport 11 reject with icmp type host-unreachable\n"
                             " }\n}\n")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def probe(portprobe, *words, timeout=60, netns=None):
    """Run one round; the JSON record of each target, in order."""
    done = portprobe("--format", "json", *words, timeout=timeout, netns=netns)
    assert done.returncode in (0, 1), done.stderr
    out = done.stdout if isinstance(done.stdout, str) else done.stdout.decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def check(portprobe, url, *options, timeout=60, netns=None):
    """The JSON record of one target."""
    records = probe(portprobe, url, *options, timeout=timeout, netns=netns)
    assert len(records) == 1, records
    return records[0]


def days_left(leaf):
    return (leaf.not_after.timestamp() - time.time()) / DAY


# --- plain HTTP: status, keywords, redirects ---


def test_keyword_page_is_up_with_timings(portprobe, web):
    r = check(portprobe, web.url("/"), f"keyword={nginx.KEYWORD}")
    assert r["result"] == "ok" and r["up"] == 1
    assert r["http_status"] == 200
    assert r["address"] == "127.0.0.1"
    for field in ("connect_time", "first_byte_time", "response_time"):
        assert 0 <= r[field] < 2, (field, r)
    assert "tls_time" not in r


def test_keyword_is_a_regular_expression(portprobe, web):
    r = check(portprobe, web.url("/"), r"keyword=fixture-k[e]yword\b")
    assert r["result"] == "ok"


def test_missing_keyword_is_named_and_the_page_shown(portprobe, web):
    r = check(portprobe, web.url("/"), "keyword=welcome-to-the-shop")
    assert r["result"] == "keyword_missing" and r["up"] == 0
    assert "welcome-to-the-shop" in r["detail"]
    assert r["excerpt"].startswith("<html><head><title>portprobe fixture</title>")
    assert r["http_status"] == 200


def test_forbidden_keyword_present_shows_where(portprobe, web):
    r = check(portprobe, web.url("/"), f"keyword_absent={nginx.KEYWORD}")
    assert r["result"] == "keyword_present"
    assert nginx.KEYWORD in r["excerpt"]
    assert "found at byte" in r["detail"]


def test_absent_keyword_that_is_absent_is_up(portprobe, web):
    r = check(portprobe, web.url("/"), "keyword_absent=Fatal error")
    assert r["result"] == "ok"


def test_500_page_is_http_status_with_the_status_line(portprobe, web):
    r = check(portprobe, web.url("/error"))
    assert r["result"] == "http_status" and r["up"] == 0
    assert r["http_status"] == 500
    assert r["excerpt"].startswith("HTTP/1.1 500 Internal Server Error")
    assert "accepted 200-399" in r["detail"]


def test_status_option_can_accept_500(portprobe, web):
    r = check(portprobe, web.url("/error"), "status=500")
    assert r["result"] == "ok" and r["http_status"] == 500


def test_status_option_can_refuse_200(portprobe, web):
    r = check(portprobe, web.url("/"), "status=201-204,301")
    assert r["result"] == "http_status" and r["http_status"] == 200
    assert "accepted 201-204,301" in r["detail"]


def test_redirect_chain_is_followed_and_counted(portprobe, web):
    r = check(portprobe, web.url("/r1"), f"keyword={nginx.KEYWORD}")
    assert r["result"] == "ok"
    assert r["http_status"] == 200
    assert r["http_redirects"] == 3
    assert r["detail"] == f"3 redirects to {web.url('/')}"


def test_redirect_not_followed_is_its_own_status(portprobe, web):
    r = check(portprobe, web.url("/r1"), "follow_redirects=no")
    assert r["result"] == "ok"
    assert r["http_status"] == 302 and r["http_redirects"] == 0


def test_redirect_loop_is_too_many_redirects(portprobe, web):
    r = check(portprobe, web.url("/loop"))
    assert r["result"] == "too_many_redirects" and r["up"] == 0
    assert r["http_redirects"] == 5  # max_redirects' default
    assert r["detail"] == f"more than 5 redirects (max_redirects), last to {web.url('/loop')}"


def test_chain_longer_than_max_redirects_fails(portprobe, web):
    r = check(portprobe, web.url("/r1"), "max_redirects=1")
    assert r["result"] == "too_many_redirects"
    assert r["http_redirects"] == 1
    assert r["detail"] == f"more than 1 redirect (max_redirects), last to {web.url('/r2')}"


def test_slow_endpoint_times_out_waiting_for_the_first_byte(portprobe, web):
    started = time.monotonic()
    r = check(portprobe, web.url("/slow/5"), "timeout=1s")
    elapsed = time.monotonic() - started
    assert r["result"] == "timeout" and r["phase"] == "first_byte"
    assert 0.9 <= r["response_time"] < 1.5
    assert elapsed < 4
    assert "connect_time" in r  # the connection itself was fine


def test_slow_endpoint_within_timeout_reports_its_first_byte_time(portprobe, web):
    r = check(portprobe, web.url("/slow/1"), "timeout=5s")
    assert r["result"] == "ok"
    assert 0.9 <= r["first_byte_time"] < 2.5


def test_head_request_sends_head(portprobe, web, web_dir):
    r = check(portprobe, web.url("/?head-probe"), "method=HEAD")
    assert r["result"] == "ok" and r["http_status"] == 200
    log = (web_dir / "access.log").read_text()
    assert '"HEAD /?head-probe HTTP/1.1" 200' in log


def test_request_headers_are_sent(portprobe, web, web_dir):
    r = check(portprobe, web.url("/?header-probe"), "header=User-Agent: probe-agent/7",
              "header=X-Extra: 1")
    assert r["result"] == "ok"
    line = [l for l in (web_dir / "access.log").read_text().splitlines()
            if "header-probe" in l][-1]
    assert '"probe-agent/7"' in line


def test_http_version_1_0_is_used(portprobe, web, web_dir):
    r = check(portprobe, web.url("/?v10-probe"), "http_version=1.0")
    assert r["result"] == "ok"
    assert '"GET /?v10-probe HTTP/1.0"' in (web_dir / "access.log").read_text()


def test_max_body_bounds_what_keywords_search(portprobe, web):
    needs_5000 = r"keyword=(?s)\A.{5000}"
    r = check(portprobe, web.url("/big"), needs_5000, "max_body=4096")
    assert r["result"] == "keyword_missing"
    assert "4096 bytes" in r["detail"] and "max_body reached" in r["detail"]
    r = check(portprobe, web.url("/big"), needs_5000, "max_body=8k")
    assert r["result"] == "ok"


def test_refused_port(portprobe):
    port = procs.free_port()
    r = check(portprobe, f"http://127.0.0.1:{port}/")
    assert r["result"] == "refused" and r["phase"] == "connect"
    assert r["detail"] == "Connection refused"


def test_filtered_port_times_out_in_the_connect_phase(portprobe, lab):
    r = check(portprobe, "http://127.0.0.1:9/", "timeout=1s", netns=lab)
    assert r["result"] == "timeout" and r["phase"] == "connect"
    assert 0.9 <= r["response_time"] < 1.5


def test_connect_timeout_bounds_the_connect_phase(portprobe, lab):
    r = check(portprobe, "http://127.0.0.1:9/", "timeout=5s", "connect_timeout=300ms",
              netns=lab)
    assert r["result"] == "timeout" and r["phase"] == "connect"
    assert 0.25 <= r["response_time"] < 0.8


def test_unreachable_is_named(portprobe, lab):
    r = check(portprobe, "http://127.0.0.1:11/", "timeout=3s", netns=lab)
    assert r["result"] == "unreachable" and r["phase"] == "connect"


def test_host_name_is_resolved_by_portprobe(portprobe, web):
    r = check(portprobe, web.url("/", host="localhost"), "address_family=ipv4")
    assert r["result"] == "ok"
    assert r["address"] == "127.0.0.1" and "dns_time" in r


def test_unknown_host_is_dns_failed(portprobe):
    r = check(portprobe, "http://no-such-host.invalid/")
    assert r["result"] == "dns_failed" and r["phase"] == "dns"


# --- misbehaving servers ---


def test_silent_server_times_out_waiting_for_the_first_byte(portprobe, odd_servers):
    s = odd_servers["silent"]
    r = check(portprobe, f"http://127.0.0.1:{s.port}/", "timeout=1s")
    assert r["result"] == "timeout" and r["phase"] == "first_byte"


def test_server_silent_before_tls_times_out_in_the_handshake(portprobe, odd_servers):
    s = odd_servers["silent"]
    r = check(portprobe, f"https://127.0.0.1:{s.port}/", "timeout=1s")
    assert r["result"] == "timeout" and r["phase"] == "tls"


def test_server_silent_after_tls_times_out_with_tls_facts(portprobe, odd_servers, cert_set):
    s = odd_servers["silent_tls"]
    r = check(portprobe, f"https://127.0.0.1:{s.port}/", "timeout=1s",
              f"ca_file={cert_set.ca.cert}")
    assert r["result"] == "timeout" and r["phase"] == "first_byte"
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3") and r["cert_grade"] == "good"


def test_server_closing_at_once_is_closed(portprobe, odd_servers):
    s = odd_servers["close"]
    r = check(portprobe, f"http://127.0.0.1:{s.port}/", "timeout=3s")
    assert r["result"] in ("closed", "reset"), r


def test_server_resetting_mid_body_is_reset(portprobe, odd_servers):
    s = odd_servers["reset"]
    r = check(portprobe, f"http://127.0.0.1:{s.port}/", "timeout=3s")
    assert r["result"] == "reset" and r["phase"] == "body", r
    assert r["http_status"] == 200


def test_garbage_instead_of_http_is_protocol_error(portprobe, odd_servers):
    s = odd_servers["garbage"]
    r = check(portprobe, f"http://127.0.0.1:{s.port}/", "timeout=3s")
    assert r["result"] == "protocol_error", r


# --- HTTPS: verification and TLS facts ---


def test_https_with_private_ca_reports_tls_facts(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="good", host="localhost"),
              f"ca_file={cert_set.ca.cert}", f"keyword={nginx.KEYWORD}")
    assert r["result"] == "ok"
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert abs(r["cert_expiry"] / DAY - days_left(cert_set.good)) < 0.01
    assert r["cert_grade"] == "good"
    assert 0 <= r["tls_time"] < 2


def test_https_to_an_ip_address_verifies_its_ip_san(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="good"), f"ca_file={cert_set.ca.cert}")
    assert r["result"] == "ok"


def test_unknown_ca_is_tls_verify_failed_with_facts(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="good"))  # system CAs only
    assert r["result"] == "tls_verify_failed" and r["phase"] == "tls"
    assert "cert_expiry" in r and r["tls_version"].startswith("TLSv1")


def test_ca_file_replaces_the_system_cas(portprobe, web, cert_set):
    other = certs.make_ca(cert_set.ca.dir.parent / "other-ca")
    r = check(portprobe, web.url("/", label="good"), f"ca_file={other.cert}")
    assert r["result"] == "tls_verify_failed"


def test_wrong_name_is_tls_verify_failed_with_cert_facts(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="wrong_name"), f"ca_file={cert_set.ca.cert}")
    assert r["result"] == "tls_verify_failed" and r["up"] == 0
    assert r["phase"] == "tls"
    assert "127.0.0.1" in r["detail"]
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert abs(r["cert_expiry"] / DAY - days_left(cert_set.wrong_name)) < 0.01


def test_expired_certificate_shows_negative_time_left(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="expired"), f"ca_file={cert_set.ca.cert}")
    assert r["result"] == "tls_verify_failed"
    assert "expired" in r["detail"]
    assert r["cert_expiry"] < 0
    assert abs(r["cert_expiry"] / DAY - days_left(cert_set.expired)) < 0.01
    assert r["cert_grade"] == "critical"


def test_certificate_expiring_soon_is_graded(portprobe, web, cert_set):
    url = web.url("/", label="expiring")
    ca = f"ca_file={cert_set.ca.cert}"
    r = check(portprobe, url, ca)
    assert r["result"] == "ok"  # still valid: the grade carries the warning
    assert 4.9 < r["cert_expiry"] / DAY < 5.2
    assert r["cert_grade"] == "critical"  # cert_crit_days defaults to 7
    r = check(portprobe, url, ca, "cert_crit_days=3")
    assert r["cert_grade"] == "warning"  # below cert_warn_days (20)


def test_verify_no_accepts_wrong_name_and_still_reports_facts(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="wrong_name"), "verify=no")
    assert r["result"] == "ok"
    assert r["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert abs(r["cert_expiry"] / DAY - days_left(cert_set.wrong_name)) < 0.01


def test_verify_no_on_expired_still_reports_negative_expiry(portprobe, web, cert_set):
    r = check(portprobe, web.url("/", label="expired"), "verify=no")
    assert r["result"] == "ok" and r["cert_expiry"] < 0


def test_sni_presents_and_verifies_another_name(portprobe, web, cert_set):
    # the wrong-name leaf is for wrong.example: asking for that name makes it right
    r = check(portprobe, web.url("/", label="wrong_name"), f"sni={certs.WRONG_NAME}",
              f"ca_file={cert_set.ca.cert}", f"keyword={nginx.KEYWORD}")
    assert r["result"] == "ok", r
    assert r["address"] == "127.0.0.1"


def test_https_to_a_plain_port_is_tls_handshake_failed(portprobe, web):
    r = check(portprobe, f"https://127.0.0.1:{web.http_port}/")
    assert r["result"] == "tls_handshake_failed" and r["phase"] == "tls"


# --- many at once ---


def test_fifty_slow_targets_take_one_delay_not_fifty(portprobe, web, slow_server):
    words = []
    for i in range(50):
        words += [f"http://127.0.0.1:{slow_server.port}/?n={i}", "timeout=20s",
                  f"name=slow{i}"]
    refused = procs.free_port()
    words += [web.url("/"), "name=nginx",
              f"tcp://127.0.0.1:{web.http_port}", "name=tcp-open",
              f"tcp://127.0.0.1:{refused}", "name=tcp-refused"]
    started = time.monotonic()
    records = probe(portprobe, *words, timeout=120)
    elapsed = time.monotonic() - started
    by_name = {r["target"]: r for r in records}
    assert len(by_name) == 53
    slow = [by_name[f"slow{i}"] for i in range(50)]
    assert all(r["result"] == "ok" for r in slow), [r for r in slow if r["result"] != "ok"]
    assert all(r["first_byte_time"] >= SLOW * 0.9 for r in slow)
    assert by_name["nginx"]["result"] == "ok"
    assert by_name["tcp-open"]["result"] == "ok"
    assert by_name["tcp-refused"]["result"] == "refused"
    # one delay plus start-up, far from the 50 x 2 s a serial prober would take
    assert SLOW <= elapsed < SLOW * 2, elapsed


def test_http_concurrency_bounds_checks_in_flight_not_other_kinds(portprobe, web):
    """--http-concurrency 4 with 12 URLs that each take 0.5 s: the server never
    holds more than 4 connections, the round takes three waves, every URL is
    up, and a TCP target listed after them starts at once, not after them."""
    server = SlowServer(0.5)
    try:
        words = ["--http-concurrency", "4"]
        for i in range(12):
            words += [f"http://127.0.0.1:{server.port}/?n={i}", "timeout=5s",
                      f"name=slow{i}"]
        words += [f"tcp://127.0.0.1:{web.http_port}", "name=tcp-open"]
        started = time.monotonic()
        records = probe(portprobe, *words, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    by_name = {r["target"]: r for r in records}
    slow = [by_name[f"slow{i}"] for i in range(12)]
    assert all(r["result"] == "ok" for r in slow), slow
    assert server.most_open == 4, server.most_open
    assert elapsed >= 3 * 0.5, elapsed
    first = min(r["time"] for r in slow)
    # the last wave started two waves after the first, the TCP check at once
    assert max(r["time"] for r in slow) - first >= 2 * 0.5 * 0.9
    assert by_name["tcp-open"]["result"] == "ok"
    assert by_name["tcp-open"]["time"] - first < 0.3


def test_http_concurrency_is_checked(portprobe):
    done = portprobe("--http-concurrency", "0", "http://127.0.0.1:1/")
    assert done.returncode == 2
    assert ("--http-concurrency: expected a whole number from 1 to 1000000 "
            "(HTTP(S) checks in flight at once), got \"0\"") in done.stderr


# --- redirects and header blocks a careless or hostile server sends (issue 24) ---


def landed(web, path):
    """The request that reached the echo backend at `path` (with its query), the last one."""
    found = [q for q in web.backend_requests() if q["path"] == path]
    assert found, f"nothing reached the backend at {path}"
    return found[-1]


def test_user_headers_are_not_sent_to_another_host_after_a_redirect(portprobe, web):
    r = check(portprobe, web.url("/away?hdr-other"), "header=X-Api-Key: k-other-123",
              "header=X-Trace: t1")
    assert r["result"] == "ok" and r["http_redirects"] == 1, r
    assert r["detail"] == f"1 redirect to http://127.0.0.2:{web.http_port}/api/away?hdr-other"
    headers = landed(web, "/api/away?hdr-other")["headers"]
    assert "x-api-key" not in headers and "x-trace" not in headers, headers


def test_user_headers_follow_a_redirect_on_the_same_host(portprobe, web):
    r = check(portprobe, web.url("/near?hdr-same"), "header=X-Api-Key: k-same-123")
    assert r["result"] == "ok" and r["http_redirects"] == 1, r
    assert landed(web, "/api/near?hdr-same")["headers"]["x-api-key"] == "k-same-123"


def test_redirect_headers_all_sends_them_to_another_host(portprobe, web):
    r = check(portprobe, web.url("/away?hdr-all"), "header=X-Api-Key: k-all-123",
              "redirect_headers=all")
    assert r["result"] == "ok", r
    assert landed(web, "/api/away?hdr-all")["headers"]["x-api-key"] == "k-all-123"


def test_megabyte_of_response_headers_is_the_servers_protocol_error(portprobe, odd_servers):
    s = odd_servers["many_headers"]
    r = check(portprobe, f"http://127.0.0.1:{s.port}/", "timeout=5s")
    assert r["result"] == "protocol_error", r
    assert r["detail"] == "response headers longer than 262144 bytes"


def test_megabyte_header_line_is_the_servers_protocol_error(portprobe, odd_servers):
    s = odd_servers["long_header"]
    r = check(portprobe, f"http://127.0.0.1:{s.port}/", "timeout=5s")
    assert r["result"] == "protocol_error", r
    assert r["detail"] == "a response header line longer than 102400 bytes (libcurl's limit)"


def test_https_redirected_to_http_says_so_in_the_record(portprobe, web, cert_set):
    r = check(portprobe, web.url("/to-http?down-allow", label="good"),
              f"ca_file={cert_set.ca.cert}")
    assert r["result"] == "ok", r
    assert r["final_scheme"] == "http"
    assert r["detail"] == (f"1 redirect to http://127.0.0.1:{web.http_port}"
                           "/api/downgraded?down-allow (from https to http)")
    landed(web, "/api/downgraded?down-allow")


def test_redirect_downgrade_refuse_fails_before_the_plain_request(portprobe, web, cert_set):
    r = check(portprobe, web.url("/to-http?down-refuse", label="good"),
              f"ca_file={cert_set.ca.cert}", "redirect_downgrade=refuse")
    assert r["result"] == "insecure_redirect" and r["up"] == 0, r
    assert r["detail"] == (f"https redirected to http://127.0.0.1:{web.http_port}"
                           "/api/downgraded?down-refuse (redirect_downgrade=refuse)")
    assert r["final_scheme"] == "http"
    assert not [q for q in web.backend_requests() if q["path"].endswith("down-refuse")]
