"""The Prometheus dashboards against a real Prometheus scraping the real collectd.

collectd runs portprobe.so with seven targets (TCP up, TCP that goes down for a few rounds, TCP
refused, HTTPS by name with a good certificate, HTTPS with an expired one, HTTPS with one that
expires in 5 days, ICMP to 127.0.0.1) every second, and serves them with write_prometheus,
configured from dashboards/prometheus/write_prometheus.conf; Prometheus scrapes it with the job
of dashboards/prometheus/prometheus-scrape.yml (scrape interval shortened). collectd's csv
plugin records every check: the scenario's ground truth. collectd is stopped for a few seconds
in the middle (no check runs: a gap) and started again. Then every panel, variable and
annotation query of both dashboards runs, expanded as Grafana expands it (fixtures/grafana.py).
"""

import os
import re
import time
from pathlib import Path

import pytest
import yaml

from fixtures import certs, collectd_daemon, grafana, nginx, procs, prometheus
from fixtures.sockets import Listener

from test_collectd import wait_for
from test_dashboards import DASHBOARDS, SRCDIR, load

BUILDDIR = Path(os.environ.get("PORTPROBE_BUILDDIR", SRCDIR))
PLUGIN = BUILDDIR / "collectd-plugin" / ".libs" / "portprobe.so"
INTERVAL = "1s"  # collectd's Interval, and so the data source's timeInterval here
TARGETS = ("web", "flaky", "closed", "site", "expired", "expiring", "ping")
DOWN_ROUNDS = 3  # at least this many rounds with flaky's listener shut
GAP = 3.0  # seconds with collectd stopped
UP = 'collectd_portprobe_bool{type="up"}'



class Collectd(collectd_daemon.Collectd):
    """The real collectd with portprobe.so, csv and write_prometheus in a private PluginDir."""

    def __init__(self, registry, workdir, targets, port):
        super().__init__(registry, workdir)
        plugins = collectd_daemon.plugin_dir(workdir, ("logfile", "csv", "write_prometheus"),
                                             (PLUGIN,))
        example = (DASHBOARDS / "prometheus" / "write_prometheus.conf").read_text()
        served = example.replace('Host "0.0.0.0"', 'Host "127.0.0.1"').replace(
            'Port "9103"', f'Port "{port}"')
        assert served.count("127.0.0.1") == 1 and served.count(str(port)) == 1
        collectd_daemon.write_conf(workdir, plugins, "probe1", f"""LoadPlugin csv
<Plugin csv>
  DataDir "{workdir}/csv"
</Plugin>
{served}
LoadPlugin portprobe
<Plugin portprobe>
  Timeout "800ms"
{targets}
</Plugin>""")

    def rows(self):
        """{target: [(time s, up)]}: every check the csv plugin wrote, complete lines only."""
        return self.csv_rows("probe1", TARGETS)


def targets_config(ports, tls, *common):
    """The scenario's seven targets; `common` lines go into each (the MongoDB test's label)."""
    def block(name, url, *extra):
        lines = "".join(f"    {e}\n" for e in extra + common)
        return f'  <Target "{name}">\n    URL "{url}"\n{lines}  </Target>'
    ca = f'CAFile "{tls.ca.cert}"'
    return "\n".join([
        block("web", f"tcp://127.0.0.1:{ports['web']}"),
        block("flaky", f"tcp://127.0.0.1:{ports['flaky']}"),
        block("closed", f"tcp://127.0.0.1:{ports['closed']}"),
        block("site", f"https://localhost:{ports['good']}/", 'AddressFamily "ipv4"', ca),
        block("expired", f"https://127.0.0.1:{ports['expired']}/", ca),
        block("expiring", f"https://127.0.0.1:{ports['expiring']}/", ca),
        block("ping", "icmp://127.0.0.1", "Count 3", 'Spacing "10ms"'),
    ])


