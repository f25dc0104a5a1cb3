#!/usr/bin/python3
"""Writes portprobe's Grafana dashboards (dashboards/FLAVOUR/portprobe-*.json) from one description.

All flavours share layout, titles, units, thresholds and value mappings; only the queries
differ: InfluxQL over Telegraf's schema (influxdb), PromQL over collectd's write_prometheus names
(prometheus), aggregate pipelines of the haohanyang-mongodb-datasource plugin over
portprobe_mongodb's `metrics` and `events` (mongodb, dashboards/mongo_queries.py). Edit this
file, then run it; tests/integration/test_dashboards.py fails when the
committed JSON is not what it writes.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mongo_queries as mq  # noqa: E402
DAY = 86400
# Thresholds, as dashboards/README.md documents them.
CERT_STEPS = [("red", None), ("orange", 7 * DAY), ("yellow", 21 * DAY), ("green", 30 * DAY)]
UPTIME_STEPS = [("red", None), ("orange", 99), ("green", 99.9)]
DOWN_STEPS = [("green", None), ("red", 1)]
DEGRADED_STEPS = [("green", None), ("orange", 1)]
PLAIN_STEPS = [("text", None)]
DEGRADED_CERT_SECONDS = 21 * DAY  # "degraded": a certificate in its last 21 days

STATE_MAPPINGS = [
    {"type": "value", "options": {"1": {"text": "up", "color": "green", "index": 0},
                                  "0": {"text": "down", "color": "red", "index": 1}}},
    {"type": "special", "options": {"match": "null",
                                    "result": {"text": "no data", "color": "#8e8e8e",
                                               "index": 2}}},
]
GRADES = ["good", "warning", "bad", "critical"]
GRADE_COLOURS = ["green", "yellow", "orange", "red"]


def quality_mappings(numeric):
    """good/warning/bad/critical: strings in InfluxDB, 1..4 in collectd's portprobe_quality."""
    opts = {(str(i + 1) if numeric else g): {"text": g, "color": c, "index": i}
            for i, (g, c) in enumerate(zip(GRADES, GRADE_COLOURS))}
    return [{"type": "value", "options": opts}] + STATE_MAPPINGS[1:]


def thresholds(steps):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


class Flavour:
    """What differs between backends: datasource type, query shape, variables, link labels."""

    def __init__(self, name, ds_type, title):
        self.name, self.ds_type, self.title = name, ds_type, title
        self.ds = {"type": ds_type, "uid": "${datasource}"}

    def uid(self, board):
        return f"portprobe-{self.name}-{board}"


class Influx(Flavour):
    target_label = "target"
    # every variable filters every query (Telegraf's host tag is the probe host)
    FILTER = ('"host" =~ /^$probe$/ AND "location" =~ /^$location$/ AND '
              '"scheme" =~ /^$scheme$/ AND "target" =~ /^$target$/')

    def __init__(self):
        super().__init__("influxdb", "influxdb", "InfluxDB")

    def q(self, text, alias="", table=False, **_):
        t = {"datasource": self.ds, "rawQuery": True, "query": text,
             "resultFormat": "table" if table else "time_series"}
        if alias:
            t["alias"] = alias
        return t

    def where(self, measurement="portprobe", extra=""):
        return f'FROM "{measurement}" WHERE $timeFilter AND {self.FILTER}{extra}'

    def variables(self):
        def tag(name, label, key, where):
            query = f'SHOW TAG VALUES FROM "portprobe" WITH KEY = "{key}"'
            if where:
                query += " WHERE " + where
            return query_variable(self, name, label, query)
        return [
            tag("probe", "Probe host", "host", ""),
            tag("location", "Location", "location", '"host" =~ /^$probe$/'),
            tag("scheme", "Scheme", "scheme",
                '"host" =~ /^$probe$/ AND "location" =~ /^$location$/'),
            tag("target", "Target", "target",
                '"host" =~ /^$probe$/ AND "location" =~ /^$location$/ AND '
                '"scheme" =~ /^$scheme$/'),
        ]

    def annotation(self):
        return {"name": "Transitions", "datasource": self.ds, "enable": True,
                "iconColor": "orange",
                "query": f'SELECT "message", "kind", "severity" {self.where("portprobe_event")}',
                "textColumn": "message", "tagsColumn": "kind,severity"}


