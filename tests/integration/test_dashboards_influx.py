"""The InfluxDB dashboards against a real InfluxDB 1.x fed by `portprobe --execd`.

A scripted scenario, as Telegraf's inputs.execd would run it: seven targets (TCP up, TCP that
goes down for DOWN_ROUNDS rounds, TCP refused, HTTPS by name with a good certificate, HTTPS with
an expired one, HTTPS with one that expires in 5 days, ICMP to 127.0.0.1), ROUNDS rounds with a
pause in the middle in which nothing runs. Every line goes to InfluxDB through /write; the
labels host=probe1 and location=fra1 stand for Telegraf's host tag and a location label.
Then every panel, variable and annotation query of both dashboards runs, expanded as Grafana
expands it (fixtures/grafana.py), and what each returns is compared with the lines written.
"""

import os
import select
import subprocess
import time
from collections import defaultdict

import pytest

from conftest import parse_influx
from fixtures import certs, grafana, influxdb, nginx, procs
from fixtures.sockets import Listener

from test_dashboards import load

DB = "telegraf"
INTERVAL = "250ms"  # the data source's timeInterval in this test: the rounds' spacing
SPACING = 0.25
ROUNDS = 16
DOWN_ROUNDS = range(4, 8)  # flaky's listener is shut for these rounds (0-based)
PAUSE_BEFORE = 12  # no round runs for PAUSE seconds before this one
PAUSE = 2.0
TARGETS = ("web", "flaky", "closed", "site", "expired", "expiring", "ping")
OLD_DAYS = 3  # one of flaky's down lines is also written this many days back


class Session:
    """portprobe --execd with pipes: a request per round, the output kept."""

    def __init__(self, argv, log):
        self.err = open(log, "wb")
        self.proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err,
                                     start_new_session=True)
        self.buf = b""

    def _read(self, deadline):
        """One chunk of output into the buffer; b"" at end of output."""
        fd = self.proc.stdout.fileno()
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no output from portprobe in time; have {self.buf!r}")
        chunk = os.read(fd, 65536)
        self.buf += chunk
        return chunk

    def _results(self):
        return self.buf.count(b"\nportprobe,") + self.buf.startswith(b"portprobe,")

    def round(self, results, timeout=15.0):
        """One round: a request, then its `results` result lines (events may follow)."""
        want = self._results() + results
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while self._results() < want:
            if not self._read(deadline):
                raise AssertionError(f"portprobe closed its output; have {self.buf!r}")

    def finish(self, timeout=10.0):
        """End of input: the whole output once portprobe has exited."""
        self.proc.stdin.close()
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            pass
        assert self.proc.wait(timeout) == 0
        self.err.close()
        return self.buf.decode()


def write_config(path, ports, tls):
    path.write_text(f"""[defaults]
timeout = 2s
label = host=probe1
        location=fra1

[web]
url = tcp://127.0.0.1:{ports['web']}

[flaky]
url = tcp://127.0.0.1:{ports['flaky']}

[closed]
url = tcp://127.0.0.1:{ports['closed']}

[site]
url = https://localhost:{ports['good']}/
address_family = ipv4
ca_file = {tls.ca.cert}

[expired]
url = https://127.0.0.1:{ports['expired']}/
ca_file = {tls.ca.cert}

[expiring]
url = https://127.0.0.1:{ports['expiring']}/
ca_file = {tls.ca.cert}

[ping]
url = icmp://127.0.0.1
count = 3
spacing = 10ms
# the panel is under test, not loopback: a busy machine's 30 ms of jitter (the default
# warning) must not turn the grade
rtt_warn = 1s
rtt_bad = 1500ms
rtt_crit = 1900ms
jitter_warn = 1s
jitter_bad = 1500ms
jitter_crit = 1900ms
""")


def run_rounds(pp_bin, conf, log, flaky):
    session = Session([pp_bin, "--execd", "--format", "influx", "--config", conf], log)
    try:
        for n in range(ROUNDS):
            if n == DOWN_ROUNDS.start:
                flaky.stop()
            if n == DOWN_ROUNDS.stop:
                flaky.start()
            if n == PAUSE_BEFORE:
                time.sleep(PAUSE)
            started = time.monotonic()
            session.round(len(TARGETS))
            time.sleep(max(0.0, SPACING - (time.monotonic() - started)))
        return session.finish()
    finally:
        if session.proc.poll() is None:
            procs.stop(procs.Process("portprobe", session.proc))