def scrape_config(port):
    """The shipped scrape job, pointed at this collectd and scraping 4 times a round."""
    config = yaml.safe_load((DASHBOARDS / "prometheus" / "prometheus-scrape.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["honor_labels"] is True and "honor_timestamps" not in job
    job.update(scrape_interval="250ms", scrape_timeout="250ms")
    job["static_configs"][0]["targets"] = [f"127.0.0.1:{port}"]
    config["global"] = {"scrape_interval": "250ms", "scrape_timeout": "250ms"}
    return config


def scraped_everything(cd, prom):
    """True once Prometheus holds as many checks of each target as the csv plugin wrote."""
    rows = cd.rows()
    result = prom.query(f"count_over_time({UP}[1h])", time.time())["result"]
    got = {r["metric"]["portprobe"]: int(r["value"][1]) for r in result}
    return all(got.get(t, 0) >= len(rows[t]) > 0 for t in TARGETS)


def next_round_then_stop(cd, prom):
    """Wait for a new round, until Prometheus has scraped it, and stop collectd, normally
    before the next round (a second later); the time it stopped."""
    before = len(cd.rows()["web"])
    wait_for(lambda: all(len(r) > before for r in cd.rows().values()), 5, "a new round")
    wait_for(lambda: scraped_everything(cd, prom), 3, "every check in Prometheus")
    cd.stop()
    return time.time()


def held_by_prometheus(csv, prom, at, stops):
    """The checks of `csv` that Prometheus holds: all of them, except at most a round that
    ran right before collectd stopped and was not scraped in time (a loaded machine)."""
    result = prom.query(f"{UP}[1h]", at)["result"]
    held = {r["metric"]["portprobe"]: [round(float(t) * 1000) for t, _ in r["values"]]
            for r in result}
    out = {}
    for target, rows in csv.items():
        kept = [(t, v) for t, v in rows if any(abs(h - t * 1000) <= 2 for h in held[target])]
        lost = [t for t, v in rows if (t, v) not in kept]
        assert len(kept) == len(held[target]), (target, "a sample collectd did not write")
        assert len(lost) <= len(stops) and all(
            any(stop - 1.5 <= t <= stop for stop in stops) for t in lost), (target, lost)
        out[target] = kept
    return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = tmp_path_factory.mktemp("dash-prom")
    with procs.Registry() as reg:
        tls = certs.make_cert_set(work / "certs")
        web_server = nginx.start_nginx(reg, work / "nginx", {
            "good": tls.good, "expired": tls.expired, "expiring": tls.expiring})
        web, flaky = Listener().start(), Listener().start()
        reg.on_stop(web.stop)
        reg.on_stop(flaky.stop)
        ports = {"web": web.port, "flaky": flaky.port, "closed": procs.free_port(),
                 **web_server.https_ports}
        port = procs.free_port()
        cd = Collectd(reg, work / "collectd", targets_config(ports, tls), port)
        prom = prometheus.start_prometheus(reg, work / "prometheus", scrape_config(port))
        wait_for(prom.scraping, 10, "Prometheus' first scrape")
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
        stops = [next_round_then_stop(cd, prom)]
        time.sleep(GAP)
        cd.start()
        again = len(flaky_rows())
        wait_for(lambda: len(flaky_rows()) >= again + 3, 10, "3 rounds after the restart")
        stops.append(next_round_then_stop(cd, prom))
        csv = cd.rows()
        stamps = [t for r in csv.values() for t, _ in r]
        # the dashboard looked at a minute later: its range ends 61 s after the last check
        rng = grafana.Range(int(min(stamps) * 1000) - 2000, int(max(stamps) * 1000) + 61000)
        rows = held_by_prometheus(csv, prom, rng.to_ms / 1000, stops)
        yield {"prom": prom, "rows": rows, "csv": csv, "range": rng, "collectd": cd}


# --- running the dashboards' queries ---


def variables(dashboard, prom, rng, **selection):
    out = grafana.variables_of(dashboard)
    for v in dashboard["templating"]["list"][1:]:
        label, match, start, end = grafana.label_values_request(v["query"], out, rng)
        out[v["name"]].options = sorted(prom.label_values(label, match, start, end))
        if v["name"] in selection:
            out[v["name"]].current = selection[v["name"]]
    return out


def run(prom, request):
    if request.instant:
        return prom.query(request.expr, request.time)["result"]
    return prom.query_range(request.expr, request.start, request.end, request.step)["result"]


def panel_results(dashboard, prom, rng, scoped=None, **selection):
    """{panel title: [result of each target]} for every panel of the dashboard."""
    vs = variables(dashboard, prom, rng, **selection)
    return {panel["title"]: [run(prom, grafana.promql(t, vs, rng, INTERVAL,
                                                      panel.get("interval"), scoped))
                             for t in panel["targets"]]
            for panel in grafana.panels(dashboard)}


def instant(result, label="portprobe"):
    return {r["metric"].get(label): float(r["value"][1]) for r in result}


def raw_checks(scenario):
    """{target: [(ms, value)]}: the samples Prometheus holds (collectd's own timestamps)."""
    result = scenario["prom"].query(f"{UP}[1h]", scenario["range"].to_ms / 1000)["result"]
    return {r["metric"]["portprobe"]: [(round(float(t) * 1000), float(v)) for t, v in
                                       r["values"]] for r in result}


# --- the scenario, as the panels show it ---


def test_prometheus_holds_every_check_collectd_made(scenario):
    """Each sample is one check, with collectd's timestamp and value (the csv plugin's)."""
    raw = raw_checks(scenario)
    assert set(raw) == set(TARGETS)
    for target in TARGETS:
        kept = scenario["rows"][target]
        assert len(kept) >= len(scenario["csv"][target]) - 2
        assert [v for _, v in raw[target]] == [v for _, v in kept], target
        assert all(abs(t - c * 1000) <= 2 for (t, _), (c, _) in zip(raw[target], kept))


def test_every_query_runs_and_returns_what_its_panel_needs(scenario):
    prom, rng = scenario["prom"], scenario["range"]
    for board in ("overview", "target"):
        d = load("prometheus", board)
        for title, per_target in panel_results(d, prom, rng).items():
            if title == "Ping $target":
                continue  # repeated per target: test_ping_panel_repeats_per_target
            for result in per_target:
                assert result, (board, title)
        vs = variables(d, prom, rng)
        for a in d["annotations"]["list"]:
            assert run(prom, grafana.promql(a, vs, rng, INTERVAL, annotation_step=a["step"]))


def test_variables_list_probe_location_and_targets(scenario):
    vs = variables(load("prometheus", "overview"), scenario["prom"], scenario["range"])
    assert vs["probe"].options == ["probe1"]  # collectd's Hostname, kept by honor_labels
    assert vs["location"].options == ["fra1"]  # the scrape job's label
    assert vs["target"].options == sorted(TARGETS)


def test_down_rounds_give_the_uptime(scenario):
    results = panel_results(load("prometheus", "overview"), scenario["prom"], scenario["range"])
    flaky = scenario["rows"]["flaky"]
    down = sum(v == 0 for _, v in flaky)
    assert down >= DOWN_ROUNDS
    for period in (instant(r) for r in results["Uptime"]):  # 24 h, 7 d, 30 d
        assert period["flaky"] == pytest.approx(100 * (len(flaky) - down) / len(flaky))
        assert period["web"] == 100 and period["closed"] == 0


# a wide panel: a step per check (1 s); a narrow one: 5 s steps, five or six checks each, so
# that one holds an up and a down check (the down span is shorter than a step)
@pytest.mark.parametrize("points,step", [(1000, 1000), (16, 5000)])
def test_timeline_shows_the_down_span_and_leaves_the_gap_empty(scenario, points, step):
    prom = scenario["prom"]
    rng = grafana.Range(scenario["range"].from_ms, scenario["range"].to_ms, points)
    d = load("prometheus", "overview")
    panel = next(p for p in d["panels"] if p["title"] == "State timeline")
    request = grafana.promql(panel["targets"][0], variables(d, prom, rng), rng, INTERVAL)
    assert round(request.step * 1000) == step
    steps = {r["metric"]["portprobe"]: {round(float(t) * 1000): float(v) for t, v in r["values"]}
             for r in run(prom, request)}["flaky"]
    # a step is down when a check in its window failed, and absent when none ran
    samples = raw_checks(scenario)["flaky"]
    expected, mixed = {}, []
    for t in range(round(request.start * 1000), round(request.end * 1000) + 1, step):
        inside = [v for ts, v in samples if t - step <= ts <= t]
        if inside:
            expected[t] = min(inside)
        if len(set(inside)) == 2:
            mixed.append(t)
    assert steps == expected
    assert any(v == 0 for v in steps.values())
    if step > 1000:
        assert sum(v == 0 for _, v in samples) * 1000 < step
        assert mixed and all(steps[t] == 0 for t in mixed)  # an up and a down check: down
    # the gap: no step between the checks before and after collectd's stop is drawn
    times = [ts for ts, _ in samples]
    gap = max(zip(times, times[1:]), key=lambda p: p[1] - p[0])
    assert gap[1] - gap[0] >= GAP * 1000
    assert [t for t in steps if gap[0] + step <= t < gap[1]] == []
    assert len(range(gap[0] + step, gap[1], step)) >= GAP * 1000 // step - 1


def test_counts_and_status(scenario):
    results = panel_results(load("prometheus", "overview"), scenario["prom"], scenario["range"])

    def count(title):
        (result,) = results[title]
        return float(result[0]["value"][1])
    assert count("Targets") == len(TARGETS)
    assert count("Down now") == 2  # closed, expired (verification fails)
    assert count("Degraded") == 1  # expiring: up, 5 days left
    (status,) = results["Status"]
    assert instant(status) == {"web": 1, "flaky": 1, "closed": 0, "site": 1, "expired": 0,
                               "expiring": 1, "ping": 1}
    (availability,) = results["Availability"]
    per_target = [sum(v for _, v in r) / len(r) for r in scenario["rows"].values()]
    assert float(availability[0]["value"][1]) == pytest.approx(
        100 * sum(per_target) / len(per_target))


def test_certificates_show_negative_time_left_when_expired(scenario):
    d = load("prometheus", "overview")
    panel = next(p for p in d["panels"] if p["title"] == "Certificates")
    (result,) = panel_results(d, scenario["prom"], scenario["range"])["Certificates"]
    left = instant(result)
    assert set(left) == {"site", "expired", "expiring"}
    assert -2 * 86400 < left["expired"] < 0
    assert 5 * 86400 < left["expiring"] < 6 * 86400
    assert 364 * 86400 < left["site"] <= 365 * 86400
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    colours = {t: grafana.threshold_colour(steps, v) for t, v in left.items()}
    assert colours == {"expired": "red", "expiring": "red", "site": "green"}
    renames = panel["transformations"][-1]["options"]["renameByName"]
    assert renames["Value"] == panel["options"]["sortBy"][0]["displayName"] == "time left"


def test_state_changes_outages_and_down_annotations(scenario):
    prom, rng = scenario["prom"], scenario["range"]
    values = [v for _, v in scenario["rows"]["flaky"]]
    changes = sum(a != b for a, b in zip(values, values[1:]))
    assert changes >= 2
    (changed, flapping) = panel_results(load("prometheus", "overview"), prom,
                                        rng)["Recent transitions"]
    assert instant(changed)["flaky"] == changes and instant(changed)["web"] == 0
    assert set(instant(flapping)) == set(TARGETS)
    (down, changed) = panel_results(load("prometheus", "target"), prom, rng)["Outages"]
    assert instant(down)["flaky"] == values.count(0) and instant(changed)["flaky"] == changes
    d = load("prometheus", "overview")
    (a,) = d["annotations"]["list"]
    vs = variables(d, prom, rng)
    request = grafana.promql(a, vs, rng, INTERVAL, annotation_step=a["step"])
    assert request.step == 60  # the annotation's step: 60 s windows
    active = {r["metric"]["portprobe"]: {round(float(t) * 1000) for t, v in r["values"]
                                         if float(v) > 0} for r in run(prom, request)}
    samples = raw_checks(scenario)["flaky"]
    step = 60000
    expected = {t for t in range(round(request.start * 1000), round(request.end * 1000) + 1,
                                 step)
                if any(v == 0 for ts, v in samples if t - step <= ts <= t)}
    assert expected and active["flaky"] == expected
    assert not active["web"] and not active["expiring"] and active["closed"]


def test_target_detail_phases_ping_quality_and_latest_check(scenario):
    results = panel_results(load("prometheus", "target"), scenario["prom"], scenario["range"])
    (phases,) = results["Response time by phase"]
    site = {r["metric"]["type"] for r in phases if r["metric"]["portprobe"] == "site"}
    assert site == {"dns", "connect", "tls", "first_byte", "total"}
    (up, status) = results["Latest check"]
    assert instant(up)["expired"] == 0 and instant(status) == {"site": 200, "expiring": 200}
    (jitter,) = results["Jitter"]
    assert {r["metric"]["portprobe"] for r in jitter} == {"ping"}
    (quality,) = results["Quality"]
    assert {v for r in quality for _, v in r["values"]} == {"1"}  # good
    (cert,) = results["Certificate time left"]
    assert instant(cert)["expired"] < 0


def test_ping_panel_repeats_per_target(scenario):
    d = load("prometheus", "target")
    for target in ("ping", "web"):
        avg, low, high, loss = panel_results(d, scenario["prom"], scenario["range"],
                                             scoped={"target": target})["Ping $target"]
        if target == "web":
            assert avg == low == high == loss == []  # no ICMP figures: no data
            continue
        series = [{t: float(v) for t, v in r[0]["values"]} for r in (avg, low, high, loss)]
        assert series[0] and set(series[0]) == set(series[3])
        for t in series[0]:
            assert series[1][t] <= series[0][t] <= series[2][t] and series[3][t] == 0


def test_a_multi_value_selection_shows_only_those_targets(scenario):
    results = panel_results(load("prometheus", "overview"), scenario["prom"], scenario["range"],
                            target=["flaky", "web"])
    (timeline,) = results["State timeline"]
    assert {r["metric"]["portprobe"] for r in timeline} == {"flaky", "web"}


def test_write_prometheus_names_are_as_the_readme_documents(scenario):
    text = (DASHBOARDS / "README.md").read_text()
    documented = set(re.findall(r"`(collectd_portprobe_\w+)", text))
    rng = scenario["range"]
    names = scenario["prom"].label_values("__name__", None, rng.from_ms // 1000,
                                          rng.to_ms // 1000 + 1)
    assert {n for n in names if n.startswith("collectd_portprobe_")} == documented
    types = scenario["prom"].label_values("type", "collectd_portprobe_response_time",
                                          rng.from_ms // 1000, rng.to_ms // 1000 + 1)
    assert sorted(types) == ["connect", "dns", "first_byte", "tls", "total"]
    series = scenario["prom"].api("series", {"match[]": UP, "start": rng.from_ms // 1000,
                                             "end": rng.to_ms // 1000 + 1})
    assert {(s["instance"], s["job"], s["location"]) for s in series} == {
        ("probe1", "collectd-portprobe", "fra1")}
