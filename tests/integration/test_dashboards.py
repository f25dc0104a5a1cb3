"""The Grafana dashboards as files: JSON models, provisioning, the README's panel table, and the
Python re-creation of Grafana's query expansion checked against Grafana's own test cases.

Grafana itself is not installable here; test_dashboards_influx.py and
test_dashboards_prometheus.py and mongodb/test_dashboards_mongo.py run every query on the real
backends.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fixtures import grafana

SRCDIR = Path(__file__).resolve().parents[2]
DASHBOARDS = SRCDIR / "dashboards"
FLAVOURS = {"influxdb": "influxdb", "prometheus": "prometheus",  # folder -> datasource type
            "mongodb": "haohanyang-mongodb-datasource"}
BOARDS = ("overview", "target")
INSTALL_DIR = "/usr/share/portprobe/dashboards"
DAY = 86400


def load(flavour, board):
    return json.loads((DASHBOARDS / flavour / f"portprobe-{board}.json").read_text())


ALL = [(f, b) for f in FLAVOURS for b in BOARDS]


def test_committed_dashboards_are_what_the_generator_writes():
    done = subprocess.run([sys.executable, str(DASHBOARDS / "generate.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("flavour,board", ALL)
def test_json_model_has_what_grafana_needs(flavour, board):
    d = load(flavour, board)
    assert d["uid"] == f"portprobe-{flavour}-{board}" and len(d["uid"]) <= 40
    assert d["title"] and isinstance(d["schemaVersion"], int)
    assert d["time"] == {"from": "now-6h", "to": "now"}
    names = [v["name"] for v in d["templating"]["list"]]
    assert len(names) == len(set(names))
    panel_keys = {"id", "type", "title", "description", "datasource", "gridPos", "targets",
                  "fieldConfig", "options", "transformations", "repeat", "repeatDirection",
                  "maxPerRow", "interval", "maxDataPoints", "links"}
    for panel in grafana.panels(d):
        assert set(panel) <= panel_keys, (panel["title"], set(panel) - panel_keys)
        assert panel["type"] in {"stat", "table", "state-timeline", "timeseries"}
        assert panel["title"] and panel["description"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]


@pytest.mark.parametrize("flavour,board", ALL)
def test_every_panel_query_and_variable_names_the_datasource_variable(flavour, board):
    d = load(flavour, board)
    ds = {"type": FLAVOURS[flavour], "uid": "${datasource}"}
    variables = d["templating"]["list"]
    assert variables[0] == {**variables[0], "type": "datasource", "name": "datasource",
                            "query": FLAVOURS[flavour]}
    assert "${DS_" not in json.dumps(d)  # no import input that provisioning would leave empty
    for v in variables[1:]:
        if v["type"] != "textbox":  # the MongoDB flavour's Check interval
            assert v["datasource"] == ds, v["name"]
    for a in d["annotations"]["list"]:
        assert a["datasource"] == ds
    for panel in grafana.panels(d):
        assert panel["datasource"] == ds, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == ds, panel["title"]


def overlaps(a, b):
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
            a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


@pytest.mark.parametrize("flavour,board", ALL)
def test_ids_and_grid_positions_are_unique_and_inside_the_grid(flavour, board):
    panels = list(grafana.panels(load(flavour, board)))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    grids = [p["gridPos"] for p in panels]
    for g in grids:
        assert g["x"] >= 0 and g["y"] >= 0 and g["w"] >= 1 and g["h"] >= 1
        assert g["x"] + g["w"] <= 24, g
    for i, a in enumerate(grids):
        for b in grids[i + 1:]:
            assert not overlaps(a, b), (a, b)


@pytest.mark.parametrize("flavour,board", ALL)
def test_variables_links_and_repeats_refer_to_what_exists(flavour, board):
    d = load(flavour, board)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    # Prometheus: no scheme (write_prometheus exports no meta data, where the scheme is)
    expected = {"influxdb": {"datasource", "probe", "location", "target", "scheme"},
                "prometheus": {"datasource", "probe", "location", "target"},
                "mongodb": {"datasource", "probe", "location", "target", "scheme",
                            "check_interval"}}[flavour]
    assert set(variables) == expected
    queried = expected - {"datasource", "check_interval"}
    for name in queried:
        v = variables[name]
        assert v["multi"] and v["includeAll"], name
        # MongoDB: All is every option (a list for $in), never a regular expression
        assert v.get("allValue") == (None if flavour == "mongodb" else ".*"), name
    used = json.dumps([p["targets"] for p in d["panels"]])
    # MongoDB: probe host and scheme narrow the targets (the panels keep to index keys)
    by_variables = json.dumps([v.get("query") for v in variables.values()])
    for name in queried:
        where = by_variables if flavour == "mongodb" and name in ("probe", "scheme") else used
        assert re.search(rf"\$\{{?{name}\b", where), f"no query uses ${name}"
    if flavour == "mongodb":
        for panel in grafana.panels(d):
            if "$__interval_ms" in json.dumps(panel["targets"]):
                assert panel["interval"] == "${check_interval}", panel["title"]
    for panel in grafana.panels(d):
        if "repeat" in panel:
            assert panel["repeat"] in variables and variables[panel["repeat"]]["multi"]
        for link in panel["fieldConfig"]["defaults"].get("links", []):
            uid = re.match(r"/d/([^/?]+)", link["url"]).group(1)
            assert uid == f"portprobe-{flavour}-target"
            field = {"influxdb": "__field.labels.target", "prometheus": "__field.labels.portprobe",
                     "mongodb": "__data.fields.target"}[flavour]  # a row's column
            assert f"var-target=${{{field}}}" in link["url"]


# --- the README's panel table ---


def readme_panels():
    """{(board, title): (kind, unit, threshold steps)} from dashboards/README.md."""
    text = (DASHBOARDS / "README.md").read_text()
    out, board = {}, None
    for line in text.splitlines():
        m = re.match(r"### .*\(`portprobe-(\w+)`\)", line)
        if m:
            board = m.group(1)
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if board and len(cells) == 5 and cells[0] not in ("panel", "---"):
            out[(board, cells[0])] = (cells[1], cells[2], parse_steps(cells[3]))
    return out


def parse_steps(text):
    """"red, orange from 7 d, green from 99.9" -> [("red", None), ("orange", 604800), ...]."""
    if text == "-":
        return [("text", None)]
    steps = []
    for part in text.split(", "):
        m = re.fullmatch(r"(\w+)(?: from ([\d.]+)( d)?)?", part)
        assert m, f"README threshold {part!r}"
        value = None
        if m.group(2):
            value = float(m.group(2)) * (DAY if m.group(3) else 1)
            value = int(value) if value == int(value) else value
        steps.append((m.group(1), value))
    return steps


@pytest.mark.parametrize("flavour,board", ALL)
def test_units_and_thresholds_are_as_the_readme_documents(flavour, board):
    documented = readme_panels()
    for panel in grafana.panels(load(flavour, board)):
        key = (board, panel["title"])
        assert key in documented, f"{key} is not in dashboards/README.md"
        kind, unit, steps = documented[key]
        defaults = panel["fieldConfig"]["defaults"]
        assert panel["type"] == kind, key
        assert defaults["unit"] == unit, key
        got = [(s["color"], s["value"]) for s in defaults["thresholds"]["steps"]]
        assert got == steps, key
        assert got[0][1] is None  # the base step covers everything below (negative time left)
    titles = {p["title"] for p in grafana.panels(load(flavour, board))}
    assert titles == {t for b, t in documented if b == board}


def test_units_of_the_figures_users_read():
    units = {p["title"]: p["fieldConfig"]["defaults"]["unit"]
             for f in FLAVOURS for p in grafana.panels(load(f, "target"))}
    assert units["Response time by phase"] == "s"
    assert units["Ping $target"] == "ms" and units["Jitter"] == "ms"
    assert units["Uptime in range"] == "percent"
    for f in FLAVOURS:
        ping = next(p for p in load(f, "target")["panels"] if p["title"] == "Ping $target")
        loss = next(o for o in ping["fieldConfig"]["overrides"]
                    if o["matcher"]["options"] == "loss")
        props = {p["id"]: p["value"] for p in loss["properties"]}
        assert props["unit"] == "percent" and props["custom.axisPlacement"] == "right"
        band = [o for o in ping["fieldConfig"]["overrides"]
                if any(p["id"] == "custom.fillBelowTo" for p in o["properties"])]
        assert len(band) == 1


def test_counts_read_zero_when_nothing_is_counted():
    for f in FLAVOURS:
        for panel in load(f, "overview")["panels"]:
            if panel["title"] in ("Targets", "Down now", "Degraded"):
                assert panel["fieldConfig"]["defaults"]["noValue"] == "0", panel["title"]


def test_state_mappings_show_three_states():
    for f, b in ALL:
        for panel in grafana.panels(load(f, b)):
            if panel["type"] != "state-timeline" or panel["title"] == "Quality":
                continue
            mappings = panel["fieldConfig"]["defaults"]["mappings"]
            texts = {k: v["text"] for m in mappings if m["type"] == "value"
                     for k, v in m["options"].items()}
            nulls = [m["options"]["result"]["text"] for m in mappings
                     if m["type"] == "special" and m["options"]["match"] == "null"]
            assert texts == {"1": "up", "0": "down"} and nulls == ["no data"]
            assert panel["fieldConfig"]["defaults"]["custom"]["spanNulls"] is False


# --- provisioning ---


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_provisioning_examples_point_at_the_installed_dashboards(flavour):
    folder = DASHBOARDS / flavour / "provisioning"
    provider = yaml.safe_load((folder / "dashboards.yaml").read_text())
    assert provider["apiVersion"] == 1
    (p,) = provider["providers"]
    assert p["type"] == "file" and p["options"]["path"] == f"{INSTALL_DIR}/{flavour}"
    ds = yaml.safe_load((folder / "datasource.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == FLAVOURS[flavour] and source["access"] == "proxy"
    if flavour == "mongodb":  # the plugin has no minimum interval: the dashboards' variable
        assert source["jsonData"]["database"] == "portprobe"
        for board in BOARDS:
            (v,) = [v for v in load(flavour, board)["templating"]["list"]
                    if v["name"] == "check_interval"]
            assert grafana.interval_to_ms(v["query"]) > 0
    else:
        assert grafana.interval_to_ms(source["jsonData"]["timeInterval"]) > 0
    makefile = (SRCDIR / "Makefile.am").read_text()
    assert f"$(datadir)/portprobe/dashboards/{flavour}" in makefile


# --- Grafana's query expansion, against Grafana's own test cases ---

H = 3600000
# pkg/promlib/models/query_test.go: (expr, range, prom_parse arguments, expected expr, step)
PROM_CASES = [
    ("go_goroutines", 12 * H, dict(request_interval_ms=60000, ds_interval="15s"),
     "go_goroutines", 30000),
    ("go_goroutines", 1 * H, dict(request_interval_ms=60000, ds_interval="15s"),
     "go_goroutines", 15000),
    ("go_goroutines", 48 * H, dict(request_interval_ms=60000, ds_interval="240s"),
     "go_goroutines", 240000),
    ("rate(x[$__interval])", 48 * H, dict(interval_ms=60000, request_interval_ms=60000,
                                          ds_interval="15s"), "rate(x[2m])", 120000),
    ("rate(x[${__interval}])", 48 * H, dict(query_interval="1m", interval_ms=60000,
                                            request_interval_ms=60000, ds_interval="15s"),
     "rate(x[2m])", None),
    ("rate(x[$__interval_ms]) + rate(x[$__interval])", 48 * H,
     dict(interval_ms=60000, request_interval_ms=60000, ds_interval="15s"),
     "rate(x[120000]) + rate(x[2m])", None),
    ("rate(x[$__range])", 48 * H, dict(request_interval_ms=60000, ds_interval="15s"),
     "rate(x[172800s])", None),
    ("rate(x[${__range_s}s])", 48 * H, dict(request_interval_ms=60000, ds_interval="15s"),
     "rate(x[172800s])", None),
    ("rate(x[$__range_s])", 40, dict(request_interval_ms=60000, ds_interval="15s"),
     "rate(x[0])", None),
    ("rate(x[$__range_s])", 800, dict(request_interval_ms=60000, ds_interval="15s"),
     "rate(x[1])", None),
    ("rate(x[$__range_ms])", 20, dict(request_interval_ms=60000, ds_interval="15s"),
     "rate(x[20])", None),
    ("rate(x[$__rate_interval])", 5 * 60000, dict(query_interval="5m",
                                                  request_interval_ms=60000, ds_interval="15s"),
     "rate(x[20m0s])", None),
    ("rate(x[$__rate_interval])", 5 * 60000,
     dict(query_interval="$__rate_interval", request_interval_ms=60000, ds_interval="15s"),
     "rate(x[1m0s])", 60000),
    ("rate(x[$__rate_interval_ms]) + rate(x[$__rate_interval])", 48 * H,
     dict(request_interval_ms=120000, ds_interval="15s"),
     "rate(x[135000]) + rate(x[2m15s])", None),
    # TestRateInterval (maxDataPoints 12384), then the two with a dashboard's own request
    ("r[$__rate_interval]", H, dict(query_interval="150s", interval_ms=100000,
                                    request_interval_ms=100000, ds_interval="30s",
                                    max_data_points=12384), "r[10m0s]", 150000),
    ("r[$__rate_interval]", H, dict(query_interval="120s", interval_ms=120000,
                                    request_interval_ms=120000, ds_interval="30s",
                                    max_data_points=12384), "r[8m0s]", 120000),
    ("r[$__rate_interval]", H, dict(query_interval="30s", interval_ms=30000,
                                    request_interval_ms=30000, ds_interval="30s",
                                    max_data_points=12384), "r[2m0s]", 30000),
    ("r[$__rate_interval]", H, dict(query_interval="$__rate_interval", interval_ms=30000,
                                    request_interval_ms=30000, ds_interval="30s",
                                    max_data_points=12384), "r[2m0s]", 120000),
    ("r[$__rate_interval]", 48 * H, dict(query_interval="$__rate_interval",
                                         interval_ms=120000, request_interval_ms=120000,
                                         ds_interval="30s", max_data_points=12384),
     "r[2m30s]", 150000),
    ("r[$__rate_interval]", 48 * H, dict(query_interval="$__interval", interval_ms=120000,
                                         request_interval_ms=120000, ds_interval="15s",
                                         max_data_points=12384), "r[8m0s]", 120000),
    ("r[$__rate_interval]", H, dict(interval_ms=30000, request_interval_ms=30000,
                                    ds_interval="30s", max_data_points=1613), "r[2m0s]", 30000),
    ("r[$__rate_interval]", 5 * 60000, dict(interval_ms=15000, request_interval_ms=15000,
                                            ds_interval="15s", max_data_points=1055),
     "r[1m0s]", 15000),
]


@pytest.mark.parametrize("expr,range_ms,kwargs,want,step", PROM_CASES)
def test_promql_macros_expand_as_in_grafanas_tests(expr, range_ms, kwargs, want, step):
    got, got_step = grafana.prom_parse(expr, range_ms, **kwargs)
    assert got == want
    if step is not None:
        assert got_step == step


def test_prometheus_variable_escaping_as_in_grafanas_tests():
    # grafana-prometheus datasource.test.ts (prometheusSpecialCharsInLabelValues off)
    special = grafana.prometheus_special_regex_escape
    assert special("cryptodepression") == "cryptodepression"
    assert special("looking{glass") == "looking\\\\{glass"
    assert special("looking\\glass") == "looking\\\\\\\\glass"
    assert special("+looking$glass?") == "\\\\+looking\\\\$glass\\\\?"
    assert grafana.prometheus_regular_escape("looking'glass") == "looking\\\\'glass"
    assert grafana.prometheus_regular_escape("looking\\glass") == "looking\\\\glass"
    single = grafana.Variable("v")
    multi = grafana.Variable("v", multi=True)
    fmt = grafana.format_prometheus
    assert fmt("abc'$^*{}[]+?.()|", single) == "abc\\\\'$^*{}[]+?.()|"
    assert fmt("looking*glass", multi) == "looking\\\\*glass"
    assert fmt(["a|bc", "de|f"], multi) == "(a\\\\|bc|de\\\\|f)"
    assert fmt(["looking*glass"], multi) == "looking\\\\*glass"


def test_variables_expand_as_grafanas_template_service_does():
    target = grafana.Variable("target", multi=True, include_all=True, options=["a.b", "c/d"])
    variables = {"target": target}
    q = '"target" =~ /^$target$/'
    target.current = grafana.ALL  # All without a custom value: every option
    assert grafana.interpolate(q, variables, grafana.format_regex) == \
        '"target" =~ /^(a\\.b|c\\/d)$/'
    target.all_value = ".*"  # a custom all value goes in unformatted
    assert grafana.interpolate(q, variables, grafana.format_regex) == '"target" =~ /^.*$/'
    target.current = ["c/d"]
    assert grafana.interpolate(q, variables, grafana.format_regex) == '"target" =~ /^c\\/d$/'
    # a repeated panel sees one value; builtins are left for the backend
    assert grafana.interpolate("$target $__interval $timeFilter", variables,
                               grafana.format_regex, {"target": "x"}) == \
        "x $__interval $timeFilter"


def test_interval_and_influxql_macros():
    # rangeutil.ts: 6 h over 1000 points is 21.6 s, rounded to 20 s; a low limit wins
    assert grafana.calculate_interval(0, 6 * H, 1000) == (20000, "20s")
    assert grafana.calculate_interval(0, 60000, 1000, "10s") == (10000, "10s")
    assert grafana.calculate_interval(0, 10000, 1000, "250ms") == (250, "250ms")
    q = 'SELECT mean("up") FROM "p" WHERE $timeFilter GROUP BY time($__interval) fill(null)'
    assert grafana.influxql(q, {}, grafana.Range(1000, 61000, 1000), "10s") == (
        'SELECT mean("up") FROM "p" WHERE time >= 1000ms and time <= 61000ms '
        "GROUP BY time(10s) fill(null)")


def test_mongodb_variables_expand_as_grafanas_format_registry():
    # formatRegistry.ts: doublequote escapes " and joins with ","; csv joins; a repeated panel
    # sees one string; All without a custom value is every option
    target = grafana.Variable("target", multi=True, include_all=True, options=['a"b', "c"])
    location = grafana.Variable("location", multi=True, include_all=True,
                                options=['"fra1"', "null"])
    vs = {"target": target, "location": location}
    query = {"collection": "metrics", "queryText": (
        '[{"$match": {"t": {"$in": [${target:doublequote}]}, "l": {"$in": [${location:csv}]},'
        ' "time": {"$gte": {"$date": {"$numberLong": "$__from"}}}}},'
        ' {"$limit": $__interval_ms}]')}
    rng = grafana.Range(0, 6 * H, 1000)
    coll, pipeline = grafana.mongo(query, vs, rng, None, "10s")
    assert coll == "metrics"
    match = pipeline[0]["$match"]
    assert match["t"] == {"$in": ['a"b', "c"]} and match["l"] == {"$in": ["fra1", None]}
    assert match["time"]["$gte"].timestamp() == 0 and pipeline[1] == {"$limit": 20000}
    target.current, location.current = ["c"], []
    _, pipeline = grafana.mongo(query, vs, rng, None, "10s", {"target": "x"})
    assert pipeline[0]["$match"]["t"] == {"$in": ["x"]}  # the repeated panel's value
    assert pipeline[0]["$match"]["l"] == {"$in": []}
    assert grafana.format_mongo(["a", "b"], None) == "{a,b}"  # no format: glob