class Prom(Flavour):
    target_label = "portprobe"
    SEL = 'instance=~"$probe",location=~"$location",portprobe=~"$target"'

    def __init__(self):
        super().__init__("prometheus", "prometheus", "Prometheus")

    def q(self, expr, legend="", table=False, instant=False):
        return {"datasource": self.ds, "editorMode": "code", "expr": expr,
                "legendFormat": legend, "instant": instant or table,
                "range": not (instant or table),
                "format": "table" if table else "time_series"}

    def m(self, name, type_=None):
        """A selector of collectd_portprobe_NAME{type="TYPE", <the variables>}."""
        sel = (f'type="{type_}",' if type_ else "") + self.SEL
        return f"collectd_portprobe_{name}{{{sel}}}"

    def variables(self):
        up = 'collectd_portprobe_bool{type="up"'
        return [
            query_variable(self, "probe", "Probe host", f"label_values({up}}}, instance)"),
            query_variable(self, "location", "Location",
                           f'label_values({up},instance=~"$probe"}}, location)'),
            query_variable(self, "target", "Target",
                           f'label_values({up},instance=~"$probe",location=~"$location"}}, '
                           "portprobe)"),
        ]

    def annotation(self):
        # no events in Prometheus: the minutes with a failed check, as regions whose ends are
        # the transitions (a window per step, so no check falls between two)
        return {"name": "Down", "datasource": self.ds, "enable": True, "iconColor": "red",
                "step": "60s",
                "expr": f'1 - min_over_time({self.m("bool", "up")}[$__interval])',
                "titleFormat": "{{portprobe}} down", "tagKeys": "portprobe,instance",
                "textFormat": "a check of {{portprobe}} failed (probe {{instance}})"}


class Mongo(Flavour):
    """haohanyang-mongodb-datasource: a query is a collection and an aggregate pipeline as JSON
    text (dashboards/mongo_queries.py); a result is one table, split per target by Grafana's
    "Partition by values" where a panel draws one series per target."""
    target_label = "target"

    def __init__(self):
        super().__init__("mongodb", "haohanyang-mongodb-datasource", "MongoDB")
        Mongo.instance = self

    def q(self, collection, pipeline, **_):
        return {"datasource": self.ds, "collection": collection, "queryLanguage": "json",
                "queryText": mq.text(pipeline)}

    def overview_queries(self):
        return {k: [dict(collection=c, pipeline=p) for c, p in v]
                for k, v in mq.overview().items()}

    def detail_queries(self):
        return {k: [dict(collection=c, pipeline=p) for c, p in v]
                for k, v in mq.detail().items()}

    def variables(self):
        return [mongo_variable(self, name, label, p) for name, label, p in mq.variables()] + [
            {"type": "textbox", "name": "check_interval", "label": "Check interval",
             "description": "collectd's Interval: the shortest bucket a panel asks for (the "
             "plugin has no data source minimum interval)", "query": "10s",
             "current": {"text": "10s", "value": "10s"}, "hide": 0}]

    def annotation(self):
        return {"name": "Transitions", "datasource": self.ds, "enable": True,
                "iconColor": "orange", "target": {
                    "refId": "Anno", **self.q("events", mq.annotation())}}

    def transform(self, title):
        return mq.TRANSFORMS.get(title, [])

    def adjust(self, panel):
        """Per-row stats, series split per target, names from the rows' columns."""
        defaults = panel["fieldConfig"]["defaults"]
        title = panel["title"]
        if title in mq.TRANSFORMS:
            panel["transformations"] = mq.TRANSFORMS[title] + panel.get("transformations", [])
        if title in mq.DISPLAY_NAMES:
            defaults["displayName"] = mq.DISPLAY_NAMES[title]
        if panel["type"] == "stat" and title in mq.PER_ROW:
            panel["options"]["reduceOptions"] = {"values": True, "calcs": [],
                                                 "fields": mq.PER_ROW[title]}
        if "links" in defaults:
            defaults["links"] = mongo_link()
        if "$__interval_ms" in json.dumps(panel["targets"]):
            panel["interval"] = "${check_interval}"  # the panel's Min interval


