"""The MongoDB dashboards against a real SecantusDB fed by the real collectd.

collectd runs portprobe.so with seven targets labelled location=fra1 (TCP up, TCP that goes
down for a few rounds, TCP refused, HTTPS by name with a good certificate, HTTPS with an expired
one, HTTPS with one that expires in 5 days, ICMP to 127.0.0.1) every second, and
portprobe_mongodb writes values and notifications to SecantusDB; collectd's csv plugin records
every check: the ground truth. collectd is stopped for a few seconds in the middle (a gap) and
started again. Then every panel, variable and annotation pipeline of both dashboards runs with
pymongo, expanded as the haohanyang-mongodb-datasource plugin and Grafana expand it
(fixtures/grafana.py mongo()). FerretDB is left out: v1.24.2 refuses 18 of the 20 panel
queries ($group's $last and $avg, $add, $concat are not implemented there; dashboards/README.md).
"""

import os
import time
from datetime import timezone
from pathlib import Path

import pytest

from fixtures import certs, collectd_daemon, grafana, mongo_servers, nginx, procs
from fixtures.sockets import Listener
from harness import PLUGIN_SO

from test_collectd import wait_for
from test_dashboards_prometheus import targets_config
from test_dashboards import SRCDIR, load

BUILDDIR = Path(os.environ.get("PORTPROBE_BUILDDIR", SRCDIR))
PLUGIN = BUILDDIR / "collectd-plugin" / ".libs" / "portprobe.so"
INTERVAL = "1s"  # collectd's Interval, and so the dashboards' Check interval here
TARGETS = ("web", "flaky", "closed", "site", "expired", "expiring", "ping")
SCHEMES = {"web": "tcp", "flaky": "tcp", "closed": "tcp", "site": "https", "expired": "https",
           "expiring": "https", "ping": "icmp"}  # as the targets' URLs below say
HOSTNAME = "probe1"  # collectd's Hostname: the probe host
DOWN_ROUNDS = 3
GAP = 3.0
DB = "portprobe"
# each panel, and the test that asserts what it shows (beyond "it returns rows")
CHECKED = {
    "overview": {"Status": "test_counts_and_status", "Targets": "test_counts_and_status",
                 "Down now": "test_counts_and_status", "Degraded": "test_counts_and_status",
                 "Availability": "test_counts_and_status",
                 "State timeline": "test_timeline_shows_the_down_span_and_leaves_the_gap_empty",
                 "Uptime": "test_down_rounds_give_the_uptime",
                 "Certificates": "test_certificates_show_negative_time_left_when_expired",
                 "Response time": "test_response_time_per_target",
                 "Recent transitions": "test_transitions_outages_and_annotations"},
    "target": {"State": "test_target_detail", "Uptime in range": "test_target_detail",
               "Certificate time left": "test_target_detail", "Latest check": "test_target_detail",
               "State timeline": "test_timeline_shows_the_down_span_and_leaves_the_gap_empty",
               "Response time by phase": "test_target_detail",
               "Ping $target": "test_ping_panel_repeats_per_target",
               "Jitter": "test_target_detail", "Quality": "test_target_detail",
               "Outages": "test_transitions_outages_and_annotations"},
}



class Collectd(collectd_daemon.Collectd):
    """The real collectd with portprobe.so, csv and portprobe_mongodb in a private PluginDir."""

    def __init__(self, registry, workdir, targets, uri):
        super().__init__(registry, workdir)
        plugins = collectd_daemon.plugin_dir(workdir, ("logfile", "csv"), (PLUGIN, PLUGIN_SO))
        collectd_daemon.write_conf(workdir, plugins, HOSTNAME, f"""LoadPlugin csv
<Plugin csv>
  DataDir "{workdir}/csv"
</Plugin>
LoadPlugin portprobe_mongodb
<Plugin portprobe_mongodb>
  URI "{uri}"
  Database "{DB}"
  FlushInterval 0.5
</Plugin>
LoadPlugin portprobe
<Plugin portprobe>
  Timeout "800ms"
  DownAfter 1
{targets}
</Plugin>""")

    def rows(self, series="bool-up"):
        """{target: [(time s, value)]}: every value the csv plugin wrote, complete lines."""
        return self.csv_rows(HOSTNAME, TARGETS, series)


def stored_ups(db):
    """{target: [ms]} of the bool/up documents stored."""
    out = {}
    for d in db.metrics.find({"meta.plugin": "portprobe", "meta.type": "bool",
                              "meta.type_instance": "up"}):
        out.setdefault(d["meta"]["plugin_instance"], []).append(ms(d["time"]))
    return out


