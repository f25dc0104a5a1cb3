"""The MongoDB flavour's aggregate pipelines, over what portprobe_mongodb writes (`metrics`,
`events`; mongodb-plugin/README.md), for the haohanyang-mongodb-datasource Grafana plugin.

Each `$match` is equalities (`$in` for multi-value variables) and the dashboard's time range on
exactly the keys of one of the plugin's indexes (series_time, type_time, state_time), as the
queries of portprobe-report are. Grafana's template service fills `$__from` / `$__to` (ms),
`$__interval_ms` and the variables: ${target:doublequote} gives "a","b"; a location's value is
already a JSON literal ("fra1", or null for targets without a location label), given as csv.
Field references never name a dashboard variable (`$target` would be replaced by Grafana).
"""

import json

DAY_MS = 86400000
DEGRADED_CERT_SECONDS = 21 * 86400
KINDS = ["state", "flapping", "quality", "certificate", "slow"]
PHASES = ["dns", "connect", "tls", "first_byte", "total"]
# placeholders written as JSON strings, then replaced by unquoted Grafana syntax
_TARGETS, _LOCATIONS, _INTERVAL = "@TARGETS@", "@LOCATIONS@", "@INTERVAL_MS@"
_SCHEMES, _PROBES = "@SCHEMES@", "@PROBES@"
FROM = {"$date": {"$numberLong": "$__from"}}
TO = {"$date": {"$numberLong": "$__to"}}


def text(pipeline):
    """The pipeline as the JSON text a panel's queryText holds."""
    out = "[\n" + ",\n".join("  " + json.dumps(stage, ensure_ascii=False)
                             for stage in pipeline) + "\n]"
    return (out.replace(f'"{_TARGETS}"', "${target:doublequote}")
            .replace(f'"{_LOCATIONS}"', "${location:csv}")
            .replace(f'"{_SCHEMES}"', "${scheme:csv}")
            .replace(f'"{_PROBES}"', "${probe:csv}")
            .replace(f'"{_INTERVAL}"', "$__interval_ms"))


def series(type_, instance, time=None):
    """$match on index series_time: one series of the selected targets and locations."""
    return {"$match": {
        "meta.plugin": "portprobe", "meta.type": type_, "meta.type_instance": instance,
        "meta.plugin_instance": {"$in": [_TARGETS]},
        "meta.labels.location": {"$in": [_LOCATIONS]},
        "time": time or {"$gte": FROM, "$lt": TO}}}


def events(kinds=None):
    """$match on index state_time: the selected targets' events of these kinds."""
    return {"$match": {"plugin": "portprobe", "kind": {"$in": kinds or KINDS},
                       "plugin_instance": {"$in": [_TARGETS]},
                       "labels.location": {"$in": [_LOCATIONS]},
                       "time": {"$gte": FROM, "$lt": TO}}}


def last_per_target(name):
    """The newest value of each target: [{target, NAME}], by target."""
    return [{"$sort": {"time": 1}},
            {"$group": {"_id": "$meta.plugin_instance", name: {"$last": "$value"}}},
            {"$project": {"_id": 0, "target": "$_id", name: 1}}, {"$sort": {"target": 1}}]


def bucket():
    """The start of the check's $__interval_ms bucket, counted from the range's start."""
    return {"$add": [FROM, {"$multiply": [{"$floor": {"$divide": [
        {"$subtract": ["$time", FROM]}, _INTERVAL]}}, _INTERVAL]}]}


def per_bucket(key, accumulators, fields):
    """Group by (key, bucket), one row per bucket; buckets without a check are added as rows
    without values ($densify over the range), so a panel shows them as gaps, not as the last
    value before them. No check of a target in the range: no rows."""
    project = {"_id": 0, "time": "$_id.b", "target": "$_id.k"}
    project.update({f: 1 for f in fields})
    return [{"$group": {"_id": {"k": key, "b": bucket()}, **accumulators}},
            {"$project": project},
            {"$densify": {"field": "time", "partitionByFields": ["target"], "range": {
                "step": _INTERVAL, "unit": "millisecond", "bounds": [FROM, TO]}}},
            # with no check at all, SecantusDB densifies the range without a partition
            {"$match": {"target": {"$type": "string"}}},
            {"$sort": {"time": 1, "target": 1}}]