def mongo_variable(fl, name, label, pipeline):
    """A query variable of the MongoDB plugin: rows with `value` (and `text`); no custom all
    value, so All is every option (a JSON list of them in the pipelines)."""
    query = {"refId": f"var-{name}", "collection": "metrics", "queryText": mq.text(pipeline)}
    return {"type": "query", "name": name, "label": label, "datasource": fl.ds,
            "query": query, "definition": query["queryText"], "refresh": 2, "sort": 1,
            "regex": "", "multi": True, "includeAll": True,
            "current": {"text": ["All"], "value": ["$__all"]}, "options": [], "hide": 0}


def query_variable(fl, name, label, query):
    return {"type": "query", "name": name, "label": label, "datasource": fl.ds,
            "query": query, "definition": query, "refresh": 2, "sort": 1, "regex": "",
            "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"text": ["All"], "value": ["$__all"]}, "options": [], "hide": 0}


def datasource_variable(fl):
    return {"type": "datasource", "name": "datasource", "label": "Data source",
            "query": fl.ds_type, "regex": "", "refresh": 1, "hide": 0, "multi": False,
            "includeAll": False, "current": {}, "options": []}


class Board:
    """Panels laid out left to right, top to bottom, on Grafana's 24-column grid."""

    def __init__(self, fl):
        self.fl, self.panels, self.x, self.y, self.row_h = fl, [], 0, 0, 0

    def add(self, kind, title, desc, w, h, targets, unit, steps=PLAIN_STEPS, mappings=(),
            options=None, custom=None, overrides=(), links=None, decimals=None, no_value=None,
            **extra):
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        for ref, t in zip("ABCDEFGH", targets):
            t["refId"] = ref
        defaults = {"unit": unit, "thresholds": thresholds(steps), "mappings": list(mappings),
                    "color": {"mode": "thresholds"}}
        if custom:
            defaults["custom"] = custom
        if links:
            defaults["links"] = links
        if decimals is not None:
            defaults["decimals"] = decimals
        if no_value is not None:
            defaults["noValue"] = no_value  # an empty answer (nothing counted) reads 0
        panel = {"id": len(self.panels) + 1, "type": kind, "title": title, "description": desc,
                 "datasource": self.fl.ds,
                 "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
                 "targets": targets,
                 "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
                 "options": options or {}}
        panel.update(extra)
        if isinstance(self.fl, Mongo):
            self.fl.adjust(panel)
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)
        return panel

    def dashboard(self, board, title, description):
        fl = self.fl
        return {
            "uid": fl.uid(board), "title": f"{title} ({fl.title})", "description": description,
            "tags": ["portprobe", fl.name], "editable": True, "graphTooltip": 1,
            "schemaVersion": 39, "version": 1, "refresh": "1m",
            "time": {"from": "now-6h", "to": "now"}, "timezone": "",
            "links": [{"title": "portprobe", "type": "dashboards", "tags": ["portprobe"],
                       "asDropdown": True, "includeVars": True, "keepTime": True}],
            "annotations": {"list": [fl.annotation()]},
            "templating": {"list": [datasource_variable(fl)] + fl.variables()},
            "panels": self.panels,
        }


def stat_options(text_mode="value", color_mode="value"):
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": color_mode, "graphMode": "none", "textMode": text_mode,
            "justifyMode": "auto", "orientation": "auto"}


TIMELINE_OPTIONS = {"mergeValues": True, "showValue": "never", "alignValue": "left",
                    "rowHeight": 0.9, "legend": {"showLegend": False}}
