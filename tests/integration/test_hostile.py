"""Hostile peers (issue 24), each played by a real server of its own from the fixtures
(hostile_server.py, dns_server.py) against the built command: servers that echo the password
back (quoted, escaped, base64, split over two writes), replies that start with a bare line
feed, files that block when opened, resolvers that fail one lookup badly, a descriptor limit
far below the round's size, and a server that trickles bytes to make the dialog work hard.
Each test asserts what a user reads: the result, its detail, and that no secret shows."""

import json
import os
import resource
import subprocess
import threading
import time

import pytest

from dialog_support import certs, probe, registry, shared_dir  # noqa: F401
from hostile_support import (PASSWORD, USERNAME, leaked, rendered, secret_forms,
                             write_password_file)

hostile = pytest.importorskip("fixtures.hostile")
dns = pytest.importorskip("fixtures.dns")
procs = pytest.importorskip("fixtures.procs")


@pytest.fixture
def bad(registry, tmp_path):
    """bad(mode, **options) -> a running hostile server."""
    return lambda mode, **kw: hostile.start_hostile(registry, tmp_path, mode, **kw)


@pytest.fixture
def password(tmp_path):
    return write_password_file(tmp_path)


# --- secrets: every form the dialog sent is scrubbed, whole or in pieces ---

# (hostile mode, scheme, options) of a login whose refusal echoes what carried the password
ECHOES = {
    "imap LOGIN": ("echo-imap", "imap", []),
    "pop3 PASS": ("echo-pop3", "pop3", []),
    "smtp AUTH PLAIN": ("echo-smtp", "smtp", []),
    "smtp AUTH LOGIN": ("echo-smtp", "smtp", ["auth_mechanism=login"]),
}


def login_words(server, scheme, options, password):
    return [f"{scheme}://127.0.0.1:{server.port}", f"username={USERNAME}",
            f"password_file={password}", "auth_plaintext=yes", "timeout=3s", *options]