def latest_of(types):
    """The newest value of several series per target, one column each: [{target, col...}]."""
    match = {"$match": {
        "meta.plugin": "portprobe", "meta.type": {"$in": [t for t, _, _ in types]},
        "meta.type_instance": {"$in": sorted({i for _, i, _ in types})},
        "meta.plugin_instance": {"$in": [_TARGETS]},
        "meta.labels.location": {"$in": [_LOCATIONS]},
        "time": {"$gte": FROM, "$lt": TO}}}
    cols = {c: {"$max": {"$cond": [{"$and": [{"$eq": ["$_id.y", t]}, {"$eq": ["$_id.i", i]}]},
                                   "$v", None]}} for t, i, c in types}
    return [match, {"$sort": {"time": 1}},
            {"$group": {"_id": {"t": "$meta.plugin_instance", "y": "$meta.type",
                                "i": "$meta.type_instance"}, "v": {"$last": "$value"}}},
            {"$group": {"_id": "$_id.t", **cols}},
            {"$project": {"_id": 0, "target": "$_id", **{c: 1 for _, _, c in types}}},
            {"$sort": {"target": 1}}]


UP = ("bool", "up")


def overview():
    """Panel title -> [(collection, pipeline)]."""
    last_up = [series(*UP)] + last_per_target("up")
    degraded = latest_of([("bool", "up", "up"), ("portprobe_quality", "", "quality"),
                          ("timeleft", "cert_expiry", "cert")])
    degraded += [{"$match": {"up": 1, "$or": [{"quality": {"$gt": 1}},
                                              {"cert": {"$lt": DEGRADED_CERT_SECONDS}}]}},
                 {"$count": "degraded"}]
    # the last 30 days before the range's end: the index range ends at $__to, the rest of the
    # window is a second $match (Grafana's macros hold no arithmetic)
    uptime = [series(*UP, time={"$lt": TO}),
              {"$match": {"$expr": {"$gte": ["$time", {"$subtract": [TO, 30 * DAY_MS]}]}}},
              {"$group": {"_id": "$meta.plugin_instance", **{
                  p: {"$avg": {"$cond": [{"$gte": ["$time", {"$subtract": [TO, d * DAY_MS]}]},
                                         {"$multiply": ["$value", 100]}, None]}}
                  for p, d in (("24h", 1), ("7d", 7), ("30d", 30))}}},
              {"$project": {"_id": 0, "target": "$_id", "24h": 1, "7d": 1, "30d": 1}},
              {"$sort": {"target": 1}}]
    return {
        "Status": [("metrics", last_up)],
        "Targets": [("metrics", last_up + [{"$count": "targets"}])],
        "Down now": [("metrics", last_up + [{"$match": {"up": 0}}, {"$count": "down"}])],
        "Degraded": [("metrics", degraded)],
        "Availability": [("metrics", [series(*UP), {"$group": {
            "_id": None, "availability": {"$avg": {"$multiply": ["$value", 100]}}}},
            {"$project": {"_id": 0}}])],
        "State timeline": [("metrics", [series(*UP)] + per_bucket(
            "$meta.plugin_instance", {"up": {"$min": "$value"}}, ["up"]))],
        "Uptime": [("metrics", uptime)],
        "Certificates": [("metrics", [series("timeleft", "cert_expiry")] +
                          last_per_target("time left")[:-1] + [{"$sort": {"time left": 1}}])],
        "Response time": [("metrics", [series("response_time", "total")] + per_bucket(
            "$meta.plugin_instance", {"response time": {"$avg": "$value"}},
            ["response time"]))],
        "Recent transitions": [("events", [events(), {"$sort": {"time": -1}}, {"$limit": 100},
                                           {"$project": TRANSITION_FIELDS}])],
    }


TRANSITION_FIELDS = {"_id": 0, "time": 1, "target": "$plugin_instance", "kind": 1,
                     "severity": 1, "state": "$meta.state", "result": "$meta.result",
                     "message": 1, "outage": "$meta.outage_seconds"}