TIMELINE_CUSTOM = {"fillOpacity": 80, "lineWidth": 0, "spanNulls": False}
SERIES_CUSTOM = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "auto",
                 "pointSize": 4, "spanNulls": False}


def series_options():
    return {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"}}


def table_options(sort_by=None, desc=False):
    opts = {"showHeader": True, "cellHeight": "sm"}
    if sort_by:
        opts["sortBy"] = [{"displayName": sort_by, "desc": desc}]
    return opts


def detail_link(fl):
    url = (f"/d/{fl.uid('target')}?${{datasource:queryparam}}&${{probe:queryparam}}&"
           f"${{location:queryparam}}&var-target=${{__field.labels.{fl.target_label}}}&"
           "${__url_time_range}")
    return [{"title": "Target detail", "url": url}]


def mongo_link():
    """A stat or table row of the MongoDB flavour: the row's `target` column, not a label."""
    fl = Mongo.instance
    url = (f"/d/{fl.uid('target')}?${{datasource:queryparam}}&${{location:queryparam}}&"
           "var-target=${__data.fields.target}&${__url_time_range}")
    return [{"title": "Target detail", "url": url}]


def by_name(name, **props):
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": k.replace("__", "."), "value": v} for k, v in props.items()]}


# --- the queries, per flavour ---

def overview_queries(fl):
    """Panel title -> list of query arguments for fl.q()."""
    if isinstance(fl, Mongo):
        return fl.overview_queries()
    if isinstance(fl, Influx):
        w, we = fl.where(), fl.where("portprobe_event")
        last_up = f'SELECT last("up") {w} GROUP BY "target"'
        return {
            "Status": [dict(text=last_up, alias="$tag_target")],
            "Targets": [dict(text=f'SELECT count("last") FROM ({last_up})')],
            "Down now": [dict(text=f'SELECT count("last") FROM ({last_up}) WHERE "last" = 0')],
            "Degraded": [dict(text=(
                'SELECT count("up") FROM (SELECT last("up") AS "up", last("quality") AS '
                f'"quality", last("cert_expiry") AS "cert" {w} GROUP BY "target") WHERE '
                f"\"up\" = 1 AND (\"quality\" <> 'good' OR \"cert\" < {DEGRADED_CERT_SECONDS})"))],
            "Availability": [dict(text=f'SELECT mean("up") * 100 {w}')],
            "State timeline": [dict(text=f'SELECT min("up") {w} GROUP BY time($__interval), '
                                         '"target" fill(null)', alias="$tag_target")],
            "Uptime": [dict(text=(f'SELECT mean("up") * 100 AS "{p}" FROM "portprobe" WHERE '
                                  f'time > now() - {p} AND {fl.FILTER} GROUP BY "target"'),
                            table=True) for p in ("24h", "7d", "30d")],
            "Certificates": [dict(text=f'SELECT last("cert_expiry") AS "time left" {w} '
                                       'GROUP BY "target"', table=True)],
            "Response time": [dict(text=f'SELECT mean("response_time") {w} GROUP BY '
                                        'time($__interval), "target" fill(null)',
                                   alias="$tag_target")],
            "Recent transitions": [dict(text=(
                'SELECT "target", "kind", "severity", "state", "message", "outage_seconds" '
                f'{we} ORDER BY time DESC LIMIT 100'), table=True)],
        }
    up = fl.m("bool", "up")
    last_up = f"last_over_time({up}[$__range])"
    return {
        "Status": [dict(expr=last_up, legend="{{portprobe}}", instant=True)],
        "Targets": [dict(expr=f"count({last_up})", instant=True)],
        "Down now": [dict(expr=f"count({last_up} == 0) or vector(0)", instant=True)],
        "Degraded": [dict(expr=(
            "count(count by (instance, portprobe) (("
            f'last_over_time({fl.m("portprobe_quality")}[$__range]) > 1 or '
            f'last_over_time({fl.m("timeleft", "cert_expiry")}[$__range]) < '
            f"{DEGRADED_CERT_SECONDS}) and on(instance, portprobe) {last_up} == 1)) "
            "or vector(0)"), instant=True)],
        "Availability": [dict(expr=f"avg(avg_over_time({up}[$__range])) * 100", instant=True)],
        "State timeline": [dict(expr=f"min_over_time({up}[$__interval])",
                                legend="{{portprobe}}")],
        "Uptime": [dict(expr=f"avg_over_time({up}[{p}]) * 100", table=True)
                   for p in ("24h", "7d", "30d")],
        "Certificates": [dict(expr=f'last_over_time({fl.m("timeleft", "cert_expiry")}'
                                   "[$__range])", table=True)],
        "Response time": [dict(expr=f'avg_over_time({fl.m("response_time", "total")}'
                                    "[$__interval])", legend="{{portprobe}}")],
        "Recent transitions": [dict(expr=f"changes({up}[$__range])", table=True),
                               dict(expr=f'last_over_time({fl.m("portprobe_flapping")}'
                                         "[$__range])", table=True)],
    }


def uptime_transform(fl):
    """The three uptime queries side by side, one row per target."""
    if isinstance(fl, Mongo):
        return fl.transform("Uptime")
    if isinstance(fl, Influx):
        return [{"id": "joinByField", "options": {"byField": "target", "mode": "outer"}},
                {"id": "organize", "options": {"excludeByName": {
                    "Time": True, "Time 1": True, "Time 2": True, "Time 3": True}}}]
    return [{"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True, "job": True, "__name__": True, "type": True},
                "renameByName": {"portprobe": "target", "instance": "probe", "Value #A": "24h",
                                 "Value #B": "7d", "Value #C": "30d"}}}]