def ms(t):
    return round(t.replace(tzinfo=timezone.utc).timestamp() * 1000)


def everything_stored(cd, db):
    rows, held = cd.rows(), stored_ups(db)
    return all(len(held.get(t, [])) >= len(rows[t]) > 0 for t in TARGETS)


def next_round_then_stop(cd, db):
    before = len(cd.rows()["web"])
    wait_for(lambda: all(len(r) > before for r in cd.rows().values()), 5, "a new round")
    cd.stop()  # portprobe_mongodb writes what it holds at shutdown
    wait_for(lambda: everything_stored(cd, db), 10, "every check in SecantusDB")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = tmp_path_factory.mktemp("dash-mongo")
    with procs.Registry() as reg:
        tls = certs.make_cert_set(work / "certs")
        web_server = nginx.start_nginx(reg, work / "nginx", {
            "good": tls.good, "expired": tls.expired, "expiring": tls.expiring})
        web, flaky = Listener().start(), Listener().start()
        reg.on_stop(web.stop)
        reg.on_stop(flaky.stop)
        ports = {"web": web.port, "flaky": flaky.port, "closed": procs.free_port(),
                 **web_server.https_ports}
        server = mongo_servers.STARTERS["secantusdb"](reg, procs.shared_tmpdir(
            reg, prefix="pp-secantusdb-"))
        client = server.client()
        reg.on_stop(client.close)
        db = client[DB]
        targets = targets_config(ports, tls, 'Label "location=fra1"')
        cd = Collectd(reg, work / "collectd", targets, server.uri)
        cd.start()
        flaky_rows = lambda: cd.rows()["flaky"]  # noqa: E731
        wait_for(lambda: len(flaky_rows()) >= 3, 10, "3 rounds")
        flaky.stop()
        shut = len(flaky_rows())
        wait_for(lambda: sum(v == 0 for _, v in flaky_rows()[shut:]) >= DOWN_ROUNDS, 10,
                 "rounds with flaky down")
        flaky.start()
        wait_for(lambda: flaky_rows()[-1][1] == 1 and flaky_rows()[-2][1] == 1, 10,
                 "flaky up again")
        next_round_then_stop(cd, db)
        time.sleep(GAP)
        cd.start()
        again = len(flaky_rows())
        wait_for(lambda: len(flaky_rows()) >= again + 3, 10, "3 rounds after the restart")
        next_round_then_stop(cd, db)
        csv = cd.rows()
        stamps = [t for r in csv.values() for t, _ in r]
        # the dashboard looked at a minute later: its range ends 61 s after the last check
        rng = grafana.Range(int(min(stamps) * 1000) - 2000, int(max(stamps) * 1000) + 61000)
        yield {"db": db, "csv": csv, "range": rng, "collectd": cd}


# --- running the dashboards' pipelines ---


def variables(dashboard, db, rng, **selection):
    """The query variables with their options from the server, Check interval set to 1s."""
    out = grafana.variables_of(dashboard)
    for v in dashboard["templating"]["list"][1:]:
        if v["type"] == "textbox":
            out[v["name"]].current = INTERVAL
            continue
        coll, pipeline = grafana.mongo(v["query"], out, rng)
        rows = list(db[coll].aggregate(pipeline))
        out[v["name"]].options = [r["value"] for r in rows]
        out[v["name"]].texts = [r.get("text", r["value"]) for r in rows]
        if v["name"] in selection:
            out[v["name"]].current = selection[v["name"]]
    return out


def min_interval(panel, vs):
    """The panel's Min interval, its variable replaced (PanelQueryRunner.ts)."""
    if "interval" not in panel:
        return None
    return grafana.interpolate(panel["interval"], vs, lambda value, _: value)


def run(db, target, vs, rng, scoped=None, panel=None):
    coll, pipeline = grafana.mongo(target, vs, rng, None, panel and min_interval(panel, vs),
                                   scoped)
    return list(db[coll].aggregate(pipeline))


def panel_results(dashboard, db, rng, scoped=None, **selection):
    """{panel title: [rows of each query]} for every panel of the dashboard."""
    vs = variables(dashboard, db, rng, **selection)
    return {p["title"]: [run(db, t, vs, rng, scoped, p) for t in p["targets"]]
            for p in grafana.panels(dashboard)}


def by_target(rows, column):
    return {r["target"]: r.get(column) for r in rows}


def panel(dashboard, title):
    return next(p for p in grafana.panels(dashboard) if p["title"] == title)