def detail():
    ping = {"$match": {
        "meta.plugin": "portprobe", "meta.type": {"$in": ["ping", "ping_stddev",
                                                         "ping_droprate"]},
        "meta.type_instance": "", "meta.plugin_instance": {"$in": [_TARGETS]},
        "meta.labels.location": {"$in": [_LOCATIONS]}, "time": {"$gte": FROM, "$lt": TO}}}
    of = lambda t, e: {"$avg": {"$cond": [{"$eq": ["$meta.type", t]}, e, None]}}  # noqa: E731
    ping_pipeline = [ping] + per_bucket("$meta.plugin_instance", {
        "avg": of("ping", "$value"), "sd": of("ping_stddev", "$value"),
        "loss": of("ping_droprate", {"$multiply": ["$value", 100]})}, ["avg", "sd", "loss"])
    ping_pipeline[-1:-1] = [{"$project": {
        "time": 1, "target": 1, "avg": 1, "loss": 1,
        "avg - stddev": {"$subtract": ["$avg", "$sd"]},
        "avg + stddev": {"$add": ["$avg", "$sd"]}}}]
    phases = {"$match": {**series("response_time", "")["$match"],
                         "meta.type_instance": {"$in": PHASES}}}
    outages = [events(["state"]), {"$sort": {"time": -1}},
               {"$project": {"_id": 0, "time": 1, "target": "$plugin_instance",
                             "state": "$meta.state", "result": "$meta.result",
                             "outage": "$meta.outage_seconds", "message": 1}}]
    return {
        "State": [("metrics", [series(*UP)] + last_per_target("up"))],
        "Uptime in range": [("metrics", [series(*UP), {"$group": {
            "_id": "$meta.plugin_instance", "uptime": {"$avg": {"$multiply": ["$value", 100]}}}},
            {"$project": {"_id": 0, "target": "$_id", "uptime": 1}}, {"$sort": {"target": 1}}])],
        "Certificate time left": [("metrics", [series("timeleft", "cert_expiry")] +
                                   last_per_target("time left"))],
        "Latest check": [("metrics", latest_of([("bool", "up", "up"),
                                                ("portprobe_http_status", "", "http status")]))],
        "State timeline": [("metrics", [series(*UP)] + per_bucket(
            "$meta.plugin_instance", {"up": {"$min": "$value"}}, ["up"]))],
        "Response time by phase": [("metrics", [phases] + per_bucket(
            {"$concat": ["$meta.plugin_instance", " ", "$meta.type_instance"]},
            {"seconds": {"$avg": "$value"}}, ["seconds"]))],
        "Ping $target": [("metrics", ping_pipeline)],
        "Jitter": [("metrics", [series("portprobe_jitter", "")] + per_bucket(
            "$meta.plugin_instance", {"jitter": {"$avg": "$value"}}, ["jitter"]))],
        "Quality": [("metrics", [series("portprobe_quality", "")] + per_bucket(
            "$meta.plugin_instance", {"quality": {"$max": "$value"}}, ["quality"]))],
        "Outages": [("events", outages)],
    }


def _literal_options(field):
    """Group on `field`, give each value as a JSON literal (null when absent: "(none)")."""
    return [{"$group": {"_id": field}},
            {"$project": {"_id": 0, "text": {"$ifNull": ["$_id", "(none)"]}, "value": {
                "$cond": [{"$eq": [{"$type": "$_id"}, "string"]},
                          {"$concat": ["\"", "$_id", "\""]}, "null"]}}},
            {"$sort": {"text": 1}}]


def variables():
    """(name, label, pipeline on metrics): locations, probe hosts and schemes as JSON
    literals, then the targets of the selected ones. The panels filter on targets and
    locations only, the keys of the indexes: a probe host or a scheme narrows the targets
    offered."""
    window = {"meta.plugin": "portprobe", "meta.type": "bool", "meta.type_instance": "up",
              "time": {"$gte": FROM, "$lt": TO}}
    located = {**window, "meta.labels.location": {"$in": [_LOCATIONS]}}
    probed = {**located, "meta.host": {"$in": [_PROBES]}}
    location = [{"$match": window}, *_literal_options("$meta.labels.location")]
    probe = [{"$match": located}, *_literal_options("$meta.host")]
    scheme = [{"$match": probed}, *_literal_options("$meta.labels.scheme")]
    target = [{"$match": {**probed, "meta.labels.scheme": {"$in": [_SCHEMES]}}},
              {"$group": {"_id": "$meta.plugin_instance"}},
              {"$project": {"_id": 0, "value": "$_id"}}, {"$sort": {"value": 1}}]
    return [("location", "Location", location), ("probe", "Probe host", probe),
            ("scheme", "Scheme", scheme), ("target", "Target", target)]


def annotation():
    """Every event of the selected targets: time, text, tags (kind, severity)."""
    return [events(), {"$sort": {"time": 1}},
            {"$project": {"_id": 0, "time": 1, "text": "$message", "title": "$plugin_instance",
                          "tags": {"$concat": ["$kind", ",", "$severity"]}}}]


_PARTITION = [{"id": "partitionByValues", "options": {"fields": ["target"], "keepFields": False,
                                                      "naming": {"asLabels": True}}}]
# panels that draw one series per target: the single table split by its target column
TRANSFORMS = {t: _PARTITION for t in ("State timeline", "Response time", "Jitter", "Quality",
                                      "Response time by phase")}
DISPLAY_NAMES = {"State timeline": "${__field.labels.target}",
                 "Response time": "${__field.labels.target}",
                 "Jitter": "${__field.labels.target}", "Quality": "${__field.labels.target}",
                 "Response time by phase": "${__field.labels.target}",
                 "Status": "${__data.fields.target}", "State": "${__data.fields.target}",
                 "Uptime in range": "${__data.fields.target}",
                 "Certificate time left": "${__data.fields.target}"}
# stats that show a tile per row: the column they show
PER_ROW = {"Status": "/^up$/", "State": "/^up$/", "Uptime in range": "/^uptime$/",
           "Certificate time left": "/^time left$/"}