def cert_transform(fl):
    if isinstance(fl, Mongo):
        return fl.transform("Certificates")
    if isinstance(fl, Influx):
        return [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]
    return [{"id": "organize", "options": {
        "excludeByName": {"Time": True, "job": True, "__name__": True, "type": True},
        "renameByName": {"portprobe": "target", "instance": "probe", "Value": "time left"}}}]


def transitions_panel_args(fl):
    """Title, description, transformations and overrides of the transitions table."""
    if isinstance(fl, (Influx, Mongo)):
        return ("Recent transitions",
                "The last 100 transitions (portprobe_event): DOWN confirmed, UP again with the "
                "outage's length, flapping, quality, certificate, slow.",
                [{"id": "organize", "options": {"renameByName": {"outage_seconds": "outage"}}}]
                if isinstance(fl, Influx) else [], [by_name("outage", unit="s")],
                "Time" if isinstance(fl, Influx) else "time", True)
    return ("Recent transitions",
            "State changes of each target's checks in the range and its flapping percent "
            "(collectd's notifications do not reach Prometheus: the changes are counted from "
            "bool-up).",
            [{"id": "merge", "options": {}},
             {"id": "organize", "options": {
                 "excludeByName": {"Time": True, "job": True, "__name__": True, "type": True},
                 "renameByName": {"portprobe": "target", "instance": "probe",
                                  "Value #A": "state changes", "Value #B": "flapping"}}}],
            [by_name("flapping", unit="percent")], "state changes", True)


