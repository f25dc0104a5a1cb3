"""The collectd plugin in the real collectd daemon: values read back through
unixsock, transitions as notifications through notify_email and exec, the
threshold plugin on our values, a bad configuration refused at start, and a
long run under valgrind with no leak and a steady descriptor count.

Every server (collectd, the SMTP sink, DNS) listens on 127.0.0.1 on a port
free at run time, keeps its files under a temporary directory and is
stopped by its PID."""

import mailbox
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from fixtures import collectd_plugins, sanitizers
from fixtures.sockets import FullBacklog, Listener

SRCDIR = Path(__file__).resolve().parents[2]
BUILDDIR = Path(os.environ.get("PORTPROBE_BUILDDIR", SRCDIR))
PLUGIN = BUILDDIR / "collectd-plugin" / ".libs" / "portprobe.so"
TYPES_DB = SRCDIR / "collectd-plugin" / "types.db"
EXAMPLE = SRCDIR / "collectd-plugin" / "portprobe.conf.example"
COLLECTD = shutil.which("collectd") or "/usr/sbin/collectd"
PYTHON = "/usr/bin/python3"  # Debian's, with aiosmtpd and dnslib



SANITIZERS = sanitizers.RUNTIMES
SANITIZER_REPORT = sanitizers.REPORT
sanitizer_env = sanitizers.env