@pytest.fixture(scope="module")
def scenario(pp_bin, tmp_path_factory):
    """The scenario's lines in InfluxDB; yields a dict with the server, the parsed lines
    (measurement, tags, fields, ns) and the dashboard time range around them."""
    work = tmp_path_factory.mktemp("dash-influx")
    with procs.Registry() as reg:
        tls = certs.make_cert_set(work / "certs")
        web_server = nginx.start_nginx(reg, work / "nginx", {
            "good": tls.good, "expired": tls.expired, "expiring": tls.expiring})
        db = influxdb.start_influxdb(reg, work / "influxdb")
        db.create_db(DB)
        web, flaky = Listener().start(), Listener().start()
        reg.on_stop(web.stop)
        reg.on_stop(flaky.stop)
        ports = {"web": web.port, "flaky": flaky.port, "closed": procs.free_port(),
                 **web_server.https_ports}
        conf = work / "portprobe.conf"
        write_config(conf, ports, tls)
        text = run_rounds(pp_bin, conf, work / "portprobe.log", flaky)
        rows = parse_influx(text)
        db.write(DB, text)
        old = old_line(text, rows)
        db.write(DB, old)
        stamps = [r[3] for r in rows]
        rng = grafana.Range(min(stamps) // 1_000_000 - 1000, max(stamps) // 1_000_000 + 1000)
        yield {"db": db, "rows": rows, "range": rng, "text": text, "ports": ports,
               "closed": ports["closed"]}


def old_line(text, rows):
    """flaky's first down line again, OLD_DAYS days earlier (real output, only older)."""
    index = next(i for i, r in enumerate(rows)
                 if r[0] == "portprobe" and r[1]["target"] == "flaky" and r[2]["up"] == 0)
    line = [x for x in text.splitlines() if x.strip()][index]
    head, stamp = line.rsplit(" ", 1)
    return f"{head} {int(stamp) - OLD_DAYS * 86400 * 10**9}\n"


# --- running the dashboards' queries ---


def variables(dashboard, db, rng, dbname=DB, **selection):
    """The dashboard's variables, their options read with their own queries, in order; each is
    All unless `selection` names values for it."""
    out = grafana.variables_of(dashboard)
    for v in dashboard["templating"]["list"][1:]:
        query = grafana.influxql(v["query"], out, rng)
        (result,) = db.query(dbname, query)
        assert "error" not in result, (v["name"], query, result)
        out[v["name"]].options = sorted(value for s in result.get("series", [])
                                        for _key, value in s["values"])
        if v["name"] in selection:
            out[v["name"]].current = selection[v["name"]]
    return out


def run(db, query, dbname=DB):
    (result,) = db.query(dbname, query)
    assert "error" not in result, (query, result["error"])
    return result.get("series", [])


def panel_results(dashboard, db, rng, scoped=None, **selection):
    """{panel title: [series of each target]} for every panel of the dashboard."""
    vs = variables(dashboard, db, rng, **selection)
    out = {}
    for panel in grafana.panels(dashboard):
        out[panel["title"]] = [
            run(db, grafana.influxql(t["query"], vs, rng, INTERVAL, panel.get("interval"),
                                     scoped)) for t in panel["targets"]]
    return out


def by_tag(series, tag="target"):
    return {s["tags"][tag]: s for s in series}


def column(s, name):
    i = s["columns"].index(name)
    return [row[i] for row in s["values"]]


def results_of(rows, target):
    return [(ts, f) for m, tags, f, ts in rows if m == "portprobe" and tags["target"] == target]


# --- the scenario, as the panels show it ---


def test_every_query_runs_and_returns_what_its_panel_needs(scenario):
    db, rng = scenario["db"], scenario["range"]
    for board in ("overview", "target"):
        d = load("influxdb", board)
        results = panel_results(d, db, rng)
        for title, per_target in results.items():
            if title == "Ping $target":
                continue  # repeated per target: test_ping_panel_repeats_per_target
            for series in per_target:
                assert series and all(s["values"] for s in series), (board, title)
        for a in d["annotations"]["list"]:
            vs = variables(d, db, rng)
            rows = run(db, grafana.influxql(a["query"], vs, rng, INTERVAL))
            assert rows and {a["textColumn"], *a["tagsColumn"].split(",")} <= set(
                rows[0]["columns"])


def test_variables_list_probe_location_scheme_and_targets(scenario):
    d = load("influxdb", "overview")
    vs = variables(d, scenario["db"], scenario["range"])
    assert vs["probe"].options == ["probe1"]
    assert vs["location"].options == ["fra1"]
    assert vs["scheme"].options == ["https", "icmp", "tcp"]
    assert vs["target"].options == sorted(TARGETS)
    tcp = variables(d, scenario["db"], scenario["range"], scheme=["tcp"])
    assert tcp["target"].options == ["closed", "flaky", "web"]


def test_down_rounds_give_the_uptime(scenario):
    results = panel_results(load("influxdb", "overview"), scenario["db"], scenario["range"])
    checks = results_of(scenario["rows"], "flaky")
    assert len(checks) == ROUNDS
    assert sum(f["up"] == 0 for _, f in checks) == len(DOWN_ROUNDS)
    # 24 h sees the scenario, 7 d and 30 d the old down line too
    uptime = {}
    for series in results["Uptime"]:
        for s in series:
            for name in s["columns"][1:]:
                uptime.setdefault(s["tags"]["target"], {})[name] = column(s, name)[0]
    assert uptime["flaky"]["24h"] == pytest.approx(100 * (ROUNDS - 4) / ROUNDS)
    for period in ("7d", "30d"):
        assert uptime["flaky"][period] == pytest.approx(100 * (ROUNDS - 4) / (ROUNDS + 1))
    assert uptime["web"] == {"24h": 100, "7d": 100, "30d": 100}
    assert uptime["closed"]["24h"] == 0


# a wide panel: 250 ms buckets (the data source's timeInterval), about a check each; a narrow
# one: 2 s buckets, longer than the down span, so that one holds an up and a down check
@pytest.mark.parametrize("points,width", [(1000, 250), (4, 2000)])
def test_timeline_shows_the_down_span_and_leaves_the_pause_empty(scenario, points, width):
    rng = grafana.Range(scenario["range"].from_ms, scenario["range"].to_ms, points)
    d = load("influxdb", "overview")
    panel = next(p for p in d["panels"] if p["title"] == "State timeline")
    query = grafana.influxql(panel["targets"][0]["query"], variables(d, scenario["db"], rng),
                             rng, INTERVAL)
    assert f"GROUP BY time({grafana.format_interval(width)})" in query
    buckets = dict(zip(*[column(by_tag(run(scenario["db"], query))["flaky"], c)
                         for c in ("time", "min")]))
    # a bucket is down when a check in it failed, null when none ran
    checks = results_of(scenario["rows"], "flaky")
    expected = defaultdict(list)
    for ts, f in checks:
        expected[ts // 1_000_000 // width * width].append(f["up"])
    assert {t: v for t, v in buckets.items() if v is not None} == {
        t: min(v) for t, v in expected.items()}
    assert any(v == 0 for v in buckets.values())
    if width > 250:
        mixed = [t for t, v in expected.items() if len(set(v)) == 2]
        assert mixed and all(buckets[t] == 0 for t in mixed)  # an up and a down check: down
    # the pause: null buckets between the rounds before and after it, none drawn as up
    before = checks[PAUSE_BEFORE - 1][0] // 1_000_000
    after = checks[PAUSE_BEFORE][0] // 1_000_000
    gap = [v for t, v in buckets.items() if before + width <= t < after - width]
    assert len(gap) >= (PAUSE * 1000 - 2 * width) // width and set(gap) <= {None}
    if width == 250:
        assert gap


def test_counts_and_status(scenario):
    results = panel_results(load("influxdb", "overview"), scenario["db"], scenario["range"])

    def count(title):
        (series,) = results[title]
        return column(series[0], "count")[0] if series else 0
    assert count("Targets") == len(TARGETS)
    assert count("Down now") == 2  # closed, expired (verification fails)
    assert count("Degraded") == 1  # expiring: up, 5 days left
    (status,) = results["Status"]
    assert {t: column(s, "last")[0] for t, s in by_tag(status).items()} == {
        "web": 1, "flaky": 1, "closed": 0, "site": 1, "expired": 0, "expiring": 1, "ping": 1}
    (availability,) = results["Availability"]
    ups = [f["up"] for m, _, f, _ in scenario["rows"] if m == "portprobe"]
    assert column(availability[0], "mean")[0] == pytest.approx(100 * sum(ups) / len(ups))


def test_certificates_show_negative_time_left_when_expired(scenario):
    d = load("influxdb", "overview")
    panel = next(p for p in d["panels"] if p["title"] == "Certificates")
    (series,) = panel_results(d, scenario["db"], scenario["range"])["Certificates"]
    left = {s["tags"]["target"]: column(s, "time left")[0] for s in series}
    assert set(left) == {"site", "expired", "expiring"}
    assert -2 * 86400 < left["expired"] < 0
    assert 5 * 86400 < left["expiring"] < 6 * 86400
    assert 364 * 86400 < left["site"] <= 365 * 86400
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    colours = {t: grafana.threshold_colour(steps, v) for t, v in left.items()}
    assert colours == {"expired": "red", "expiring": "red", "site": "green"}
    assert panel["options"]["sortBy"] == [{"displayName": "time left", "desc": False}]


def test_transitions_and_outages(scenario):
    rows = scenario["rows"]
    checks = results_of(rows, "flaky")
    first_down = next(ts for ts, f in checks if f["up"] == 0)
    back_up = next(ts for ts, f in checks if f["up"] == 1 and ts > first_down)
    for board, title in (("overview", "Recent transitions"), ("target", "Outages")):
        (series,) = panel_results(load("influxdb", board), scenario["db"],
                                  scenario["range"])[title]
        (s,) = series
        events = [e for e in (dict(zip(s["columns"], v)) for v in s["values"])
                  if e["target"] == "flaky" and e.get("kind", "state") == "state"]
        assert [e["state"] for e in events] == ["up", "down"]  # newest first
        up, down = events
        assert up["outage_seconds"] == pytest.approx((back_up - first_down) / 1e9, abs=0.05)
        assert "DOWN: refused" in down["message"] and "UP again" in up["message"]
    d = load("influxdb", "overview")
    (a,) = d["annotations"]["list"]
    vs = variables(d, scenario["db"], scenario["range"], target=["flaky"])
    (s,) = run(scenario["db"], grafana.influxql(a["query"], vs, scenario["range"], INTERVAL))
    assert [v[s["columns"].index("kind")] for v in s["values"]] == ["state", "state"]


def test_target_detail_phases_ping_quality_and_latest_check(scenario):
    d = load("influxdb", "target")
    results = panel_results(d, scenario["db"], scenario["range"])
    (phases,) = results["Response time by phase"]
    site = by_tag(phases)["site"]
    for name in ("dns", "connect", "tls", "first byte", "total"):
        values = [v for v in column(site, name) if v is not None]
        assert values and all(0 < v < 2 for v in values), name
    (latest,) = results["Latest check"]
    row = {s["tags"]["target"]: dict(zip(s["columns"], s["values"][0])) for s in latest}
    assert row["expired"]["result"] == "tls_verify_failed" and row["expired"]["up"] == 0
    assert row["closed"]["phase"] == "connect" and row["web"]["result"] == "ok"
    (jitter,) = results["Jitter"]
    assert set(by_tag(jitter)) == {"ping"}
    (quality,) = results["Quality"]
    assert {v for v in column(by_tag(quality)["ping"], "last") if v} == {"good"}
    (cert,) = results["Certificate time left"]
    assert column(by_tag(cert)["expired"], "last")[0] < 0


def test_ping_panel_repeats_per_target(scenario):
    d = load("influxdb", "target")
    for target in ("ping", "web"):
        (series,) = panel_results(d, scenario["db"], scenario["range"],
                                  scoped={"target": target})["Ping $target"]
        if target == "web":
            assert series == []  # no ICMP figures: the repeated panel shows no data
            continue
        (s,) = series
        for row in s["values"]:
            r = dict(zip(s["columns"], row))
            if r["avg"] is not None:
                assert 0 <= r["min"] <= r["avg"] <= r["max"] < 100 and r["loss"] == 0


def test_a_multi_value_selection_shows_only_those_targets(scenario):
    d = load("influxdb", "overview")
    results = panel_results(d, scenario["db"], scenario["range"], target=["flaky", "web"])
    (timeline,) = results["State timeline"]
    assert set(by_tag(timeline)) == {"flaky", "web"}
    results = panel_results(d, scenario["db"], scenario["range"], scheme=["https"],
                            target=["expired", "site"])
    (series,) = results["Certificates"]
    assert {s["tags"]["target"] for s in series} == {"expired", "site"}


def test_all_shows_targets_without_probe_or_location_tags(scenario, portprobe):
    """A target without the host tag or a location label (no label, Telegraf's
    omit_hostname) still shows when the variables are All (.*)."""
    db = scenario["db"]
    done = portprobe("--format", "influx", f"tcp://127.0.0.1:{scenario['closed']}", "name=bare")
    assert done.returncode == 0 and "host=" not in done.stdout, done.stderr
    db.create_db("bare")
    db.write("bare", done.stdout)
    ((_, _, _, stamp),) = parse_influx(done.stdout)
    rng = grafana.Range(stamp // 1_000_000 - 1000, stamp // 1_000_000 + 1000)
    d = load("influxdb", "overview")
    vs = variables(d, db, rng, dbname="bare")
    assert vs["probe"].options == [] and vs["target"].options == ["bare"]
    status = next(p for p in d["panels"] if p["title"] == "Status")
    series = run(db, grafana.influxql(status["targets"][0]["query"], vs, rng, INTERVAL), "bare")
    assert [(s["tags"]["target"], s["values"][0][1]) for s in series] == [("bare", 0)]