def overview(fl):
    b, qs = Board(fl), overview_queries(fl)
    qry = lambda title: [fl.q(**a) for a in qs[title]]  # noqa: E731
    b.add("stat", "Status", "Each target's latest check in the range: up, down; a click opens "
          "the target.", 16, 6, qry("Status"), "none", [("red", None), ("green", 1)],
          STATE_MAPPINGS, stat_options("value_and_name", "background"),
          links=detail_link(fl))
    b.add("stat", "Targets", "Targets with a check in the range.", 4, 3, qry("Targets"), "none",
          [("blue", None)], options=stat_options(), no_value="0")
    b.add("stat", "Down now", "Targets whose latest check failed.", 4, 3, qry("Down now"),
          "none", DOWN_STEPS, options=stat_options(color_mode="background"), no_value="0")
    b.x, b.y = 16, 3
    b.add("stat", "Degraded", "Up, but ICMP quality worse than good or a certificate in its "
          "last 21 days.", 4, 3, qry("Degraded"), "none", DEGRADED_STEPS,
          options=stat_options(color_mode="background"), no_value="0")
    b.add("stat", "Availability", "Share of checks that were up in the range, all targets.",
          4, 3, qry("Availability"), "percent", UPTIME_STEPS, options=stat_options(),
          decimals=2)
    b.x, b.y, b.row_h = 0, 6, 0
    b.add("state-timeline", "State timeline", "Up, down, and no data where no check ran "
          "(gaps stay gaps); a bucket with any failed check is down.", 24, 8,
          qry("State timeline"), "none", [("red", None), ("green", 1)], STATE_MAPPINGS,
          TIMELINE_OPTIONS, TIMELINE_CUSTOM)
    b.add("table", "Uptime", "Share of checks that were up over the last 24 hours, 7 days and "
          "30 days; time without checks counts neither way.", 12, 8, qry("Uptime"), "percent",
          UPTIME_STEPS, options=table_options("24h"),
          custom={"cellOptions": {"type": "color-text"}, "align": "auto"},
          transformations=uptime_transform(fl), decimals=2)
    b.add("table", "Certificates", "Time left on each certificate seen in the range, soonest "
          "first; negative once expired.", 12, 8, qry("Certificates"), "s", CERT_STEPS,
          options=table_options("time left"),
          custom={"cellOptions": {"type": "color-background"}, "align": "auto"},
          transformations=cert_transform(fl))
    b.add("timeseries", "Response time", "Whole check, per target; transitions are "
          "annotations.", 24, 8, qry("Response time"), "s", custom=SERIES_CUSTOM,
          options=series_options())
    title, desc, tf, ov, sort_by, desc_order = transitions_panel_args(fl)
    b.add("table", title, desc, 24, 8, qry("Recent transitions"), "none",
          options=table_options(sort_by, desc_order), overrides=ov, transformations=tf)
    return b.dashboard("overview", "portprobe overview",
                       "Every target at a glance: status, counts, uptime, timeline, "
                       "certificates, transitions.")