# --- the scenario, as the panels show it ---


def test_secantusdb_holds_every_check_collectd_made(scenario):
    held = stored_ups(scenario["db"])
    for target in TARGETS:
        assert sorted(held[target]) == sorted(round(t * 1000) for t, _ in
                                              scenario["csv"][target]), target


def test_every_panel_is_asserted_on():
    import sys
    module = sys.modules[__name__]
    for board, checked in CHECKED.items():
        titles = {p["title"] for p in grafana.panels(load("mongodb", board))}
        assert set(checked) == titles, board
        assert all(callable(getattr(module, name, None)) for name in checked.values())


def test_every_query_runs_and_returns_what_its_panel_needs(scenario):
    db, rng = scenario["db"], scenario["range"]
    for board in ("overview", "target"):
        d = load("mongodb", board)
        for title, per_query in panel_results(d, db, rng).items():
            if title == "Ping $target":
                continue  # repeated per target: test_ping_panel_repeats_per_target
            for rows in per_query:
                assert rows, (board, title)
        vs = variables(d, db, rng)
        for a in d["annotations"]["list"]:
            assert run(db, a["target"], vs, rng)


def test_variables_list_locations_probes_schemes_and_targets(scenario):
    vs = variables(load("mongodb", "overview"), scenario["db"], scenario["range"])
    assert vs["location"].options == ['"fra1"'] and vs["location"].texts == ["fra1"]
    assert vs["probe"].texts == [HOSTNAME]
    assert vs["scheme"].texts == sorted(set(SCHEMES.values()))
    assert vs["scheme"].options == [f'"{s}"' for s in vs["scheme"].texts]
    assert vs["target"].options == sorted(TARGETS)


def test_a_scheme_narrows_the_targets_offered(scenario):
    db, rng = scenario["db"], scenario["range"]
    d = load("mongodb", "overview")
    for scheme in set(SCHEMES.values()):
        vs = variables(d, db, rng, scheme=[f'"{scheme}"'])
        assert vs["target"].options == sorted(t for t, s in SCHEMES.items() if s == scheme)
    vs = variables(d, db, rng, probe=['"elsewhere"'])
    assert vs["scheme"].options == [] and vs["target"].options == []


def test_unlabelled_targets_are_a_location_of_their_own(scenario):
    """A target without a location label: the option "(none)", value null, selects it."""
    db, rng = scenario["db"], scenario["range"]
    doc = db.metrics.find_one({"meta.plugin_instance": "web", "meta.type": "bool"})
    db.metrics.insert_one({"time": doc["time"], "meta": {
        "host": "probe2", "plugin": "portprobe", "plugin_instance": "bare", "type": "bool",
        "type_instance": "up", "labels": {}}, "interval": 1.0, "value": 1.0})
    try:
        d = load("mongodb", "overview")
        vs = variables(d, db, rng)
        assert vs["location"].texts == ["(none)", "fra1"]
        assert vs["location"].options == ["null", '"fra1"']
        assert "bare" in vs["target"].options
        vs = variables(d, db, rng, location=["null"])
        assert vs["target"].options == ["bare"]
        (status,) = panel_results(d, db, rng, location=["null"])["Status"]
        assert by_target(status, "up") == {"bare": 1}
    finally:
        db.metrics.delete_many({"meta.plugin_instance": "bare"})


def test_down_rounds_give_the_uptime(scenario):
    (rows,) = panel_results(load("mongodb", "overview"), scenario["db"],
                            scenario["range"])["Uptime"]
    flaky = scenario["csv"]["flaky"]
    down = sum(v == 0 for _, v in flaky)
    assert down >= DOWN_ROUNDS
    for period in ("24h", "7d", "30d"):
        got = by_target(rows, period)
        assert got["flaky"] == pytest.approx(100 * (len(flaky) - down) / len(flaky))
        assert got["web"] == 100 and got["closed"] == 0


