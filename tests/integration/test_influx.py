"""portprobe's line protocol, validated by a real parser: InfluxDB 1.x.

Every check kind's output goes to a private InfluxDB through its HTTP write API (which parses
line protocol strictly and refuses the whole request on one bad line), then comes back with a
query: tags and values must be what was sent, names with spaces, commas, equals signs, quotes
and backslashes included. A long-running --execd session shows results per round, flushed,
steady memory and descriptors, and ends cleanly on end of input and on SIGTERM.

Every kind runs against a real server: TCP listeners of our own, the aiosmtpd sink with
STARTTLS, Dovecot (IMAP and POP3 with STARTTLS and a login, IMAPS, POP3S), nginx (HTTP, HTTPS
with the test CA), ICMP echo to 127.0.0.1; the TLS kinds trust only the test CA.

Needs Debian's influxdb package (influxd) and the fixtures' servers (dovecot-imapd,
dovecot-pop3d, nginx-light, python3-aiosmtpd).
"""

import json
import os
import select
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port
from fixtures import certs, dovecot, nginx, procs, smtp
from fixtures.sockets import FullBacklog, Listener

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"


# --- small servers ---


# --- InfluxDB 1.x ---


class Influx:
    def __init__(self, url):
        self.url = url

    def request(self, method, path, params, body=None):
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def write(self, db, text):
        """POSTs line protocol; (HTTP status, body). 204: every line was accepted."""
        return self.request("POST", "/write", {"db": db, "precision": "ns"}, text.encode())

    def query(self, db, q):
        status, body = self.request("POST", "/query", {"db": db, "q": q, "epoch": "ns"})
        assert status == 200, body
        result = json.loads(body)["results"][0]
        assert "error" not in result, result["error"]
        return result.get("series", [])

    def rows(self, db, q):
        """The query's rows as dicts, column name to value."""
        return [dict(zip(s["columns"], v)) for s in self.query(db, q) for v in s["values"]]

    def create_db(self, name):
        self.query("", f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="module")