def detail_queries(fl):
    if isinstance(fl, Mongo):
        return fl.detail_queries()
    if isinstance(fl, Influx):
        w = fl.where()
        tgrp = 'GROUP BY time($__interval), "target" fill(null)'
        return {
            "State": [dict(text=f'SELECT last("up") {w} GROUP BY "target"', alias="$tag_target")],
            "Uptime in range": [dict(text=f'SELECT mean("up") * 100 {w} GROUP BY "target"',
                                     alias="$tag_target")],
            "Certificate time left": [dict(text=f'SELECT last("cert_expiry") {w} '
                                                'GROUP BY "target"', alias="$tag_target")],
            "Latest check": [dict(text=(f'SELECT last("up") AS "up", "result", "phase", '
                                        f'"detail", "excerpt" {w} GROUP BY "target"'),
                                  table=True)],
            "State timeline": [dict(text=f'SELECT min("up") {w} {tgrp}', alias="$tag_target")],
            "Response time by phase": [dict(text=(
                'SELECT mean("dns_time") AS "dns", mean("connect_time") AS "connect", '
                'mean("tls_time") AS "tls", mean("first_byte_time") AS "first byte", '
                f'mean("response_time") AS "total" {w} {tgrp}'), alias="$tag_target $col")],
            "Ping $target": [dict(text=(
                'SELECT mean("rtt_avg") * 1000 AS "avg", min("rtt_min") * 1000 AS "min", '
                'max("rtt_max") * 1000 AS "max", mean("loss_percent") AS "loss" '
                f'{w} GROUP BY time($__interval) fill(null)'), alias="$col")],
            "Jitter": [dict(text=f'SELECT mean("jitter") * 1000 {w} {tgrp}',
                            alias="$tag_target")],
            "Quality": [dict(text=f'SELECT last("quality") {w} {tgrp}', alias="$tag_target")],
            "Outages": [dict(text=(
                'SELECT "target", "state", "result", "outage_seconds", "message" '
                f'{fl.where("portprobe_event")} AND "kind" = \'state\' ORDER BY time DESC'),
                table=True)],
        }
    up = fl.m("bool", "up")
    rng = lambda e: f"{e}[$__range]"  # noqa: E731
    iv = lambda n, t=None: f"avg_over_time({fl.m(n, t)}[$__interval])"  # noqa: E731
    return {
        "State": [dict(expr=f"last_over_time({rng(up)})", legend="{{portprobe}}",
                       instant=True)],
        "Uptime in range": [dict(expr=f"avg_over_time({rng(up)}) * 100", legend="{{portprobe}}",
                                 instant=True)],
        "Certificate time left": [dict(
            expr=f'last_over_time({rng(fl.m("timeleft", "cert_expiry"))})',
            legend="{{portprobe}}", instant=True)],
        "Latest check": [dict(expr=f"last_over_time({rng(up)})", table=True),
                         dict(expr=f'last_over_time({rng(fl.m("portprobe_http_status"))})',
                              table=True)],
        "State timeline": [dict(expr=f"min_over_time({up}[$__interval])",
                                legend="{{portprobe}}")],
        "Response time by phase": [dict(expr=iv("response_time"),
                                        legend="{{portprobe}} {{type}}")],
        "Ping $target": [dict(expr=iv("ping"), legend="avg"),
                         dict(expr=f'{iv("ping")} - {iv("ping_stddev")}', legend="avg - stddev"),
                         dict(expr=f'{iv("ping")} + {iv("ping_stddev")}', legend="avg + stddev"),
                         dict(expr=f'{iv("ping_droprate")} * 100', legend="loss")],
        "Jitter": [dict(expr=iv("portprobe_jitter"), legend="{{portprobe}}")],
        "Quality": [dict(expr=f'max_over_time({fl.m("portprobe_quality")}[$__interval])',
                         legend="{{portprobe}}")],
        "Outages": [dict(expr=f"count_over_time({rng(up)}) - sum_over_time({rng(up)})",
                         table=True),
                    dict(expr=f"changes({rng(up)})", table=True)],
    }


def ping_overrides(fl):
    low, high = ("min", "max") if isinstance(fl, Influx) else ("avg - stddev", "avg + stddev")
    return [by_name(high, custom__fillBelowTo=low, custom__lineWidth=0, custom__fillOpacity=25),
            by_name(low, custom__lineWidth=0),
            by_name("loss", unit="percent", min=0, max=100, custom__axisPlacement="right",
                    custom__drawStyle="bars", custom__fillOpacity=40, color={
                        "mode": "fixed", "fixedColor": "red"})]


def detail_tables(fl):
    """Transformations and overrides of the detail dashboard's two tables."""
    if isinstance(fl, Mongo):
        return [], [by_name("up", mappings=STATE_MAPPINGS)], [], [by_name("outage", unit="s")]
    if isinstance(fl, Influx):
        latest = [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]
        outages = [{"id": "organize", "options": {"renameByName": {"outage_seconds": "outage"}}}]
        return latest, [by_name("up", mappings=STATE_MAPPINGS)], outages, [
            by_name("outage", unit="s")]
    drop = {"Time": True, "job": True, "__name__": True, "type": True}
    ren = {"portprobe": "target", "instance": "probe"}
    latest = [{"id": "merge", "options": {}}, {"id": "organize", "options": {
        "excludeByName": drop, "renameByName": {**ren, "Value #A": "up",
                                                "Value #B": "http status"}}}]
    outages = [{"id": "merge", "options": {}}, {"id": "organize", "options": {
        "excludeByName": drop, "renameByName": {**ren, "Value #A": "rounds down",
                                                "Value #B": "state changes"}}}]
    return latest, [by_name("up", mappings=STATE_MAPPINGS)], outages, []