def test_the_forms_looked_for_are_the_ones_a_dialog_sends():
    raw, quoted, b64, plain = secret_forms()
    assert quoted == 'Tr0ub\\"ad\\\\or\\xc3\\xb6 Zebra-4711'.join('""')
    assert raw == "Tr0ub\"ad\\or\\xc3\\xb6 Zebra-4711"
    assert leaked(["server said: a2 NO " + quoted]) and not leaked(["a2 NO ****"])
    assert leaked(["half: " + b64[: len(b64) // 2]]) and leaked(["..." + plain[-8:]])


@pytest.mark.parametrize("login", sorted(ECHOES))
def test_an_echoed_password_never_shows_in_the_record(portprobe, bad, password, login):
    mode, scheme, options = ECHOES[login]
    server = bad(mode)
    words = login_words(server, scheme, options, password)
    r, proc = probe(portprobe, *words)
    assert r["result"] == "auth_failed" and r["phase"] == "auth", r
    assert "refused" in r["excerpt"] or "failed" in r["excerpt"], r["excerpt"]
    assert "****" in r["excerpt"], r["excerpt"]
    influx = portprobe("--format", "influx", *words)
    assert "auth_failed" in influx.stdout, influx.stdout + influx.stderr
    assert not leaked([proc.stdout, proc.stderr, influx.stdout, influx.stderr])


def test_an_echoed_password_never_shows_in_the_alert(portprobe, bad, password, tmp_path):
    server = bad("echo-imap")
    words = login_words(server, "imap", ["down_after=1"], password)
    state = tmp_path / "state"
    shown = [portprobe("--format", fmt, "--state-file", state.with_suffix("." + fmt), *words)
             for fmt in ("text", "json", "influx")]
    assert "ALERT failure: " in shown[0].stdout, shown[0].stdout
    assert '"event":true' in shown[1].stdout and "portprobe_event," in shown[2].stdout
    assert "****" in shown[0].stdout
    assert not leaked([p.stdout + p.stderr for p in shown])


@pytest.mark.parametrize("login", sorted(ECHOES))
def test_an_echo_split_over_two_writes_never_shows_in_the_trace(portprobe, bad, password,
                                                                 login):
    mode, scheme, options = ECHOES[login]
    server = bad(mode, split=True)
    r, proc = probe(portprobe, *login_words(server, scheme, options, password), verbose=True)
    assert r["result"] == "auth_failed", r
    assert "S: " in proc.stderr  # the trace is on
    assert not leaked([proc.stdout, proc.stderr]), proc.stderr


def test_a_password_file_readable_by_others_is_warned_about(portprobe, bad, tmp_path):
    server = bad("echo-imap")
    private = write_password_file(tmp_path)
    r, proc = probe(portprobe, *login_words(server, "imap", [], private))
    assert r["result"] == "auth_failed" and "password_file" not in proc.stderr
    private.chmod(0o644)
    r, proc = probe(portprobe, *login_words(server, "imap", [], private))
    assert r["result"] == "auth_failed"
    assert (f'warning: target "imap://127.0.0.1:{server.port}": password_file {private} is '
            "readable by others (mode 0644)") in proc.stderr, proc.stderr
    assert not leaked([proc.stdout, proc.stderr])


# --- the loop never blocks: files that block when opened ---

def fifo(path):
    os.mkfifo(path)
    return path


def test_a_fifo_as_password_file_or_ca_file_is_refused_at_once(portprobe, tmp_path):
    pipe = fifo(tmp_path / "pipe")
    cases = (("imap://127.0.0.1:1", "username=alice", f"password_file={pipe}",
              "auth_plaintext=yes"),
             ("imaps://127.0.0.1:1", f"ca_file={pipe}"),
             ("https://127.0.0.1:1/", f"ca_file={pipe}"))
    for words in cases:
        p = portprobe(*words, timeout=10)
        key = words[-1].split("=")[0] if "ca_file" in words[-1] else "password_file"
        assert p.returncode == 2, p
        assert (f'target "{words[0]}": option "{key}": {pipe} is a FIFO, not a regular '
                "file") in p.stderr, p.stderr


def test_a_file_that_becomes_a_fifo_fails_its_own_check_and_not_the_round(
        pp_bin, bad, certs, tmp_path):
    """The files are regular when the targets are read and FIFOs (with no writer) when the
    second round opens them: that round ends on time, each check says why."""
    from test_influx import Execd
    echo, tls = bad("echo-imap"), bad("smtp-no-starttls", leaf=certs.good)
    secret, ca = write_password_file(tmp_path), tmp_path / "ca.pem"
    ca.write_bytes(certs.ca.cert.read_bytes())
    words = [f"imap://127.0.0.1:{echo.port}", "name=login", f"username={USERNAME}",
             f"password_file={secret}", "auth_plaintext=yes",
             f"smtps://127.0.0.1:{tls.port}", "name=tls", f"ca_file={ca}", "timeout=3s"]
    session = Execd([pp_bin, "--execd", "--format", "json", *words], tmp_path / "err.log")
    try:
        session.request()
        first = {r["target"]: r for r in map(json.loads, session.read_lines(2))}
        assert first["login"]["result"] == "auth_failed" and first["tls"]["result"] == "ok"
        for path in (secret, ca):
            path.unlink()
            fifo(path)
        started = time.monotonic()
        session.request()
        second = {r["target"]: r for r in map(json.loads, session.read_lines(2, timeout=8))}
        assert time.monotonic() - started < 4
        assert second["login"]["result"] == "socket_error"
        assert second["login"]["detail"] == f"password_file {secret}: a FIFO, not a regular file"
        assert second["tls"]["result"] == "socket_error"
        assert second["tls"]["detail"] == f"ca_file {ca}: a FIFO, not a regular file"
        session.proc.stdin.close()
        assert session.wait(5) == 0
    finally:
        session.close()


# --- names that say what happened: replies that start with a bare line feed ---

@pytest.mark.parametrize("scheme,banner", [
    ("smtp", r"\n220 hostile.test ESMTP\r\n"),
    ("pop3", r"\n+OK hostile.test POP3\r\n"),
    ("imap", r"\n* OK hostile.test IMAP\r\n"),
    ("ftp", r"\n220 hostile.test FTP\r\n"),
])
def test_a_greeting_after_a_bare_line_feed_is_refused_at_once(portprobe, bad, scheme, banner):
    server = bad("say", banner=banner)
    started = time.monotonic()
    r, _ = probe(portprobe, f"{scheme}://127.0.0.1:{server.port}", "timeout=3s")
    assert time.monotonic() - started < 1.5
    assert r["result"] == "banner_mismatch" and r["phase"] == "banner", r
    assert r["detail"].startswith("not a"), r["detail"]
    # the line feed the server began with is shown, not hidden
    assert r["excerpt"].startswith("\\x0a"), r["excerpt"]
    assert "hostile.test" in r["excerpt"]


def test_a_code_alone_on_its_line_is_a_whole_smtp_reply(portprobe, bad):
    """RFC 5321 allows a reply of a code alone; here with bare line feeds, as the greeting and
    as the answer to EHLO."""
    server = bad("say", banner=r"220\n", reply=r"250\n")
    started = time.monotonic()
    r, proc = probe(portprobe, f"smtp://127.0.0.1:{server.port}", "timeout=3s", verbose=True)
    assert time.monotonic() - started < 1.5
    assert r["result"] == "ok", r
    assert r["excerpt"] == "220"
    assert "C: EHLO" in proc.stderr and "C: QUIT" in proc.stderr


# --- the dialog parses from where the last read left off ---

def cpu_seconds_of(run):
    """CPU time (user + system) the child processes of run() used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.parametrize("scheme,banner,words", [
    ("smtp", "220 ", []),
    ("pop3", "+OK ", []),
    ("imap", "* OK ", []),
    ("tcp", "", ["expect=^220 [a-z]+[0-9]"]),
])
def test_a_server_trickling_a_long_line_costs_little_cpu(portprobe, bad, scheme, banner, words):
    """64 bytes a millisecond and never a line end, for 5 s, with max_reply=1M: the reply
    grows to 320 kB in 5000 reads; judging all of it at each read cost 0.6 s of CPU."""
    server = bad("trickle", banner=banner or "220 ")
    (r, _), cpu = cpu_seconds_of(lambda: probe(
        portprobe, f"{scheme}://127.0.0.1:{server.port}", *words, "max_reply=1M",
        "timeout=5s", timeout=20))
    assert r["result"] in ("timeout", "expect_mismatch"), r
    assert r["excerpt"].startswith((banner or "220 ") + "xxxx")
    assert cpu < 0.25, f"{cpu:.2f} s of CPU"


# --- resolution: one bad exchange fails only its own query; names that say what happened ---

@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that accepts every connection (and closes it)."""
    from fixtures.sockets import Listener
    server = Listener()
    server.start()
    yield server.port
    server.stop()


SLOW = 0.5  # the other names answer after the bad one has failed


def many_names(count=12):
    return {f"n{i}.test": ["@delay:%g" % SLOW, "127.0.0.1"] for i in range(count)}


def resolve_round(portprobe, resolver_port, port, names, *extra):
    words = ["--resolver", f"127.0.0.1:{resolver_port}", "--format", "json"]
    for name in names:
        words += [f"tcp://{name}:{port}", "address_family=ipv4", "timeout=4s", *extra]
    p = portprobe(*words, timeout=30)
    assert p.returncode in (0, 1), p.stderr
    return {json.loads(l)["url"].split("//")[1].split(":")[0]: json.loads(l)
            for l in p.stdout.splitlines()}


# 600 A records, far more than 512 bytes: the first is where the test's listener is
BIG = ["127.0.0.1"] + [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(599)]


@pytest.mark.parametrize("tcp", ["no", "garbage"])
def test_a_truncated_answer_whose_tcp_retry_fails_fails_only_its_own_lookup(
        portprobe, registry, tmp_path, listener, tcp):
    """A UDP-only resolver (TCP/53 refused, as behind a firewall) or one whose TCP side
    speaks no DNS: the name whose answer needs TCP fails, the twelve others resolve."""
    records = {"big.test": BIG, **many_names()}
    server = dns.start_dns(registry, tmp_path / "dns", records, tcp=tcp, udp_limit=512)
    got = resolve_round(portprobe, server.port, listener, ["big.test", *many_names()])
    others = {name: r["result"] for name, r in got.items() if name != "big.test"}
    assert others == {name: "ok" for name in many_names()}, got
    assert got["big.test"]["result"] in ("dns_failed", "timeout"), got["big.test"]
    assert got["big.test"]["phase"] == "dns"


def test_a_truncated_answer_of_600_records_is_asked_again_over_tcp(portprobe, registry,
                                                                   tmp_path, listener):
    server = dns.start_dns(registry, tmp_path / "dns", {"big.test": BIG}, udp_limit=512)
    got = resolve_round(portprobe, server.port, listener, ["big.test"])
    assert got["big.test"]["result"] == "ok" and got["big.test"]["address"] in BIG


def test_a_lookup_asked_again_alone_leaves_no_socket_when_its_check_ends(
        pp_bin, registry, tmp_path, listener):
    """The victims of a broken TCP exchange are asked again on channels of their own; when
    their checks time out first, those channels go with them: between rounds the process
    holds no socket."""
    from test_influx import Execd
    slow = {f"n{i}.test": ["@delay:3", "127.0.0.1"] for i in range(4)}
    server = dns.start_dns(registry, tmp_path / "dns", {"big.test": BIG, **slow}, tcp="no",
                           udp_limit=512)
    words = ["--resolver", f"127.0.0.1:{server.port}"]
    for name in ["big.test", *slow]:
        words += [f"tcp://{name}:{listener}", "address_family=ipv4", "timeout=1s"]
    session = Execd([pp_bin, "--execd", "--format", "json", *words], tmp_path / "err.log")
    try:
        session.request()
        records = [json.loads(line) for line in session.read_lines(5)]
        assert {r["phase"] for r in records} == {"dns"}, records
        time.sleep(0.2)
        assert session.sockets() == 0
    finally:
        session.close()


@pytest.mark.parametrize("word,detail", [
    ("@servfail", "server failure (SERVFAIL)"),
    ("@refused", "query refused by the resolver"),
])
def test_servfail_and_refused_are_named_as_such(portprobe, registry, tmp_path, listener,
                                                word, detail):
    records = {"bad.test": [word], **many_names(4)}
    server = dns.start_dns(registry, tmp_path / "dns", records)
    got = resolve_round(portprobe, server.port, listener, ["bad.test", *many_names(4)])
    assert got["bad.test"]["result"] == "dns_failed", got["bad.test"]
    assert got["bad.test"]["detail"] == f"bad.test: {detail}"
    assert {r["result"] for name, r in got.items() if name != "bad.test"} == {"ok"}


def test_cname_chains_resolve_and_loops_fail_on_time(portprobe, registry, tmp_path, listener):
    records = {"alias.test": ["@cname:real.test"], "real.test": ["127.0.0.1"],
               "loop1.test": ["@cname:loop2.test"], "loop2.test": ["@cname:loop1.test"]}
    server = dns.start_dns(registry, tmp_path / "dns", records)
    started = time.monotonic()
    got = resolve_round(portprobe, server.port, listener, ["alias.test", "loop1.test"])
    assert time.monotonic() - started < 4.5
    assert got["alias.test"]["result"] == "ok", got["alias.test"]
    assert got["loop1.test"]["result"] == "dns_failed" and got["loop1.test"]["phase"] == "dns"


# --- limits: a descriptor limit far below the round's size ---

def limited_to(fds):
    """preexec_fn: soft and hard RLIMIT_NOFILE of the child set to fds."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))


class BannerServer:
    """A TCP server on 127.0.0.1 that greets every connection with an SSH banner and closes it
    once the client has answered or gone (a thread per connection; backlog 1024)."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            threading.Thread(target=self._greet, args=(conn,), daemon=True).start()

    @staticmethod
    def _greet(conn):
        with conn:
            try:
                conn.settimeout(5)
                conn.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
                conn.recv(100)
            except OSError:
                pass

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("scheme,options", [
    ("tcp", []),                        # the default concurrency fits the limit
    ("ssh", ["--concurrency", "500"]),  # more than fits: the rest wait for a descriptor
])
def test_five_hundred_targets_under_a_limit_of_64_descriptors_all_get_their_result(
        pp_bin, scheme, options):
    """ulimit -n 64 (hard): the default concurrency leaves room for what the process holds
    itself, and a check that finds no descriptor left waits for one: none fails for want of
    one (before: 441 of 500 were "socket: Too many open files")."""
    server, closed = BannerServer(), procs.free_port()
    words = ["--format", "json", *options]
    for i in range(500):
        words += [f"{scheme}://127.0.0.1:{server.port if i % 2 == 0 else closed}",
                  f"name=t{i}", "timeout=5s"]
    try:
        p = subprocess.run([str(pp_bin), *words], capture_output=True, text=True, timeout=60,
                           preexec_fn=limited_to(64))
    finally:
        server.close()
    records = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(records) == 500, p.stderr
    starved = [r for r in records if "Too many open files" in r.get("detail", "")]
    assert not starved, f"{len(starved)} checks had no descriptor: {starved[0]}"
    results = {}
    for r in records:
        results[r["result"]] = results.get(r["result"], 0) + 1
    assert results == {"ok": 250, "refused": 250}, results


# --- held (issue 24's list of what held): the shapes that had no test yet ---

def test_a_server_that_half_closes_after_its_greeting_is_closed_in_the_dialog(portprobe, bad):
    server = bad("half-close")
    r, _ = probe(portprobe, f"smtp://127.0.0.1:{server.port}", "timeout=3s")
    assert r["result"] == "closed" and r["phase"] == "dialog", r
    assert r["detail"] == "server closed the connection before answering EHLO"


def test_a_huge_imap_literal_is_a_protocol_error_at_once(portprobe, bad):
    server = bad("say", banner=r"* OK ready\r\n", reply=r"* CAPABILITY {99999999}\r\n")
    started = time.monotonic()
    r, _ = probe(portprobe, f"imap://127.0.0.1:{server.port}", "timeout=3s")
    assert time.monotonic() - started < 1.5
    assert r["result"] == "protocol_error" and r["detail"] == "IMAP literal too large", r


def test_tls_to_a_silent_or_garbage_server_fails_in_the_handshake(portprobe, bad):
    silent, garbage = bad("silent"), bad("garbage", size=4096)
    r, _ = probe(portprobe, f"smtps://127.0.0.1:{silent.port}", "timeout=1s")
    assert r["result"] == "timeout" and r["phase"] == "tls", r
    r, _ = probe(portprobe, f"imaps://127.0.0.1:{garbage.port}", "timeout=3s")
    assert r["result"] == "tls_handshake_failed" and r["phase"] == "tls", r


def test_two_processes_writing_one_state_file_leave_it_whole(pp_bin, tmp_path):
    state = tmp_path / "state"
    argv = [str(pp_bin), "--format", "influx", "--state-file", str(state),
            *[w for i in range(20) for w in (f"tcp://127.0.0.1:{procs.free_port()}",
                                             f"name=t{i}", "down_after=1")]]
    runs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(8)]
    errors = [p.communicate(timeout=60)[1].decode() for p in runs]
    assert all(p.returncode == 0 for p in runs), errors
    assert not [e for e in errors if "warning" in e], errors
    again = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert again.stderr == "", again.stderr  # the file read back whole
    assert state.read_text().startswith("portprobe-state 1\n")


def test_a_state_file_on_a_full_tmpfs_is_a_warning_and_the_data_still_comes(pp_bin, tmp_path):
    """A tmpfs of 4 kB filled to the last byte, in a mount namespace of the test's own."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    targets = " ".join(f"tcp://127.0.0.1:{procs.free_port()} name=t{i}" for i in range(50))
    script = (f"mount -t tmpfs -o size=4k tmpfs {mnt} && "
              f"(dd if=/dev/zero of={mnt}/filler bs=1k count=64 2>/dev/null; true) && "
              f"exec {pp_bin} --format influx --state-file {mnt}/state {targets}")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "state file" in p.stderr and "No space left on device" in p.stderr, p.stderr
    assert p.stdout.count("portprobe,") == 50
    assert "portprobe_state_file saved=0i" in p.stdout


def sanitized(binary):
    """Whether binary is built with AddressSanitizer, whose shadow memory no RLIMIT_AS fits."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    return "libasan" in out


def test_a_memory_limit_gives_out_of_memory_results_not_a_crash(pp_bin, bad):
    """Under RLIMIT_AS of 40 MB, 64 servers each holding the prober to 900 kB of an endless
    line (max_reply=1M): the checks whose buffer cannot grow say so, the process lives on."""
    if sanitized(pp_bin):
        pytest.skip("AddressSanitizer reserves more address space than any limit here")
    server = bad("hold", size=900_000)
    words = ["--format", "json"]
    for i in range(64):
        words += [f"smtp://127.0.0.1:{server.port}", f"name=t{i}", "max_reply=1M",
                  "timeout=3s"]
    limit = 40 << 20

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    p = subprocess.run([str(pp_bin), *words], capture_output=True, text=True, timeout=60,
                       preexec_fn=cap)
    assert p.returncode == 1, (p.returncode, p.stderr[-500:])
    records = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(records) == 64
    kinds = {(r["result"], r["phase"], r["detail"].split(" within")[0]) for r in records}
    assert kinds <= {("socket_error", "banner", "out of memory"),
                     ("timeout", "banner", "no progress")}, kinds
    assert ("socket_error", "banner", "out of memory") in kinds, kinds