def influx(tmp_path_factory):
    if not os.access(INFLUXD, os.X_OK):
        pytest.fail("influxd not found: apt-get install influxdb")
    top = tmp_path_factory.mktemp("influxdb")
    http_port, rpc_port = free_port(), free_port()
    conf = top / "influxdb.conf"
    conf.write_text(f"""
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{top}/meta"
[data]
  dir = "{top}/data"
  wal-dir = "{top}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[continuous_queries]
  enabled = false
""")
    log = open(top / "influxd.log", "wb")
    proc = subprocess.Popen([INFLUXD, "-config", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    db = Influx(f"http://127.0.0.1:{http_port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"influxd exited with {proc.returncode}:\n"
                            f"{(top / 'influxd.log').read_text()[-3000:]}")
            try:
                if db.request("GET", "/ping", {})[0] == 204:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"influxd did not answer /ping:\n"
                            f"{(top / 'influxd.log').read_text()[-3000:]}")
            time.sleep(0.05)
        yield db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --- reading our own lines: only to compare InfluxDB's values with the text we sent ---
# InfluxDB 1.x's rules (and Telegraf's parser's): a separator is escaped when a backslash comes
# right before it; any other backslash in a name or tag is itself.


def _split_unescaped(text, sep):
    """Splits at each sep that is not preceded by a backslash (InfluxDB 1.x's rule)."""
    parts, start = [], 0
    for i, c in enumerate(text):
        if c == sep and (i == 0 or text[i - 1] != "\\"):
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _unescape_tag(s):
    return s.replace("\\,", ",").replace("\\ ", " ").replace("\\=", "=")


def parse_line(line):
    """(measurement, tags, fields, timestamp) of one line portprobe wrote."""
    series = _split_unescaped(line, " ")[0]
    rest = line[len(series) + 1:]
    fields_text, _, stamp = rest.rpartition(" ")
    name, *tag_parts = _split_unescaped(series, ",")
    tags = {}
    for part in tag_parts:
        k = _split_unescaped(part, "=")[0]
        v = part[len(k) + 1:]
        tags[_unescape_tag(k)] = _unescape_tag(v)
    fields, i = {}, 0
    while i < len(fields_text):
        eq = fields_text.index("=", i)
        key = fields_text[i:eq]
        i = eq + 1
        if fields_text[i] == '"':
            out, i = [], i + 1
            while fields_text[i] != '"':
                if fields_text[i] == "\\":
                    i += 1
                out.append(fields_text[i])
                i += 1
            value = "".join(out)
            i += 1
        else:
            end = fields_text.find(",", i)
            end = len(fields_text) if end < 0 else end
            raw = fields_text[i:end]
            i = end
            if raw.endswith("i"):
                value = int(raw[:-1])
            elif raw in ("true", "false"):
                value = raw == "true"
            else:
                value = float(raw)
        fields[key] = value
        if i < len(fields_text):
            assert fields_text[i] == ",", fields_text
            i += 1
    return name, tags, fields, int(stamp)


# --- one round of every kind ---

# What names and labels can hold: spaces, commas, equals signs, quotes, backslashes, UTF-8.
HOSTILE = 'a b,c=d "q" x\\y ü€'

# (case, scheme, URL, options, expected result, expected up). Each URL's and option's {…} names
# a server's port or a file of the fixture `servers`.
TLS_OPTS = ["ca_file={ca}"]
LOGIN_OPTS = ["starttls=require", *TLS_OPTS, "username={user}", "password_file={password_file}"]
CASES = [
    ("tcp up", "tcp", "tcp://127.0.0.1:{open}", [], "ok", 1),
    ("tcp refused", "tcp", "tcp://127.0.0.1:{closed}", [], "refused", 0),
    ("tcp timeout", "tcp", "tcp://127.0.0.1:{full}", ["timeout=300ms"], "timeout", 0),
    ("tcp closed as expected", "tcp", "tcp://127.0.0.1:{closed}", ["expect_closed=yes"],
     "ok", 1),
    ("tcp unexpected open", "tcp", "tcp://127.0.0.1:{open}", ["expect_closed=yes"],
     "unexpected_open", 0),
    ("tls up", "tls", "tls://127.0.0.1:{https}", TLS_OPTS, "ok", 1),
    ("smtp starttls up", "smtp", "smtp://127.0.0.1:{smtp}", ["starttls=require", *TLS_OPTS],
     "ok", 1),
    ("smtp refused", "smtp", "smtp://127.0.0.1:{closed}", [], "refused", 0),
    ("smtps up", "smtps", "smtps://127.0.0.1:{smtps}", TLS_OPTS, "ok", 1),
    ("imap starttls login", "imap", "imap://127.0.0.1:{imap}", LOGIN_OPTS, "ok", 1),
    ("imaps up", "imaps", "imaps://127.0.0.1:{imaps}", TLS_OPTS, "ok", 1),
    ("pop3 stls login", "pop3", "pop3://127.0.0.1:{pop3}", LOGIN_OPTS, "ok", 1),
    ("pop3s up", "pop3s", "pop3s://127.0.0.1:{pop3s}", TLS_OPTS, "ok", 1),
    ("http up", "http", "http://127.0.0.1:{http}/", ["keyword={keyword}"], "ok", 1),
    ("http 404", "http", "http://127.0.0.1:{http}/missing", [], "http_status", 0),
    ("https up", "https", "https://127.0.0.1:{https}/", [*TLS_OPTS, "keyword={keyword}"],
     "ok", 1),
    ("https untrusted", "https", "https://127.0.0.1:{https}/", [], "tls_verify_failed",
     0),
    ("icmp up", "icmp", "icmp://127.0.0.1", ["count=3", "spacing=20ms"], "ok", 1),
]
TLS_SCHEMES = {"tls", "smtps", "imaps", "pop3s", "https"}
STARTTLS_CASES = {"smtp starttls up", "imap starttls login", "pop3 stls login"}


def case_name(case):
    return f"{case} | {HOSTILE}"


@pytest.fixture(scope="module")
def servers():
    """Ports (by name) of every server the cases use, plus the files they need: the test CA
    (ca), the Dovecot user (user) and its password's file (password_file), the page's keyword."""
    made = {}
    with procs.Registry() as reg:
        try:
            work = procs.shared_tmpdir(reg)  # reachable by Dovecot's users
            tls = certs.make_cert_set(work / "certs")
            mail = dovecot.start_dovecot(reg, work / "dovecot", tls.good)
            web = nginx.start_nginx(reg, work / "nginx", {"good": tls.good})
            sink = smtp.start_smtp_sink(reg, work / "smtp", tls.good, tls="starttls")
            sink_smtps = smtp.start_smtp_sink(reg, work / "smtps", tls.good, tls="implicit")
            made["open"] = Listener().start()
            made["full"] = FullBacklog()
            password_file = work / "password"
            password_file.write_text(mail.password + "\n")
            yield {**{k: v.port for k, v in made.items()},
                   "closed": free_port(), "smtp": sink.port, "smtps": sink_smtps.port,
                   "imap": mail.imap_port, "imaps": mail.imaps_port,
                   "pop3": mail.pop3_port, "pop3s": mail.pop3s_port,
                   "http": web.http_port, "https": web.https_ports["good"],
                   "keyword": web.keyword, "ca": tls.ca.cert, "user": mail.username,
                   "password": mail.password, "password_file": password_file}
        finally:
            for server in made.values():
                server.close()


@pytest.fixture(scope="module")
def round_of_every_kind(pp_bin, servers, influx, tmp_path_factory):
    """Runs one round of every case (one-shot, as inputs.exec does, with a state file and
    down_after = 1 so that each down target has its event too) and writes it to InfluxDB."""
    state = tmp_path_factory.mktemp("state") / "portprobe.state"
    argv = [pp_bin, "--format", "influx", "--state-file", state]
    for case, _, url, options, _, _ in CASES:
        argv += [url.format(**servers), f"name={case_name(case)}", f"label=site={HOSTILE}",
                 "label=case=" + case, "down_after=1", "timeout=3s",
                 *(o.format(**servers) for o in options)]
    # the documented exceptions and edge cases of tag escaping
    argv += [f"tcp://127.0.0.1:{servers['open']}", "name=ends with a backslash\\",
             f"tcp://127.0.0.1:{servers['open']}", "name=backslash before\\,comma\\=equals\\ space"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    # some targets are down on purpose, and the status is still 0: inputs.exec drops the
    # output of a command that exits non-zero
    assert proc.returncode == 0, proc.stderr
    assert servers["password"] not in proc.stdout + proc.stderr, "the password was printed"
    db = influx.create_db("every_kind")
    status, body = influx.write(db, proc.stdout)
    lines = proc.stdout.splitlines()
    return {"lines": [line for line in lines if line.startswith("portprobe,")],
            "events": [line for line in lines if line.startswith("portprobe_event,")],
            "all": lines, "status": status, "body": body, "db": db,
            "rows": {r["target"]: r for r in influx.rows(db, "SELECT * FROM portprobe")},
            "event_rows": influx.rows(db, "SELECT * FROM portprobe_event")}


def test_every_line_is_accepted(round_of_every_kind):
    r = round_of_every_kind
    assert r["status"] == 204, r["body"]
    assert len(r["lines"]) == len(CASES) + 2
    assert len(r["all"]) == len(r["lines"]) + len(r["events"]), "a line of another kind"
    assert len(r["rows"]) == len(r["lines"]), "a line was dropped or overwrote another"


def test_events_of_every_kind_round_trip(round_of_every_kind):
    r = round_of_every_kind
    down = sorted(target for target, row in r["rows"].items() if row["up"] == 0)
    assert down, "no target is down"
    # down_after = 1: each down target's first check confirms DOWN, an event
    assert sorted(row["target"] for row in r["event_rows"]) == down
    sent = {parse_line(line)[1]["target"]: parse_line(line) for line in r["events"]}
    for row in r["event_rows"]:
        _, tags, fields, stamp = sent[row["target"]]
        assert row["time"] == stamp
        assert row["site"] == HOSTILE
        assert row["scheme"] == r["rows"][row["target"]]["scheme"]
        for key, value in fields.items():
            assert row[key] == value, key
        assert row["state"] == "down" and row["severity"] == "failure"
        assert row["result"] == r["rows"][row["target"]]["result"]


INFLUX_TYPES = {int: "integer", float: "float", str: "string", bool: "boolean"}


def test_field_types_are_as_documented(round_of_every_kind, influx):
    types = {r["fieldKey"]: r["fieldType"]
             for r in influx.rows(round_of_every_kind["db"], "SHOW FIELD KEYS FROM portprobe")}
    for key in ("up", "port"):
        assert types[key] == "integer", key
    for key in ("response_time", "connect_time"):
        assert types[key] == "float", key
    for key in ("address", "phase", "detail", "excerpt", "tls_version", "cert_grade",
                "quality"):
        assert types[key] == "string", key
    for key in ("cert_expiry", "http_status", "packets_sent", "packets_received"):
        assert types[key] == "integer", key
    for key in ("tls_time", "loss_percent", "rtt_avg", "jitter"):
        assert types[key] == "float", key
    # and every field has the type its text says (i: integer, quotes: string, ...)
    for line in round_of_every_kind["lines"]:
        for key, value in parse_line(line)[2].items():
            assert types[key] == INFLUX_TYPES[type(value)], (key, line)
    tag_keys = {r["tagKey"] for r in influx.rows(round_of_every_kind["db"],
                                                 "SHOW TAG KEYS FROM portprobe")}
    assert tag_keys == {"target", "scheme", "result", "site", "case"}


@pytest.mark.parametrize("case,scheme,url,options,result,up", CASES, ids=[c[0] for c in CASES])
def test_kind_round_trips(round_of_every_kind, servers, case, scheme, url, options, result, up):
    row = round_of_every_kind["rows"].get(case_name(case))
    assert row is not None, f"target name did not round-trip: {sorted(round_of_every_kind['rows'])}"
    sent = next(parse_line(line) for line in round_of_every_kind["lines"]
                if parse_line(line)[1]["target"] == case_name(case))
    _, tags, fields, stamp = sent
    # tags as given on the command line, whatever their characters
    assert row["site"] == HOSTILE
    assert row["case"] == case
    assert row["scheme"] == scheme
    assert row["time"] == stamp
    # every value as sent (types: test_field_types_are_as_documented; JSON writes 0.0 as 0)
    for key, value in fields.items():
        assert row[key] == value, key
    assert (row["result"], row["up"]) == (result, up), row.get("detail")
    assert 0 <= row["response_time"] < 3.5
    if scheme != "icmp":
        assert row["address"] == "127.0.0.1"
        assert row["port"] == int(url.format(**servers).rsplit(":", 1)[1].split("/")[0])
    if up:
        assert row.get("phase") is None
    else:
        assert row["phase"]
    # what each kind adds, as a user reads it in InfluxDB
    if up and (scheme in TLS_SCHEMES or case in STARTTLS_CASES):
        assert row["tls_version"].startswith("TLSv1."), row
        assert row["cert_grade"] == "good"
        # the test CA's leaf is valid for a year from now
        assert abs(row["cert_expiry"] - 365 * 86400) < 600, row["cert_expiry"]
        assert 0 < row["tls_time"] <= row["response_time"]
    if scheme in ("smtp", "smtps", "imap", "imaps", "pop3", "pop3s") and up:
        greeting = {"smtp": "220 ", "smtps": "220 ", "imap": "* OK",
                    "imaps": "* OK"}.get(scheme, "+OK")
        assert row["excerpt"].startswith(greeting), row["excerpt"]
    if scheme in ("http", "https") and row["result"] != "tls_verify_failed":
        assert row["http_status"] == (200 if up else 404)
    if case == "https untrusted":
        assert row["phase"] == "tls"
    if scheme == "icmp":
        assert (row["packets_sent"], row["packets_received"]) == (3, 3)
        assert row["loss_percent"] == 0
        assert row["quality"] == "good"
        assert 0 < row["rtt_min"] <= row["rtt_avg"] <= row["rtt_max"]


def test_backslash_before_separator_round_trips(round_of_every_kind):
    assert "backslash before\\,comma\\=equals\\ space" in round_of_every_kind["rows"]


def test_trailing_backslash_reads_back_with_a_space(round_of_every_kind):
    # line protocol cannot end a tag value with a backslash: documented in docs/telegraf.md
    assert "ends with a backslash\\ " in round_of_every_kind["rows"]


def test_config_file_targets_round_trip(pp_bin, servers, influx, tmp_path):
    conf = tmp_path / "portprobe.conf"
    conf.write_text(f"""# targets for the test
[defaults]
timeout = 2s
label = site=Main St, Hall "B" = 2

[db, main = "primary"]
url = tcp://127.0.0.1:{servers['open']}

[down]
url = tcp://127.0.0.1:{servers['closed']}
name = C:\\Program Files\\db
label = site=other
""")
    proc = subprocess.run([pp_bin, "--format", "influx", "--config", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    db = influx.create_db("config_file")
    status, body = influx.write(db, proc.stdout)
    assert status == 204, body
    rows = {r["target"]: r for r in influx.rows(db, "SELECT * FROM portprobe")}
    assert rows['db, main = "primary"']["site"] == 'Main St, Hall "B" = 2'
    assert rows['db, main = "primary"']["up"] == 1
    assert rows["C:\\Program Files\\db"]["site"] == "other"
    assert rows["C:\\Program Files\\db"]["result"] == "refused"


def test_every_address_lines_are_series_of_their_own(pp_bin, servers, influx, tmp_path):
    """addresses=all on a name with ::1 and 127.0.0.1 (the listener is on 127.0.0.1 only):
    InfluxDB keeps the target's line and one series per address, told apart by the tags."""
    from fixtures import dns
    with procs.Registry() as reg:
        names = dns.start_dns(reg, tmp_path / "dns", {"both.test": ["::1", "127.0.0.1"]})
        proc = subprocess.run([pp_bin, "--format", "influx", "--resolver",
                               f"127.0.0.1:{names.port}", f"tcp://both.test:{servers['open']}",
                               "name=every", "addresses=all", "timeout=2s"],
                              capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    db = influx.create_db("every_address")
    status, body = influx.write(db, proc.stdout)
    assert status == 204, body
    rows = influx.rows(db, "SELECT * FROM portprobe")
    assert len(rows) == 3
    target = [r for r in rows if r["address"] is None]
    assert len(target) == 1 and target[0]["checked"] == 2 and target[0]["checked_up"] == 1
    parts = {r["address"]: r for r in rows if r["address"] is not None}
    assert parts["127.0.0.1"]["up"] == 1 and parts["127.0.0.1"]["family"] == "ipv4"
    assert parts["::1"]["up"] == 0 and parts["::1"]["result"] == "refused"
    series = influx.query(db, "SELECT count(up) FROM portprobe GROUP BY address")
    assert sorted(s["tags"]["address"] for s in series) == ["", "127.0.0.1", "::1"]


def test_config_error_names_file_line_and_key(pp_bin, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[web]\nurl = tcp://127.0.0.1:80\ntimeout = soon\n")
    proc = subprocess.run([pp_bin, "--format", "influx", "--config", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{conf}:3:" in proc.stderr and '"timeout"' in proc.stderr, proc.stderr


# --- execd: a round per line on standard input ---


class Execd:
    """portprobe --execd with pipes; reads its output line by line with deadlines."""

    def __init__(self, argv, stderr_path):
        self.err = open(stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, start_new_session=True)
        self.buf = b""

    def request(self):
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()

    def read_lines(self, count, timeout=10.0):
        """The next `count` output lines; fails if they do not come (unflushed output too)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while self.buf.count(b"\n") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                pytest.fail(f"expected {count} lines within {timeout} s, have {self.buf!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail(f"portprobe closed its output; have {self.buf!r}")
            self.buf += chunk
        lines = self.buf.split(b"\n")
        out, self.buf = lines[:count], b"\n".join(lines[count:])
        return [line.decode() for line in out]

    def read_round(self, targets, timeout=10.0):
        """Output lines until `targets` result lines (portprobe,...) came; event lines that come
        along (a round's events follow its results) are among them."""
        lines = self.read_lines(targets, timeout)
        while sum(line.startswith("portprobe,") for line in lines) < targets:
            lines += self.read_lines(1, timeout)
        return lines

    def read_rest(self, timeout=5.0):
        """The lines left up to end of output (after standard input was closed)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                pytest.fail(f"output not closed within {timeout} s; have {self.buf!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.buf += chunk
        rest, self.buf = self.buf, b""
        return [line.decode() for line in rest.split(b"\n") if line]

    def status(self, what):
        """A figure from /proc/PID/status, such as VmRSS (kB)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(what + ":"):
                return int(line.split()[1])
        raise KeyError(what)

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def sockets(self):
        """How many sockets the process holds."""
        fd_dir = f"/proc/{self.proc.pid}/fd"
        count = 0
        for fd in os.listdir(fd_dir):
            try:
                count += os.readlink(f"{fd_dir}/{fd}").startswith("socket:")
            except FileNotFoundError:
                pass
        return count

    def wait_round_started(self, timeout=5):
        """Waits until a round is under way: a check's socket exists (idle, the
        process holds none)."""
        deadline = time.monotonic() + timeout
        while not self.sockets():
            assert time.monotonic() < deadline, "the round did not start"
            time.sleep(0.01)

    def sigterm_ends_the_round(self):
        """SIGTERM during a round: a clean exit within a second, and the
        abandoned round prints nothing."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        assert self.wait(2) == 0
        assert time.monotonic() - started < 1
        assert self.proc.stdout.read() == b"", "an abandoned round printed lines"

    def wait(self, timeout):
        """Exit status, or None if it is still running after `timeout` seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except BrokenPipeError:
                pass
        self.err.close()


@pytest.fixture
def execd_session(pp_bin, tmp_path):
    sessions = []

    def start(*args):
        s = Execd([pp_bin, "--execd", "--format", "influx", *args], tmp_path / "stderr.log")
        sessions.append(s)
        return s

    yield start
    for s in sessions:
        s.close()


ROUNDS = 30
WARM_UP = 10
DOWN_ROUNDS = range(10, 15)  # the toggled service is shut in these rounds


@pytest.fixture
def toggled_session(execd_session, tmp_path):
    """ROUNDS rounds of an execd session whose service is shut in DOWN_ROUNDS, then end of
    input: every line printed, results per round, VmRSS (kB) and descriptors after each round,
    and how the process ended."""
    service = Listener().start()
    closed = free_port()
    conf = tmp_path / "execd.conf"
    conf.write_text(f"""[service, toggled]
url = tcp://127.0.0.1:{service.port}
timeout = 1s
down_after = 2

[never = open]
url = tcp://127.0.0.1:{closed}
timeout = 1s
""")
    session = execd_session("--config", str(conf))
    out = {"lines": [], "results": [], "rss": [], "fds": []}
    try:
        for n in range(ROUNDS):
            if n == DOWN_ROUNDS.start:
                service.stop()
            if n == DOWN_ROUNDS.stop:
                service.start()
            session.request()
            lines = session.read_round(2)
            out["lines"] += lines
            out["results"].append({
                tags["target"]: (tags["result"], fields["up"], stamp)
                for name, tags, fields, stamp in map(parse_line, lines) if name == "portprobe"})
            out["rss"].append(session.status("VmRSS"))
            out["fds"].append(session.fds())
    finally:
        service.stop()
    session.proc.stdin.close()
    out["lines"] += session.read_rest()
    out["exit"] = session.wait(5)
    return out


def test_execd_session_over_many_rounds(toggled_session, influx):
    t = toggled_session
    # the toggled service's results follow the listener, round by round
    for n, by_target in enumerate(t["results"]):
        want = ("refused", 0) if n in DOWN_ROUNDS else ("ok", 1)
        assert by_target["service, toggled"][:2] == want, f"round {n}"
        assert by_target["never = open"][:2] == ("refused", 0), f"round {n}"

    # steady memory and descriptors once warmed up
    assert max(t["rss"][WARM_UP:]) - t["rss"][WARM_UP] <= 256, f"VmRSS kB per round: {t['rss']}"
    assert len(set(t["fds"][WARM_UP:])) == 1, f"descriptors per round: {t['fds']}"

    # all of it, events included, is valid line protocol
    db = influx.create_db("execd")
    status, body = influx.write(db, "\n".join(t["lines"]) + "\n")
    assert status == 204, body
    rows = influx.rows(db, 'SELECT "up" FROM portprobe WHERE "target" = \'service, toggled\'')
    assert [r["up"] for r in rows] == [0 if n in DOWN_ROUNDS else 1 for n in range(ROUNDS)]

    # end of input: a clean, prompt exit
    assert t["exit"] == 0


def test_execd_transitions_are_events(toggled_session, influx):
    t = toggled_session
    # an event carries the time of the check that caused it: find its round
    events = []
    for name, tags, fields, stamp in map(parse_line, t["lines"]):
        if name != "portprobe_event":
            continue
        [n] = [n for n, by_target in enumerate(t["results"])
               if 0 <= stamp - by_target[tags["target"]][2] < 4]
        events.append((n, tags["target"], fields["state"], fields["severity"], fields))
    assert [e[:4] for e in events] == [
        (1, "never = open", "down", "failure"),  # down_after = 2: confirmed by the 2nd check
        (DOWN_ROUNDS.start + 1, "service, toggled", "down", "failure"),
        (DOWN_ROUNDS.stop, "service, toggled", "up", "okay"),
    ]
    # the outage ran from the first failed check to the first good one
    start = t["results"][DOWN_ROUNDS.start]["service, toggled"][2]
    end = t["results"][DOWN_ROUNDS.stop]["service, toggled"][2]
    assert events[2][4]["outage_seconds"] == pytest.approx((end - start) / 1e9, abs=0.01)

    db = influx.create_db("execd_events")
    status, body = influx.write(db, "\n".join(t["lines"]) + "\n")
    assert status == 204, body
    rows = influx.rows(db, "SELECT * FROM portprobe_event")
    assert [(r["target"], r["scheme"], r["state"], r["kind"]) for r in rows] == [
        ("never = open", "tcp", "down", "state"),
        ("service, toggled", "tcp", "down", "state"),
        ("service, toggled", "tcp", "up", "state")]


def test_execd_runs_no_round_without_a_request(execd_session, tmp_path):
    session = execd_session(f"tcp://127.0.0.1:{free_port()}")
    r, _, _ = select.select([session.proc.stdout], [], [], 0.5)
    assert not r, "output before any request"
    session.request()
    assert session.read_round(1)[0].startswith("portprobe,")
    session.proc.stdin.close()
    assert session.wait(5) == 0


def test_execd_sigterm_while_idle_exits_at_once(execd_session):
    session = execd_session(f"tcp://127.0.0.1:{free_port()}")
    session.request()
    session.read_lines(1)
    started = time.monotonic()
    session.proc.send_signal(signal.SIGTERM)
    assert session.wait(2) == 0
    assert time.monotonic() - started < 1


def test_execd_sigterm_abandons_a_round_promptly(execd_session):
    hang = FullBacklog()
    try:
        session = execd_session(f"tcp://127.0.0.1:{hang.port}", "timeout=60s")
        session.request()
        session.wait_round_started()
        session.sigterm_ends_the_round()
    finally:
        hang.close()


def test_execd_state_file_survives_a_restart(execd_session, tmp_path):
    state = tmp_path / "portprobe.state"
    target = [f"tcp://127.0.0.1:{free_port()}", "name=db", "down_after=2"]
    first = execd_session("--state-file", str(state), *target)
    first.request()
    assert first.read_round(1)[0].startswith("portprobe,")  # one failure: not yet DOWN
    first.proc.stdin.close()
    assert first.read_rest() == [] and first.wait(5) == 0
    assert state.read_text().startswith("portprobe-state 1\n")
    # a new process (Telegraf restarted) remembers the first failure: the second confirms DOWN
    second = execd_session("--state-file", str(state), *target)
    second.request()
    lines = second.read_round(1)
    second.proc.stdin.close()
    lines += second.read_rest()
    assert second.wait(5) == 0
    events = [tags["target"] for name, tags, _, _ in map(parse_line, lines)
              if name == "portprobe_event"]
    assert events == ["db"]


def results(lines):
    """The targets of the result lines among lines, sorted."""
    return sorted(tags["target"] for name, tags, _, _ in map(parse_line, lines)
                  if name == "portprobe")


def test_execd_sighup_reads_the_config_again(execd_session, tmp_path):
    closed = free_port()
    conf = tmp_path / "reload.conf"
    conf.write_text(f"[first]\nurl = tcp://127.0.0.1:{closed}\n")
    session = execd_session("--config", str(conf))
    session.request()
    assert results(session.read_round(1)) == ["first"]
    conf.write_text(f"[first]\nurl = tcp://127.0.0.1:{closed}\n"
                    f"[second]\nurl = tcp://127.0.0.1:{closed}\n")
    session.proc.send_signal(signal.SIGHUP)
    session.request()
    assert results(session.read_round(2)) == ["first", "second"]
    # a broken file keeps the targets that work, and says what is wrong where
    conf.write_text(f"[first]\nurl = tcp://127.0.0.1:{closed}\n[third]\nurl = nonsense\n")
    session.proc.send_signal(signal.SIGHUP)
    session.request()
    assert results(session.read_round(2)) == ["first", "second"]
    session.proc.stdin.close()
    assert session.wait(5) == 0
    assert (f'{conf}:4: [third]: key "url"' in (tmp_path / "stderr.log").read_text()
            and "keeping the previous targets" in (tmp_path / "stderr.log").read_text())


def test_execd_sigterm_abandons_http_checks_waiting_their_turn(execd_session):
    """With --http-concurrency 1, two of three hanging URLs wait for the first;
    SIGTERM ends the round (in flight and waiting alike) and the process."""
    hang = FullBacklog()
    try:
        args = ["--http-concurrency", "1"]
        for i in range(3):
            args += [f"http://127.0.0.1:{hang.port}/{i}", "timeout=60s"]
        session = execd_session(*args)
        session.request()

        def connections():
            ss = subprocess.run(["ss", "-tanpH", "dport", f"= :{hang.port}"],
                                capture_output=True, text=True, check=True).stdout
            return [line for line in ss.splitlines() if f"pid={session.proc.pid}," in line]
        deadline = time.monotonic() + 5
        while not connections():
            assert time.monotonic() < deadline, "no HTTP check started"
            time.sleep(0.01)
        time.sleep(0.3)  # time enough for the two others to start, were they allowed
        assert len(connections()) == 1  # one HTTP check in flight, two waiting
        session.sigterm_ends_the_round()
    finally:
        hang.close()
