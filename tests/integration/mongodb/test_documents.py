"""The document reference of mongodb-plugin/README.md, checked against what real servers store.

The real collectd runs portprobe.so (a listening port and a closed one, labelled) and
portprobe_mongodb writing to SecantusDB and to FerretDB. Every field stored must be a row of the
README's tables, with the BSON type given there; every "always" row must be stored; labels and
the checked host reach every portprobe metric; events carry `kind`. The schema matches what the
server can do: time-series with TTL on SecantusDB, an ordinary collection on FerretDB, logged once.
"""

import re
import socket
from pathlib import Path

import pytest

from harness import (Collectd, PortprobeSource, RealMongo, make_workdir,  # noqa: F401
                     wait_for)

README = Path(__file__).resolve().parents[3] / "mongodb-plugin" / "README.md"
ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \| ([^|]+) \|")


def reference(name):
    """{field path: (BSON type, presence)} from the README table after `<!-- NAME fields -->`."""
    text = README.read_text()
    block = text.split(f"<!-- {name} fields -->", 1)[1].split("<!-- end -->", 1)[0]
    rows = {}
    for line in block.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3).strip())
    assert rows, f"no rows in the README's {name} table"
    return rows


def flatten(types, prefix=""):
    """{dotted path: BSON type name} of a types() tree."""
    out = {}
    for key, value in types.items():
        path = prefix + key
        if isinstance(value, dict):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def documented(path, rows):
    """The reference row of a stored field path (NAME rows stand for any label name)."""
    if path in rows:
        return rows[path]
    for pattern, row in rows.items():
        if pattern.endswith(".NAME") and path.startswith(pattern[:-4]):
            return row
    return None


def check_against(docs, rows, always_when=lambda doc: True):
    """Every stored field is documented with its type; every "always" field is there."""
    for doc, types in docs:
        paths = flatten(types)
        for path, bson_type in paths.items():
            row = documented(path, rows)
            assert row is not None, f"{path} is stored but not in the README: {doc}"
            assert bson_type in (row[0], "null"), f"{path}: stored {bson_type}, README {row[0]}"
        if always_when(doc):
            missing = [p for p, (_, when) in rows.items() if when == "always" and p not in paths]
            assert not missing, f"README says always, not stored: {missing} in {doc}"


@pytest.fixture(params=["secantusdb", "ferretdb"])
def stored(request):
    """One run of collectd writing to a fresh server of each kind; the server, collectd's log."""
    workdir = make_workdir()
    mongo = RealMongo(request.param, workdir).start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    source = PortprobeSource({"db": listener.getsockname()[1], "closed": closed},
                             labels=["location=lab1"])
    conf = '  URI "%s"\n  Database "pp_test"\n  FlushInterval 0.2\n' % mongo.uri
    collectd = Collectd(workdir, source, conf)
    try:
        collectd.start()
        wait_for(lambda: len({d["meta"]["plugin_instance"] for d, _ in mongo.documents("metrics")
                              if d["meta"]["type_instance"] == "up"}) == 2
                 and mongo.documents("events"), 30, "values of both targets and an event")
        assert collectd.stop() == 0, collectd.log()
        yield mongo, collectd.log()
    finally:
        collectd.stop()
        listener.close()
        mongo.close()


def test_metrics_documents_are_as_the_readme_says(stored):
    mongo, _ = stored
    docs = mongo.documents("metrics")
    check_against(docs, reference("metrics"))
    for doc, _ in docs:
        assert doc["meta"]["host"] == "testhost"  # the probe
        assert doc["meta"]["labels"] == {"target_host": "127.0.0.1", "scheme": "tcp",
                                         "location": "lab1"}
    series = {(d["meta"]["plugin_instance"], d["meta"]["type"], d["meta"]["type_instance"])
              for d, _ in docs}
    assert {("db", "bool", "up"), ("db", "bool", "flapping"),
            ("db", "response_time", "total"), ("closed", "bool", "up")} <= series


def test_events_documents_are_as_the_readme_says(stored):
    mongo, _ = stored
    docs = mongo.documents("events")
    check_against(docs, reference("events"))
    [(down, _)] = [(d, t) for d, t in docs if d["plugin_instance"] == "closed"]
    assert (down["severity"], down["kind"], down["host"]) == ("FAILURE", "state", "127.0.0.1")
    assert down["labels"] == {"location": "lab1"}
    assert (down["meta"]["state"], down["meta"]["result"]) == ("down", "refused")
    assert "kind" not in down["meta"] and "label_location" not in down["meta"]


def test_schema_fits_what_the_server_can_do(stored):
    mongo, log = stored
    db = mongo.db()
    info = next(db.list_collections(filter={"name": "metrics"}))
    metrics_indexes = {i["name"]: i for i in db.metrics.list_indexes()}
    events_indexes = {i["name"]: i for i in db.events.list_indexes()}
    assert {"plugin_instance_time", "host_plugin_time", "series_time",
            "type_time"} <= set(metrics_indexes)
    assert {"time_1", "plugin_instance_time", "host_plugin_time",
            "state_time"} <= set(events_indexes)
    # the report's indexes, key by key in their order (mongodb-plugin/README.md)
    assert list(metrics_indexes["series_time"]["key"]) == [
        "meta.plugin", "meta.type", "meta.type_instance", "meta.plugin_instance",
        "meta.labels.location", "time"]
    assert list(metrics_indexes["type_time"]["key"]) == [
        "meta.plugin", "meta.type", "meta.type_instance", "time"]
    assert list(events_indexes["state_time"]["key"]) == [
        "plugin", "kind", "plugin_instance", "labels.location", "time"]
    fallback = "the server refused a time-series collection (code 238"
    if mongo.server.timeseries:
        # MongoDB says type "timeseries"; SecantusDB "collection", with the options
        assert info["options"]["timeseries"]["timeField"] == "time"
        assert info["options"]["expireAfterSeconds"] == 90 * 86400
        assert events_indexes["time_1"]["expireAfterSeconds"] == 90 * 86400
        assert fallback not in log
    else:
        assert info["type"] == "collection"
        assert "time_1" in metrics_indexes  # retention's index, without TTL here
        assert log.count(fallback) == 1, log
        assert log.count("the server refused a TTL index on metrics.time (code 238") == 1
        assert log.count("the server refused a TTL index on events.time (code 238") == 1