pytestmark = pytest.mark.skipif(
    not os.path.exists(COLLECTD),
    reason="collectd is not installed (apt-get install collectd-core)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what):
    """Polls cond() until it returns a true value; fails naming what."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def wait_port(port, timeout=10):
    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_for(up, timeout, f"port {port} to answer")


def stop_pid(proc, timeout=20):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


# --- servers the tests talk to ---

class SlowDNS:
    """A DNS server answering every A query with 127.0.0.1 after a delay
    (and AAAA with no address), in a thread of the test process."""

    def __init__(self, delay):
        from dnslib import QTYPE, RR, A, DNSRecord
        self._dns = (QTYPE, RR, A, DNSRecord)
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        QTYPE, RR, A, DNSRecord = self._dns
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            self.queries += 1
            threading.Thread(target=self._answer, args=(data, peer),
                             daemon=True).start()

    def _answer(self, data, peer):
        QTYPE, RR, A, DNSRecord = self._dns
        q = DNSRecord.parse(data)
        reply = q.reply()
        if q.q.qtype == QTYPE.A:
            reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("127.0.0.1"),
                                ttl=0))
        time.sleep(self.delay)
        try:
            self.sock.sendto(reply.pack(), peer)
        except OSError:
            pass

    def close(self):
        self.running = False
        self.sock.close()


class SMTPSink:
    """aiosmtpd storing every message in a maildir."""

    def __init__(self, tmp):
        self.dir = tmp / "maildir"
        for sub in ("cur", "new", "tmp"):
            (self.dir / sub).mkdir(parents=True)
        self.port = free_port()
        self.log = open(tmp / "smtp.log", "w")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.dir)],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port)

    def messages(self):
        box = mailbox.Maildir(str(self.dir), create=False)
        msgs = [box.get_message(k) for k in box.keys()]
        # collectd's notify_email does not set Date: order by arrival
        return sorted(msgs, key=lambda m: m.get_date())

    def close(self):
        stop_pid(self.proc)
        self.log.close()


class ExecSink:
    """A NotificationExec script that stores each notification in a file of
    its own (collectd runs one script per notification, possibly at once).
    collectd's exec plugin refuses to run programs as root, so the script
    runs as nobody, in a directory of its own outside pytest's (private)
    temporary tree."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="pp-cd-exec-"))
        self.dir.chmod(0o777)
        self.script = self.dir / "notify.sh"
        # shell builtins only: with a sanitizer build, collectd's children
        # inherit the preloaded ASan runtime, whose leak report at the exit
        # of a program such as cat or mktemp would fail it
        self.script.write_text(
            "#!/bin/sh\n"
            "while IFS= read -r line; do printf '%s\\n' \"$line\"; done"
            f" > '{self.dir}/n.'$$.txt\n")
        self.script.chmod(0o755)

    def notifications(self):
        """Each notification's text, oldest first."""
        files = sorted(self.dir.glob("n.*.txt"),
                       key=lambda f: f.stat().st_mtime_ns)
        return [f.read_text().strip() for f in files]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Collectd:
    """The real collectd with the built plugin, in a temporary directory:
    a plugin folder of copies (collectd refuses symbolic links there), a log
    file, unixsock for reading values back, csv for counting rounds."""

    def __init__(self, tmp, body, interval=1, plugins=(), hostname="testhost"):
        self.dir = tmp
        self.hostname = hostname
        plugdir = tmp / "plugins"
        plugdir.mkdir(exist_ok=True)
        for name in ("logfile", "unixsock", "csv", *plugins):
            if name != "portprobe":
                collectd_plugins.copy(name, plugdir)
        assert PLUGIN.exists(), f"the plugin is not built: no {PLUGIN}"
        shutil.copy(PLUGIN, plugdir)
        self.sock = tmp / "collectd.sock"
        self.logfile = tmp / "collectd.log"
        self.csv = tmp / "csv"
        self.conf = tmp / "collectd.conf"
        loads = "\n".join(f"LoadPlugin {p}" for p in plugins)
        self.conf.write_text(f"""
Hostname "{hostname}"
FQDNLookup false
BaseDir "{tmp}"
PIDFile "{tmp}/collectd.pid"
PluginDir "{plugdir}"
TypesDB "/usr/share/collectd/types.db" "{TYPES_DB}"
Interval {interval}
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{self.logfile}"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{self.sock}"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{self.csv}"
</Plugin>
{loads}
{body}
""")
        self.proc = None

    def start(self, prefix=(), wait=True, timeout=30):
        self.stdout = open(self.dir / "collectd.stdout", "w")
        self.proc = subprocess.Popen(
            [*prefix, COLLECTD, "-f", "-C", str(self.conf)],
            stdout=self.stdout, stderr=subprocess.STDOUT,
            env=sanitizer_env())
        if wait:
            wait_for(lambda: self._ready(), timeout, "collectd to start")
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(
                f"collectd exited with {self.proc.returncode}:\n{self.log()}")
        return self.sock.exists() and "Initialization complete" in self.log()

    def log(self):
        text = self.logfile.read_text() if self.logfile.exists() else ""
        out = self.dir / "collectd.stdout"
        return text + (out.read_text() if out.exists() else "")

    def stop(self):
        if self.proc is not None and not self.stdout.closed:
            stop_pid(self.proc, timeout=60)
            self.stdout.close()
            # an instrumented build reports memory errors and leaks here
            report = SANITIZER_REPORT.search(self.log())
            assert report is None, self.log()[-6000:]

    def collectdctl(self, *args):
        return subprocess.run(["collectdctl", "-s", str(self.sock), *args],
                              capture_output=True, text=True, timeout=10)

    def getval(self, ident):
        """The value of host/plugin-instance/type-instance, or None."""
        p = self.collectdctl("getval", f"{self.hostname}/{ident}")
        if p.returncode != 0:
            return None
        m = re.search(r"^value=(\S+)$", p.stdout, re.M)
        return float(m.group(1)) if m else None

    def listval(self):
        p = self.collectdctl("listval")
        return [line.split("/", 1)[1] for line in p.stdout.split()]

    def rows(self, ident):
        """(time, value) rows the csv plugin wrote for plugin-inst/type-inst:
        one per round."""
        d = self.csv / self.hostname / ident.split("/")[0]
        out = []
        for f in sorted(d.glob(ident.split("/")[1] + "-*")):
            text = f.read_text()
            # a line still being written (no newline yet) is not a row yet
            for line in text[:text.rfind("\n") + 1].splitlines()[1:]:
                t, v = line.split(",")[:2]
                out.append((float(t), float(v)))
        return out

    def wait_rounds(self, ident, n, timeout):
        """Waits until at least n rounds of ident were written."""
        return wait_for(lambda: len(self.rows(ident)) >= n and self.rows(ident),
                        timeout, f"{n} rounds of {ident}")


@pytest.fixture
def service():
    s = Listener()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def exec_sink():
    s = ExecSink()
    yield s
    s.close()


@pytest.fixture
def running():
    """Collectd instances a test starts, stopped at teardown."""
    started = []
    yield started
    for c in started:
        c.stop()


# --- values ---

def test_values_of_targets_up_and_down_read_back_through_unixsock(
        tmp_path, service, running):
    closed = free_port()
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  Timeout 2
  <Target "web">
    URL "tcp://127.0.0.1:{service.port}"
  </Target>
  <Target "closed">
    URL "tcp://127.0.0.1:{closed}"
  </Target>
</Plugin>
""")
    running.append(cd.start())
    cd.wait_rounds("portprobe-closed/bool-up", 2, 15)
    cd.wait_rounds("portprobe-web/bool-up", 2, 15)

    assert cd.getval("portprobe-web/bool-up") == 1
    total = cd.getval("portprobe-web/response_time-total")
    assert total is not None and 0 < total < 1
    assert 0 < cd.getval("portprobe-web/response_time-connect") <= total
    assert cd.getval("portprobe-web/bool-flapping") == 0

    assert cd.getval("portprobe-closed/bool-up") == 0
    idents = cd.listval()
    assert "portprobe-closed/bool-up" in idents
    # a refused port has no response time: it did not respond
    assert "portprobe-closed/response_time-total" not in idents
    assert "portprobe-closed/response_time-connect" not in idents
    assert "portprobe: 2 targets every 1s" in cd.log()


def test_each_interval_runs_on_its_own_and_a_silent_target_costs_its_timeout(
        tmp_path, service, running):
    """Targets of one interval share a round, which lasts about the slowest
    target's timeout; another interval's round is not held up at all."""
    silent = FullBacklog()
    try:
        cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  <Target "fast">
    URL "tcp://127.0.0.1:{service.port}"
    Interval 1
  </Target>
  <Target "silent">
    URL "tcp://127.0.0.1:{silent.port}"
    Interval 1
    Timeout 2
  </Target>
  <Target "other">
    URL "tcp://127.0.0.1:{service.port}"
    Interval 1.5
  </Target>
</Plugin>
""")
        running.append(cd.start())
        start = time.monotonic()
        cd.wait_rounds("portprobe-silent/bool-up", 4, 20)
        elapsed = time.monotonic() - start
        silent_rows = cd.rows("portprobe-silent/bool-up")
        fast_rows = cd.rows("portprobe-fast/bool-up")
        other_rows = cd.rows("portprobe-other/bool-up")
    finally:
        silent.close()

    assert all(v == 0 for _, v in silent_rows)
    assert all(v == 1 for _, v in fast_rows)
    # same round: the fast target waits for the silent one, no longer
    gaps = [b[0] - a[0] for a, b in zip(fast_rows, fast_rows[1:])]
    assert gaps and all(1.5 < g < 3.0 for g in gaps), gaps
    # its own round: every 1.5 s, whatever the silent target does
    gaps = [b[0] - a[0] for a, b in zip(other_rows, other_rows[1:])]
    assert len(other_rows) >= elapsed / 1.5 - 2, (len(other_rows), elapsed)
    assert gaps and all(1.2 < g < 1.8 for g in gaps), gaps
    assert "portprobe: 2 targets every 1s" in cd.log()
    assert "portprobe: 1 target every 1.5s" in cd.log()