@pytest.mark.parametrize("board", ["overview", "target"])
@pytest.mark.parametrize("points,step", [(1000, 1000), (16, 5000)])
def test_timeline_shows_the_down_span_and_leaves_the_gap_empty(scenario, board, points, step):
    db = scenario["db"]
    rng = grafana.Range(scenario["range"].from_ms, scenario["range"].to_ms, points)
    d = load("mongodb", board)
    timeline = panel(d, "State timeline")
    (target,) = timeline["targets"]
    vs = variables(d, db, rng)
    assert min_interval(timeline, vs) == INTERVAL
    coll, pipeline = grafana.mongo(target, vs, rng, None, min_interval(timeline, vs))
    assert pipeline[1]["$group"]["_id"]["b"]["$add"][1]["$multiply"][1] == step
    got = {}
    for r in db[coll].aggregate(pipeline):
        got.setdefault(r["target"], {})[ms(r["time"])] = r.get("up")
    flaky = got["flaky"]
    # one row per bucket of the range, down when a check in it failed, without a value when
    # none ran
    samples = [(round(t * 1000), v) for t, v in scenario["csv"]["flaky"]]
    buckets = range(rng.from_ms, rng.to_ms, step)
    expected = {}
    for b in buckets:
        inside = [v for ts, v in samples if b <= ts < b + step]
        expected[b] = min(inside) if inside else None
    assert flaky == expected
    assert any(v == 0 for v in flaky.values())
    mixed = [b for b in buckets if len({v for ts, v in samples if b <= ts < b + step}) == 2]
    if step > 1000:
        assert mixed and all(flaky[b] == 0 for b in mixed)  # an up and a down check: down
    # the gap: buckets between the checks before and after collectd's stop hold no value,
    # and so do those after the last check up to the range's end: never drawn as up
    times = [ts for ts, _ in samples]
    gap = max(zip(times, times[1:]), key=lambda p: p[1] - p[0])
    assert gap[1] - gap[0] >= GAP * 1000
    empty = [b for b in flaky if gap[0] < b and b + step <= gap[1]]
    assert len(empty) >= GAP * 1000 // step - 1 and all(flaky[b] is None for b in empty)
    tail = [b for b in flaky if b > times[-1]]
    assert tail and all(flaky[b] is None for b in tail)


def test_counts_and_status(scenario):
    results = panel_results(load("mongodb", "overview"), scenario["db"], scenario["range"])
    assert results["Targets"] == [[{"targets": len(TARGETS)}]]
    assert results["Down now"] == [[{"down": 2}]]  # closed, expired (verification fails)
    assert results["Degraded"] == [[{"degraded": 1}]]  # expiring: up, 5 days left
    (status,) = results["Status"]
    assert by_target(status, "up") == {"web": 1, "flaky": 1, "closed": 0, "site": 1,
                                       "expired": 0, "expiring": 1, "ping": 1}
    ((availability,),) = results["Availability"]
    checks = [v for r in scenario["csv"].values() for _, v in r]
    assert availability["availability"] == pytest.approx(100 * sum(checks) / len(checks))


def test_certificates_show_negative_time_left_when_expired(scenario):
    d = load("mongodb", "overview")
    p = panel(d, "Certificates")
    (rows,) = panel_results(d, scenario["db"], scenario["range"])["Certificates"]
    left = by_target(rows, "time left")
    assert set(left) == {"site", "expired", "expiring"}
    assert [r["target"] for r in rows] == ["expired", "expiring", "site"]  # soonest first
    assert -2 * 86400 < left["expired"] < 0
    assert 5 * 86400 < left["expiring"] < 6 * 86400
    assert 364 * 86400 < left["site"] <= 365 * 86400
    steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
    colours = {t: grafana.threshold_colour(steps, v) for t, v in left.items()}
    assert colours == {"expired": "red", "expiring": "red", "site": "green"}
    assert p["options"]["sortBy"][0]["displayName"] == "time left"


def test_response_time_per_target(scenario):
    (rows,) = panel_results(load("mongodb", "overview"), scenario["db"],
                            scenario["range"])["Response time"]
    seen = {r["target"] for r in rows if r.get("response time") is not None}
    assert {"web", "flaky", "site", "expiring"} <= seen and "closed" not in seen
    assert all(0 < r["response time"] < 1 for r in rows if r.get("response time"))


def events_of(db, target):
    return list(db.events.find({"plugin_instance": target, "kind": "state"}).sort("time", 1))