def detail(fl):
    b, qs = Board(fl), detail_queries(fl)
    qry = lambda title: [fl.q(**a) for a in qs[title]]  # noqa: E731
    b.add("stat", "State", "The latest check in the range.", 6, 4, qry("State"), "none",
          [("red", None), ("green", 1)], STATE_MAPPINGS,
          stat_options("value_and_name", "background"))
    b.add("stat", "Uptime in range", "Share of checks that were up in the range.", 6, 4,
          qry("Uptime in range"), "percent", UPTIME_STEPS, options=stat_options(
              "value_and_name"), decimals=2)
    b.add("stat", "Certificate time left", "Negative once expired.", 6, 4,
          qry("Certificate time left"), "s", CERT_STEPS,
          options=stat_options("value_and_name", "background"))
    latest_tf, latest_ov, outages_tf, outages_ov = detail_tables(fl)
    b.add("table", "Latest check", "The latest check: result class, phase, detail, what the "
          "server said." if isinstance(fl, Influx) else "The latest check and HTTP status "
          "(collectd sends no result class).", 6, 4, qry("Latest check"), "none",
          options=table_options(), transformations=latest_tf, overrides=latest_ov)
    b.add("state-timeline", "State timeline", "Up, down, and no data where no check ran.", 24,
          5, qry("State timeline"), "none", [("red", None), ("green", 1)], STATE_MAPPINGS,
          TIMELINE_OPTIONS, TIMELINE_CUSTOM)
    b.add("timeseries", "Response time by phase", "dns, connect, tls, first byte and the whole "
          "check, each where the check measured it.", 24, 8, qry("Response time by phase"), "s",
          custom=SERIES_CUSTOM, options=series_options())
    band = ("min/max band" if isinstance(fl, Influx) else "avg ± stddev band (collectd sends no "
            "min/max)")
    b.add("timeseries", "Ping $target", f"ICMP: average round trip with a {band}; loss on the "
          "right axis.", 12, 8, qry("Ping $target"), "ms", custom=SERIES_CUSTOM,
          options=series_options(), overrides=ping_overrides(fl), repeat="target",
          repeatDirection="h", maxPerRow=2)
    b.add("timeseries", "Jitter", "ICMP: mean difference of successive round trips.", 12, 8,
          qry("Jitter"), "ms", custom=SERIES_CUSTOM, options=series_options())
    b.add("state-timeline", "Quality", "ICMP quality grade: good, warning, bad, critical.", 12,
          6, qry("Quality"), "none", mappings=quality_mappings(not isinstance(fl, Influx)),
          options=TIMELINE_OPTIONS, custom=TIMELINE_CUSTOM)
    b.add("table", "Outages", "DOWN confirmed and UP again, with the outage's length."
          if not isinstance(fl, Prom) else "Rounds down and state changes in the range "
          "(Prometheus has no events).", 12, 6, qry("Outages"), "none",
          options=table_options(), transformations=outages_tf, overrides=outages_ov)
    return b.dashboard("target", "portprobe target",
                       "One or more targets in detail: state, uptime, phases, ping, jitter, "
                       "quality, certificate, outages.")


def main(check=False):
    stale = []
    for fl in (Influx(), Prom(), Mongo()):
        for board in (overview(fl), detail(fl)):
            path = HERE / fl.name / f"{board['uid'].replace(f'-{fl.name}', '')}.json"
            text = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
            if check:
                if not path.exists() or path.read_text() != text:
                    stale.append(str(path))
            else:
                path.write_text(text)
    return stale


if __name__ == "__main__":
    STALE = main(check="--check" in sys.argv[1:])
    for name in STALE:
        print(f"{name} is not what dashboards/generate.py writes", file=sys.stderr)
    sys.exit(1 if STALE else 0)