# --- notifications ---

def test_port_down_and_back_sends_one_failure_and_one_okay_email(
        tmp_path, service, running):
    sink = SMTPSink(tmp_path)
    try:
        cd = Collectd(tmp_path, f"""
<Plugin notify_email>
  SMTPServer "127.0.0.1"
  SMTPPort {sink.port}
  From "collectd@test.example"
  Recipient "ops@test.example"
</Plugin>
<Plugin portprobe>
  <Target "svc">
    URL "tcp://127.0.0.1:{service.port}"
    Timeout 0.5
    DownAfter 2
    UpAfter 1
  </Target>
</Plugin>
""", plugins=("notify_email", "portprobe"))
        running.append(cd.start())
        ident = "portprobe-svc/bool-up"
        cd.wait_rounds(ident, 2, 15)
        assert sink.messages() == []  # the first UP is not news

        service.stop()
        wait_for(lambda: len(sink.messages()) >= 1, 20, "the FAILURE e-mail")
        service.start()
        wait_for(lambda: len(sink.messages()) >= 2, 20, "the OKAY e-mail")
        # a steady state is not announced again
        n = len(cd.rows(ident))
        cd.wait_rounds(ident, n + 3, 15)
        msgs = sink.messages()
    finally:
        sink.close()

    assert len(msgs) == 2, [m["Subject"] for m in msgs]
    down, up = msgs
    body = down.get_payload()
    assert "FAILURE" in down["Subject"] and "127.0.0.1" in down["Subject"]
    assert "Plugin instance: svc" in body
    # host, port, service and the failure, in the message itself
    assert f"127.0.0.1 tcp:{service.port} DOWN: refused" in body
    assert "OKAY" in up["Subject"]
    assert f"127.0.0.1 tcp:{service.port} UP again after" in up.get_payload()