def test_transitions_outages_and_annotations(scenario):
    db, rng = scenario["db"], scenario["range"]
    (recent,) = panel_results(load("mongodb", "overview"), db, rng)["Recent transitions"]
    flaky = [r for r in recent if r["target"] == "flaky" and r["kind"] == "state"]
    assert [r["state"] for r in flaky] == ["up", "down"]  # newest first
    assert [r["time"] for r in recent] == sorted((r["time"] for r in recent), reverse=True)
    down_rounds = sum(v == 0 for _, v in scenario["csv"]["flaky"])
    assert abs(flaky[0]["outage"] - down_rounds) <= 1.5, (flaky[0], down_rounds)
    assert "DOWN" in flaky[1]["message"] and flaky[1]["severity"] == "FAILURE"
    assert {r["target"] for r in recent if r["kind"] == "state"} >= {"flaky", "closed",
                                                                     "expired"}
    assert "web" not in {r["target"] for r in recent}
    (outages,) = panel_results(load("mongodb", "target"), db, rng)["Outages"]
    mine = [r for r in outages if r["target"] == "flaky"]
    assert [(r["state"], r["time"]) for r in mine] == [
        (e["meta"]["state"], e["time"]) for e in reversed(events_of(db, "flaky"))]
    assert mine[1]["result"] == "refused"
    d = load("mongodb", "overview")
    (a,) = d["annotations"]["list"]
    notes = run(db, a["target"], variables(d, db, rng), rng)
    flaky_notes = [n for n in notes if n["title"] == "flaky"]
    assert [n["time"] for n in flaky_notes] == [e["time"] for e in events_of(db, "flaky")]
    assert all(n["tags"].startswith("state,") for n in flaky_notes)
    assert "DOWN" in flaky_notes[0]["text"]


def test_target_detail(scenario):
    db, rng = scenario["db"], scenario["range"]
    results = panel_results(load("mongodb", "target"), db, rng)
    (state,) = results["State"]
    assert by_target(state, "up")["expired"] == 0 and by_target(state, "up")["web"] == 1
    (uptime,) = results["Uptime in range"]
    flaky = [v for _, v in scenario["csv"]["flaky"]]
    assert by_target(uptime, "uptime")["flaky"] == pytest.approx(100 * sum(flaky) / len(flaky))
    (cert,) = results["Certificate time left"]
    assert by_target(cert, "time left")["expired"] < 0
    (latest,) = results["Latest check"]
    assert by_target(latest, "up")["expired"] == 0
    assert {t: s for t, s in by_target(latest, "http status").items() if s} == {
        "site": 200, "expiring": 200}
    (phases,) = results["Response time by phase"]
    site = {r["target"].split(" ")[1] for r in phases if r["target"].startswith("site ")
            and r.get("seconds") is not None}
    assert site == {"dns", "connect", "tls", "first_byte", "total"}
    (jitter,) = results["Jitter"]
    assert {r["target"] for r in jitter if r.get("jitter") is not None} == {"ping"}
    (quality,) = results["Quality"]
    assert {r["quality"] for r in quality if r.get("quality") is not None} == {1}  # good


def test_ping_panel_repeats_per_target(scenario):
    d = load("mongodb", "target")
    for target in ("ping", "web"):
        (rows,) = panel_results(d, scenario["db"], scenario["range"],
                                scoped={"target": target})["Ping $target"]
        if target == "web":
            assert rows == []  # no ICMP figures: no data
            continue
        measured = [r for r in rows if r.get("avg") is not None]
        assert measured and {r["target"] for r in rows} == {"ping"}
        for r in measured:
            assert r["avg - stddev"] <= r["avg"] <= r["avg + stddev"] and r["loss"] == 0
        assert any(r.get("avg") is None for r in rows)  # the gap stays a gap


def test_a_multi_value_selection_shows_only_those_targets(scenario):
    results = panel_results(load("mongodb", "overview"), scenario["db"], scenario["range"],
                            target=["flaky", "web"])
    (timeline,) = results["State timeline"]
    assert {r["target"] for r in timeline} == {"flaky", "web"}
    assert results["Targets"] == [[{"targets": 2}]]


def test_pipelines_filter_on_the_keys_of_an_index(scenario):
    """Every first $match is equalities, $in and the time range on one index's keys."""
    indexes = {name: [k for k, _ in spec["key"]] for coll in ("metrics", "events")
               for name, spec in scenario["db"][coll].index_information().items()}
    wanted = {"metrics": indexes["series_time"], "events": indexes["state_time"]}
    rng = scenario["range"]
    for board in ("overview", "target"):
        d = load("mongodb", board)
        vs = variables(d, scenario["db"], rng)
        queries = [t for p in grafana.panels(d) for t in p["targets"]]
        for t in queries + [a["target"] for a in d["annotations"]["list"]]:
            coll, pipeline = grafana.mongo(t, vs, rng, None, INTERVAL, {"target": "web"})
            keys = list(pipeline[0]["$match"])
            assert keys == wanted[coll], (board, keys)
        for v in d["templating"]["list"][1:3]:
            coll, pipeline = grafana.mongo(v["query"], vs, rng)
            assert set(pipeline[0]["$match"]) <= set(wanted[coll])