def test_failure_notification_carries_meta_data_to_exec(
        tmp_path, exec_sink, running):
    closed = free_port()
    cd = Collectd(tmp_path, f"""
<Plugin exec>
  NotificationExec "nobody" "{exec_sink.script}"
</Plugin>
<Plugin portprobe>
  <Target "closed">
    URL "tcp://127.0.0.1:{closed}"
    DownAfter 1
    Label "location" "lab"
  </Target>
</Plugin>
""", plugins=("exec", "portprobe"))
    running.append(cd.start())
    notes = wait_for(exec_sink.notifications, 15, "the FAILURE notification")
    cd.wait_rounds("portprobe-closed/bool-up", 3, 15)
    notes = exec_sink.notifications()
    assert len(notes) == 1, notes
    lines = notes[0].splitlines()
    for expected in ("Severity: FAILURE", "Host: 127.0.0.1",
                     "Type: state", "TypeInstance: testhost",  # the network plugin
                     "Plugin: portprobe", "PluginInstance: closed",
                     "target: closed", f"url: tcp://127.0.0.1:{closed}",
                     "result: refused", "state: down", "quality: none",
                     "excerpt: ", "kind: state", "phase: connect",
                     "service: tcp", f"port: {closed}", "label_location: lab",
                     f"127.0.0.1 tcp:{closed} DOWN: refused"):
        assert expected in lines, (expected, lines)


def test_port_down_in_a_host_block_whose_ping_answers_says_service_down(
        tmp_path, exec_sink, running):
    """In a <Host> block, the DOWN message reads the block's ping and ports
    together: the host answers ping, so the service, not the host, is down.
    (A lost ping giving "host down" is in tests/unit/test_collectd_values.)"""
    closed = free_port()
    cd = Collectd(tmp_path, f"""
<Plugin exec>
  NotificationExec "nobody" "{exec_sink.script}"
</Plugin>
<Plugin portprobe>
  <Host "loopback">
    Address "127.0.0.1"
    Count 2
    Spacing "20ms"
    Timeout "900ms"
    DownAfter 1
    Service "tcp" {closed}
  </Host>
</Plugin>
""", plugins=("exec", "portprobe"))
    running.append(cd.start())
    wait_for(exec_sink.notifications, 15, "the FAILURE notification")
    cd.wait_rounds(f"portprobe-loopback-tcp-{closed}/bool-up", 2, 15)
    notes = exec_sink.notifications()
    assert len(notes) == 1, notes  # the ping is up: no notification of its own
    message = notes[0].splitlines()[-1]
    assert message.startswith(
        f"127.0.0.1 tcp:{closed} DOWN: refused (service down: "), message
    assert "; host up: ping 0% loss, rtt " in message, message
    assert "host down" not in message


def test_threshold_on_response_time_fires_for_the_slow_target_only(
        tmp_path, service, exec_sink, running):
    """The threshold plugin works on our values as on any: a target whose
    name takes 0.3 s to resolve crosses WarningMax, an address does not."""
    dns = SlowDNS(delay=0.3)
    try:
        cd = Collectd(tmp_path, f"""
<Plugin exec>
  NotificationExec "nobody" "{exec_sink.script}"
</Plugin>
<Plugin threshold>
  <Plugin "portprobe">
    <Type "response_time">
      Instance "total"
      WarningMax 0.15
    </Type>
  </Plugin>
</Plugin>
<Plugin portprobe>
  Resolver "127.0.0.1:{dns.port}"
  <Target "slow">
    URL "tcp://slow.test:{service.port}"
  </Target>
  <Target "fast">
    URL "tcp://127.0.0.1:{service.port}"
  </Target>
</Plugin>
""", plugins=("exec", "threshold", "portprobe"))
        running.append(cd.start())
        notes = wait_for(exec_sink.notifications, 15,
                         "the threshold's notification")
        cd.wait_rounds("portprobe-fast/bool-up", 4, 15)
        notes = exec_sink.notifications()
        slow_total = cd.getval("portprobe-slow/response_time-total")
        fast_total = cd.getval("portprobe-fast/response_time-total")
    finally:
        dns.close()

    assert dns.queries > 0
    assert slow_total > 0.25 and fast_total < 0.15, (slow_total, fast_total)
    # collectd's threshold plugin may also say OKAY about a value's first
    # reading; what matters is the one WARNING, and whose it is
    alarms = [n for n in notes if "Severity: OKAY" not in n.splitlines()]
    assert len(alarms) == 1, "\n=====\n".join(notes)
    lines = alarms[0].splitlines()
    assert "Severity: WARNING" in lines
    assert "PluginInstance: slow" in lines
    assert "Type: response_time" in lines and "TypeInstance: total" in lines
    assert "above the warning threshold of 0.150000" in alarms[0]


def test_every_address_is_a_plugin_instance_of_its_own(tmp_path, service, running):
    """addresses=all: a name with ::1 and 127.0.0.1, a service on 127.0.0.1 only: the
    target's values sum up (down, 1 of 2 up), each address has its own as NAME@ADDRESS."""
    from fixtures import dns, procs
    with procs.Registry() as registry:
        names = dns.start_dns(registry, tmp_path / "dns",
                              {"both.test": ["::1", "127.0.0.1"]})
        cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  Resolver "127.0.0.1:{names.port}"
  <Target "web">
    URL "tcp://both.test:{service.port}"
    Addresses "all"
  </Target>
</Plugin>
""")
        running.append(cd.start())
        cd.wait_rounds("portprobe-web@127.0.0.1/bool-up", 2, 15)
        assert cd.getval("portprobe-web@127.0.0.1/bool-up") == 1
        assert 0 < cd.getval("portprobe-web@127.0.0.1/response_time-connect") < 1
        assert cd.getval("portprobe-web@::1/bool-up") == 0
        assert cd.getval("portprobe-web/bool-up") == 0
        assert cd.getval("portprobe-web/count-checked") == 2
        assert cd.getval("portprobe-web/count-checked_up") == 1
        idents = cd.listval()
        # state (flapping) is the target's: its addresses have none of their own
        assert "portprobe-web/bool-flapping" in idents
        assert "portprobe-web@::1/bool-flapping" not in idents


# --- configuration ---

BAD_CONFIGS = [
    ("unknown key in a target",
     '<Target "web">\n URL "http://127.0.0.1/"\n Keywrd "x"\n</Target>',
     'portprobe: target "web": unknown option "Keywrd" (did you mean '
     '"keyword"?)'),
    ("bad value",
     '<Target "db">\n URL "tcp://127.0.0.1:5432"\n Timeout "soon"\n</Target>',
     'portprobe: target "db": option "timeout": expected a duration'),
    ("unknown key in a host",
     '<Host "mx">\n Address "127.0.0.1"\n Cuont 3\n</Host>',
     'portprobe: host "mx": unknown option "Cuont"'),
    ("target without URL",
     '<Target "db">\n Timeout 2\n</Target>',
     'portprobe: target "db": missing URL'),
]


@pytest.mark.parametrize("what,block,message", BAD_CONFIGS,
                         ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configuration_stops_collectd_with_a_message(
        tmp_path, what, block, message):
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
{block}
</Plugin>
""")
    cd.start(wait=False)
    try:
        rc = cd.proc.wait(timeout=20)
    finally:
        cd.stop()
    assert rc != 0
    log = cd.log()
    assert message in log, log
    assert "Parsing the config file failed" in log
    assert "Initialization complete" not in log


def test_shipped_example_configuration_starts(tmp_path, running):
    text = EXAMPLE.read_text().replace(
        "/usr/share/collectd/portprobe-types.db", str(TYPES_DB))
    # the example's own TypesDB line stands; ours is the same list
    text = re.sub(r"^TypesDB .*$", "", text, flags=re.M)
    # its hosts are examples: resolve nothing real, fail fast
    text = text.replace('#Resolver "192.0.2.53,192.0.2.54:5353"',
                        f'Resolver "127.0.0.1:{free_port()}"')
    cd = Collectd(tmp_path, text, interval=10)  # collectd's default
    running.append(cd.start())
    cd.wait_rounds("portprobe-www/bool-up", 1, 20)
    assert "[info] portprobe: " in cd.log()
    assert not re.search(r"\[(error|warning)\] portprobe", cd.log()), cd.log()


# --- a long run under valgrind ---

def fd_targets(pid):
    """What each open descriptor of the process points at (sorted)."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed while we looked
            pass
    return sorted(out)


def fewest_fds(cd, ident, rounds, timeout):
    """The fewest descriptors seen while the daemon runs the given rounds,
    sampled every 20 ms. Sockets in flight (a check, a DNS query) and
    collectd's own short-lived files (csv, unixsock clients) come and go; a
    leak raises the floor, which is what this returns (with the list)."""
    best = None
    first, last = rounds[0], rounds[-1]
    cd.wait_rounds(ident, first, timeout)
    deadline = time.monotonic() + timeout
    while len(cd.rows(ident)) < last + 1 and time.monotonic() < deadline:
        now = fd_targets(cd.proc.pid)
        if best is None or len(now) < len(best):
            best = now
        time.sleep(0.02)
    return best


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="valgrind is not installed")
@pytest.mark.skipif(bool(SANITIZERS), reason="the plugin is built with "
                    "ASan, which checks every test's run for leaks instead")
def test_many_rounds_under_valgrind_leak_nothing_and_keep_descriptors_steady(
        tmp_path, service, running):
    """40 rounds every 0.5 s of targets up, refused, silent (timeout) and by
    name (DNS): descriptors after round 40 are those after round 5, and
    valgrind finds no leak and no memory error in the whole daemon."""
    closed = free_port()
    silent = FullBacklog()
    dns = SlowDNS(delay=0)
    vglog = tmp_path / "valgrind.log"
    try:
        cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  Resolver "127.0.0.1:{dns.port}"
  Timeout 0.3
  <Target "up">
    URL "tcp://127.0.0.1:{service.port}"
  </Target>
  <Target "byname">
    URL "tcp://svc.test:{service.port}"
  </Target>
  <Target "closed">
    URL "tcp://127.0.0.1:{closed}"
  </Target>
  <Target "silent">
    URL "tcp://127.0.0.1:{silent.port}"
  </Target>
</Plugin>
""", interval=0.5)
        cd.start(prefix=["valgrind", "--leak-check=full",
                         "--show-leak-kinds=definite,indirect",
                         "--errors-for-leak-kinds=definite,indirect",
                         "--keep-debuginfo=yes", "--num-callers=30",
                         f"--log-file={vglog}"], timeout=60)
        running.append(cd)
        ident = "portprobe-up/bool-up"
        # Compare the floor of open descriptors over rounds 5-7 with the
        # floor over rounds 38-40: one leaked per round would add 30.
        early = fewest_fds(cd, ident, (5, 6, 7), 30)
        late = fewest_fds(cd, ident, (38, 39, 40), 60)
        fds_early, fds_late = len(early), len(late)
        rounds = len(cd.rows(ident))
        byname = cd.rows("portprobe-byname/bool-up")
        silent_rows = cd.rows("portprobe-silent/bool-up")
        cd.stop()
        running.remove(cd)
    finally:
        silent.close()
        dns.close()

    report = vglog.read_text()
    print(f"rounds={rounds} fewest fds in rounds 5-7: {fds_early}, "
          f"in rounds 38-40: {fds_late}")
    assert rounds >= 40
    assert fds_late <= fds_early, (early, late)  # no growth
    assert byname[-1][1] == 1 and silent_rows[-1][1] == 0
    assert cd.proc.returncode == 0, report[-3000:]
    # the whole process: collectd, its stock plugins, ours and the core
    assert "definitely lost: 0 bytes in 0 blocks" in report, report[-8000:]
    assert "indirectly lost: 0 bytes in 0 blocks" in report, report[-8000:]
    assert re.search(r"ERROR SUMMARY: 0 errors", report), report[-8000:]


def test_a_stock_plugin_whose_library_is_missing_names_the_debian_package(tmp_path):
    """A fixture copying a stock plugin that cannot load says which package to install,
    instead of collectd's "Parsing the config file failed"."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "zz.c").write_text("int zz_answer(void) { return 42; }\n")
    (src / "plug.c").write_text("int zz_answer(void);\nint module_register(void) "
                                "{ return zz_answer(); }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", src / "libzzprobe.so.7",
                    "-Wl,-soname,libzzprobe.so.7", src / "zz.c"], check=True)
    stock = tmp_path / "stock"
    stock.mkdir()
    subprocess.run(["cc", "-shared", "-fPIC", "-o", stock / "fake.so", src / "plug.c",
                    src / "libzzprobe.so.7"], check=True)
    dest = tmp_path / "plugins"
    dest.mkdir()
    with pytest.raises(collectd_plugins.MissingLibrary) as err:
        collectd_plugins.copy("fake", dest, stock_dir=stock)
    assert "libzzprobe.so.7" in str(err.value)
    assert "apt-get install libzzprobe7" in str(err.value)
    assert not (dest / "fake.so").exists()
    # and every stock plugin the suite copies loads on this machine
    for name in ("logfile", "unixsock", "csv", "exec", "threshold", "notify_email"):
        assert collectd_plugins.missing_libraries(collectd_plugins.STOCK_DIR / f"{name}.so") == []
