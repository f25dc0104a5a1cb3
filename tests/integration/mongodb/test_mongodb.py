"""portprobe_mongodb end to end: the real collectd daemon, the real
mongo-c-driver inside the plugin, and two kinds of server: SecantusDB, a real
MongoDB-wire server that stores and queries (BACKENDS), and a wire-protocol
stand-in (python3-mockupdb) that records every command and document it
receives, with BSON types, for what only it can show or make: the commands
the plugin sends (create and createIndexes options, batch sizes), a lost
reply, a refused document.

These tests prove what the plugin sends and what the server then holds:
documents and their BSON types, batching, replay in order after an outage,
oldest-first dropping beyond BufferLimit, flushes, shutdown. They do not
prove how MongoDB itself (mongod) stores, expires or indexes it.

The source of values is swappable: ExecSource (collectd's exec plugin
running emit_values.py) produces HOST/portprobe-smtp_example/gauge-seq =
1, 2, 3, ... for most tests; PortprobeSource runs portprobe.so, the read
plugin built here, for the end-to-end test at the bottom.

Run from the build directory, after make:
  PORTPROBE_BUILDDIR=$PWD /usr/bin/python3 -m pytest -q \
      ../tests/integration/mongodb/test_mongodb.py
"""

import os
import re
import shutil
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (PORTPROBE_SO, Collectd, ExecSource,  # noqa: E402
                     PLUGIN_SO, PortprobeSource, SANITIZE, make_mongo,
                     make_workdir, wait_for)

pytestmark = pytest.mark.skipif(not os.path.exists(PLUGIN_SO),
                                reason="build portprobe_mongodb.so first")

DB = "pp_test"
# the mock records what the plugin sends; SecantusDB stores and reads back
BACKENDS = ["mock", "secantusdb"]
RETENTION_DAYS = 30


def plugin_conf(uri, **keys):
    lines = ['URI "%s"' % uri, 'Database "%s"' % DB]
    for key, value in keys.items():
        if isinstance(value, str):
            value = '"%s"' % value
        lines.append("%s %s" % (key, value))
    return "\n".join("  " + line for line in lines)


def seq_values(mock):
    """gauge-seq values (the step numbers) in arrival order, each stored
    document once (a retried insert repeats the same _id)."""
    seen, out = set(), []
    for doc, _ in mock.documents("metrics"):
        if doc["meta"]["type_instance"] != "seq" or doc["_id"] in seen:
            continue
        seen.add(doc["_id"])
        out.append(int(doc["value"]))
    return out


def n_seq(mock):
    return len(seq_values(mock))


def check_sanitizers(collectd):
    if SANITIZE:
        reports = collectd.sanitizer_reports()
        assert reports == "", reports


KEEP = os.environ.get("PORTPROBE_KEEP_WORKDIR") == "1"  # for debugging


@pytest.fixture
def workdir():
    d = make_workdir()
    yield d
    if KEEP:
        print("work directory kept:", d)
    else:
        shutil.rmtree(d, ignore_errors=True)


class Run:
    """Starts what a test asks for; the fixture stops it all again."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.started = []

    def source(self, **kwargs):
        return ExecSource(self.workdir, **kwargs)

    def start(self, plugin_keys, source=None, existing=False, refuse=None,
              lose_reply=None, mongo_up=True, extra_conf="", extra_plugins=(),
              wait_ready=True, backend="mock"):
        mock = make_mongo(backend, self.workdir, existing=existing,
                          refuse=refuse, lose_reply=lose_reply)
        if mongo_up:
            mock.start()
        self.started.append(mock)
        source = source or self.source(steps=20)
        collectd = Collectd(self.workdir, source,
                            plugin_conf(mock.uri, **plugin_keys),
                            extra_conf=extra_conf,
                            extra_plugins=extra_plugins)
        self.started.append(collectd)
        collectd.start(wait_ready=wait_ready)
        return mock, source, collectd

    def stop(self):
        for thing in reversed(self.started):
            getattr(thing, "close", thing.stop)()
        for thing in self.started:
            if isinstance(thing, Collectd):
                check_sanitizers(thing)


@pytest.fixture
def run(workdir):
    r = Run(workdir)
    yield r
    r.stop()


# --------------------------------------------------------- one full run

STEPS = 20
THRESHOLD_CONF = """
LoadPlugin threshold
<Plugin threshold>
  <Plugin "portprobe">
    <Type "gauge">
      Instance "seq"
      WarningMax 5.0
    </Type>
  </Plugin>
</Plugin>
"""


def _full_run(backend):
    """One collectd run shared by the schema, type and batching tests:
    every data source type, a notification from exec, one from threshold."""
    workdir = make_workdir()
    mock = make_mongo(backend, workdir).start()
    source = ExecSource(workdir, steps=STEPS, notify_at=[3])
    collectd = Collectd(
        workdir, source,
        plugin_conf(mock.uri, BatchSize=10, FlushInterval=0.5,
                    RetentionDays=RETENTION_DAYS),
        extra_conf=THRESHOLD_CONF, extra_plugins=["threshold.so"])
    try:
        collectd.start()
        wait_for(source.done, 30, "the exec script to finish")
        wait_for(lambda: n_seq(mock) == STEPS, 30, "all values in MongoDB")
        rc = collectd.stop()
        yield mock, collectd, rc
    finally:
        collectd.stop()
        getattr(mock, "close", mock.stop)()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def full_run_mock():
    """The full run against the recording mock: what the plugin sends."""
    yield from _full_run("mock")


@pytest.fixture(scope="module", params=BACKENDS)
def full_run(request, full_run_mock):
    """The full run against the mock and against a real server: what is
    stored."""
    if request.param == "mock":
        yield full_run_mock
    else:
        yield from _full_run(request.param)


def metric_docs(mock, type_instance=None, type_=None):
    out = []
    for doc, types in mock.documents("metrics"):
        if type_instance is not None and \
                doc["meta"]["type_instance"] != type_instance:
            continue
        if type_ is not None and doc["meta"]["type"] != type_:
            continue
        out.append((doc, types))
    return out


def test_collectd_exits_cleanly(full_run):
    mock, collectd, rc = full_run
    assert rc == 0, collectd.log()
    # 6 values a step; events: exec's FAILURE, threshold's first OKAY and
    # its WARNING when seq passes 5
    assert "portprobe_mongodb: shutdown: %d documents written, 0 dropped" \
        % (STEPS * 6 + 3) in collectd.log()
    check_sanitizers(collectd)


def test_gauge_is_a_double_with_time_meta_and_interval(full_run):
    mock, _, _ = full_run
    docs = metric_docs(mock, "seq")
    assert [int(d["value"]) for d, _ in docs] == list(range(1, STEPS + 1))
    doc, types = docs[0]
    assert types == {
        "_id": "objectId", "time": "date", "interval": "double",
        "value": "double",
        "meta": {"host": "string", "plugin": "string",
                 "plugin_instance": "string", "type": "string",
                 "type_instance": "string"}}
    assert doc["meta"] == {"host": "testhost", "plugin": "portprobe",
                           "plugin_instance": "smtp_example",
                           "type": "gauge", "type_instance": "seq"}
    assert doc["interval"] == 10.0
    # emit_values.py sends times in whole milliseconds, 50 ms apart
    times = [d["time"] for d, _ in docs]
    assert all(abs((b - a) - 50) <= 1 for a, b in zip(times, times[1:]))
    assert abs(times[0] / 1000.0 - time.time()) < 600


@pytest.mark.parametrize("type_instance,factor", [("d", 10), ("c", 100),
                                                  ("a", 1)])
def test_derive_counter_absolute_are_int64(full_run, type_instance, factor):
    mock, _, _ = full_run
    docs = metric_docs(mock, type_instance)
    assert len(docs) == STEPS
    assert {t["value"] for _, t in docs} == {"int64"}
    assert [d["value"] for d, _ in docs] == \
        [i * factor for i in range(1, STEPS + 1)]


def test_multi_value_type_gets_one_field_per_data_source(full_run):
    mock, _, _ = full_run
    docs = metric_docs(mock, type_="if_octets")
    assert len(docs) == STEPS
    doc, types = docs[0]
    assert "value" not in doc
    assert (types["rx"], types["tx"]) == ("int64", "int64")
    assert (doc["rx"], doc["tx"]) == (1000, 2000)


def test_unknown_gauge_is_null(full_run):
    mock, _, _ = full_run
    doc, types = metric_docs(mock, type_="load")[0]
    assert (doc["shortterm"], doc["midterm"], doc["longterm"]) == \
        (0.5, None, 1.5)
    assert (types["shortterm"], types["midterm"], types["longterm"]) == \
        ("double", "null", "double")


def test_metrics_is_created_as_time_series_with_retention(full_run_mock):
    mock, _, _ = full_run_mock
    creates = mock.commands("create")
    assert len(creates) == 1
    body, types = creates[0]["body"], creates[0]["body_types"]
    assert body["create"] == "metrics" and body["$db"] == DB
    assert body["timeseries"] == {"timeField": "time", "metaField": "meta",
                                  "granularity": "seconds"}
    assert body["expireAfterSeconds"] == RETENTION_DAYS * 86400
    assert types["expireAfterSeconds"] == "int64"


def test_indexes_for_reports_are_created_before_the_first_insert(full_run_mock):
    mock, _, _ = full_run_mock
    names = [r["command"] for r in mock.records()
             if r["command"] in ("create", "createIndexes", "insert")]
    first_insert = names.index("insert")
    assert names[:first_insert] == ["create", "createIndexes",
                                    "createIndexes"]

    metrics = mock.commands("createIndexes", "metrics")[0]["body"]["indexes"]
    keys = [list(i["key"].items()) for i in metrics]
    assert [("meta.plugin_instance", 1), ("time", 1)] in keys
    assert [("meta.host", 1), ("meta.plugin", 1), ("time", 1)] in keys
    # the recording sorts keys: their order is checked on real servers (test_documents)
    assert sorted([("meta.plugin", 1), ("meta.type", 1), ("meta.type_instance", 1),
                   ("meta.plugin_instance", 1), ("meta.labels.location", 1),
                   ("time", 1)]) in keys
    assert sorted([("meta.plugin", 1), ("meta.type", 1), ("meta.type_instance", 1),
                   ("time", 1)]) in keys

    events = mock.commands("createIndexes", "events")[0]["body"]["indexes"]
    by_key = {tuple(i["key"]): i for i in events}
    assert by_key[("time",)]["expireAfterSeconds"] == RETENTION_DAYS * 86400
    assert ("plugin_instance", "time") in by_key
    assert tuple(sorted(("plugin", "kind", "plugin_instance", "labels.location",
                         "time"))) in by_key
    assert all(i["name"] for i in metrics + events)


def test_inserts_are_batched_up_to_batch_size(full_run_mock):
    mock, _, _ = full_run_mock
    sizes = [len(r["documents"]) for r in mock.inserts("metrics")]
    assert sum(sizes) == STEPS * 6
    assert max(sizes) == 10  # BatchSize
    assert len(sizes) <= STEPS * 6 / 5, sizes
    assert all(r["body"]["ordered"] is True for r in mock.inserts("metrics"))


def test_notification_lands_in_events(full_run):
    mock, _, _ = full_run
    events = [(d, t) for d, t in mock.documents("events")
              if d["plugin"] == "portprobe" and d["type"] == "bool"]
    assert len(events) == 1
    doc, types = events[0]
    assert doc["severity"] == "FAILURE"
    assert doc["host"] == "testhost"
    assert doc["plugin_instance"] == "smtp_example"
    assert doc["type_instance"] == "up"
    assert doc["message"] == "SMTP down: connection refused (step 3)"
    assert doc["meta"] == {"failure": "refused", "step": "3"}
    for field in ("severity", "host", "plugin", "plugin_instance", "message"):
        assert types[field] == "string"
    assert (types["_id"], types["time"]) == ("objectId", "date")
    assert types["meta"] == {"failure": "string", "step": "string"}
    seq3 = metric_docs(mock, "seq")[2][0]
    assert doc["time"] == seq3["time"]


def test_threshold_notification_keeps_numeric_meta_types(full_run):
    mock, _, _ = full_run
    warnings = [(d, t) for d, t in mock.documents("events")
                if d["severity"] == "WARNING"]
    assert len(warnings) == 1, warnings
    doc, types = warnings[0]
    assert (doc["plugin"], doc["type"], doc["type_instance"]) == \
        ("portprobe", "gauge", "seq")
    assert doc["meta"]["CurrentValue"] == 6.0
    assert types["meta"]["CurrentValue"] == "double"
    assert types["meta"]["WarningMax"] == "double"
    assert types["meta"]["DataSource"] == "string"
    # threshold's "not set" limits are NaN: stored as null, as for gauges
    assert doc["meta"]["FailureMax"] is None
    assert types["meta"]["FailureMax"] == "null"


# ------------------------------------------------------------- outages

@pytest.mark.parametrize("backend", BACKENDS)
def test_outage_within_buffer_limit_loses_nothing_and_keeps_order(run, backend):
    steps = 120  # 6 s of values, one every 50 ms
    mock, source, collectd = run.start(
        dict(BatchSize=10, FlushInterval=0.2, RetryInterval=0.3,
             BufferLimit=1000),
        backend=backend,
        source=run.source(steps=steps, mode="seq"))
    wait_for(lambda: n_seq(mock) >= 20, 20, "values before the outage")
    before = n_seq(mock)
    mock.stop()
    time.sleep(2.5)
    assert n_seq(mock) == before  # nothing can arrive while it is down
    mock.start()
    wait_for(source.done, 30, "the exec script to finish")
    wait_for(lambda: n_seq(mock) == steps, 30, "every value after the outage")
    assert seq_values(mock) == list(range(1, steps + 1))
    rc = collectd.stop()
    log = collectd.log()
    assert rc == 0, log
    assert "portprobe_mongodb: insert into pp_test.metrics failed: " in log
    assert "portprobe_mongodb: MongoDB reachable again" in log
    assert "dropped" not in log.replace("0 dropped", "")
    check_sanitizers(collectd)


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_drops_oldest_and_logs_the_count(run, backend):
    limit = 20
    steps = 140  # 7 s of values
    mock, source, collectd = run.start(
        dict(BatchSize=5, FlushInterval=0.2, RetryInterval=0.3,
             BufferLimit=limit, ReportInterval=0.5),
        backend=backend,
        source=run.source(steps=steps, mode="seq"))
    wait_for(lambda: n_seq(mock) >= 20, 20, "values before the outage")
    mock.stop()
    time.sleep(3)  # about 60 values for a buffer of 20
    mock.start()
    wait_for(source.done, 30, "the exec script to finish")
    wait_for(lambda: seq_values(mock) and seq_values(mock)[-1] == steps, 30,
             "the last value")
    rc = collectd.stop()
    log = collectd.log()
    assert rc == 0, log

    got = seq_values(mock)
    missing = sorted(set(range(1, steps + 1)) - set(got))
    assert missing, "the outage should have overflowed the buffer"
    # Oldest first: what is missing is one run of consecutive values, and
    # everything after it (the newest `limit` of the outage onwards) is here.
    assert missing == list(range(missing[0], missing[-1] + 1))
    assert got == [v for v in range(1, steps + 1) if v not in missing]
    totals = [int(n) for n in re.findall(
        r"portprobe_mongodb: buffer full \(BufferLimit 20\): dropped \d+ "
        r"oldest documents since the last report, (\d+) dropped in total",
        log)]
    assert totals, log
    assert totals[-1] == len(missing)
    assert "%d dropped" % len(missing) in log  # the shutdown summary
    check_sanitizers(collectd)


# -------------------------------------------------------------- flushes

@pytest.mark.parametrize("backend", BACKENDS)
def test_collectd_flush_writes_what_is_buffered(run, backend):
    mock, source, collectd = run.start(
        dict(BatchSize=1000, FlushInterval=3600),
        backend=backend,
        source=run.source(steps=5, mode="seq"))
    wait_for(source.done, 20, "the exec script to finish")
    time.sleep(1.5)
    assert n_seq(mock) == 0  # neither batch full nor interval
    result = collectd.ctl("flush", "plugin=portprobe_mongodb")
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: n_seq(mock) == 5, 10, "the flushed values")
    if backend == "mock":
        assert len(mock.inserts("metrics")) == 1
    assert collectd.stop() == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_shutdown_writes_the_remainder(run, backend):
    mock, source, collectd = run.start(
        dict(BatchSize=1000, FlushInterval=3600),
        backend=backend,
        source=run.source(steps=7, mode="seq",
                          notify_at=[2]))
    wait_for(source.done, 20, "the exec script to finish")
    time.sleep(1.5)
    assert n_seq(mock) == 0
    assert collectd.stop() == 0
    assert seq_values(mock) == list(range(1, 8))
    assert len(mock.documents("events")) == 1
    check_sanitizers(collectd)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shutdown_during_outage_waits_bounded_and_reports_loss(run, backend):
    mock, source, collectd = run.start(
        dict(BatchSize=1000, FlushInterval=3600, ShutdownTimeout=1.5,
             RetryInterval=0.3),
        backend=backend,
        source=run.source(steps=4, mode="seq"))
    wait_for(source.done, 20, "the exec script to finish")
    mock.stop()
    started = time.monotonic()
    rc = collectd.stop()
    took = time.monotonic() - started
    log = collectd.log()
    assert took < 10, took
    assert "portprobe_mongodb: shutdown: 4 documents could not be written " \
        "within ShutdownTimeout (1.5 s) and are lost" in log, log
    # a failed shutdown callback makes collectd exit 1: the loss is visible
    assert rc == 1
    assert "one or more plugin shutdown callbacks failed" in log


# ---------------------------------------------------------- configuration

@pytest.mark.parametrize("keys,message", [
    (dict(Bogus=1), 'unknown config key "Bogus" in <Plugin portprobe_mongodb>'),
    (dict(BatchSize=0), "BatchSize must be at least 1, got 0"),
    (dict(BatchSize=50, BufferLimit=10),
     "BatchSize (50) must not exceed BufferLimit (10)"),
    (dict(RetentionDays=-1), "RetentionDays must be 0 (keep for ever) or more"),
    (dict(FlushInterval="soon"), 'invalid value for "FlushInterval"'),
])
def test_bad_config_refuses_to_start(run, keys, message):
    mock, _, collectd = run.start(keys, wait_ready=False)
    rc = collectd.proc.wait(20)
    assert rc != 0
    log = collectd.log()
    assert "portprobe_mongodb: " + message in log, log
    assert "Initialization complete" not in log


def test_bad_uri_refuses_to_start_without_echoing_it(workdir):
    source = ExecSource(workdir, steps=1)
    collectd = Collectd(workdir, source,
                        '  URI "http://user:s3cret@example.org/"')
    collectd.start(wait_ready=False)
    try:
        assert collectd.proc.wait(20) != 0
    finally:
        collectd.stop()
    log = collectd.log()
    assert "portprobe_mongodb: URI is not a valid MongoDB URI" in log, log
    assert "s3cret" not in log


def test_existing_collection_is_fine(run):
    mock, source, collectd = run.start(dict(BatchSize=10, FlushInterval=0.2),
                                 existing=True,
                                 source=run.source(steps=10, mode="seq"))
    wait_for(lambda: n_seq(mock) == 10, 20, "values despite NamespaceExists")
    assert len(mock.commands("create")) == 1
    assert len(mock.commands("createIndexes")) == 2
    assert collectd.stop() == 0
    assert "portprobe_mongodb: the ordinary collection metrics already " \
        "exists, kept as it is" in collectd.log()


@pytest.mark.parametrize("backend", BACKENDS)
def test_store_plugin_keeps_only_the_named_plugins(run, backend):
    mock, source, collectd = run.start(
        dict(BatchSize=10, FlushInterval=0.2, StorePlugin="portprobe",
             StoreNotifications=False),
        backend=backend,
        source=run.source(steps=10, mode="seq", other_plugin=True,
                          notify_at=[2]))
    wait_for(source.done, 20, "the exec script to finish")
    assert collectd.stop() == 0
    plugins = {d["meta"]["plugin"] for d, _ in mock.documents("metrics")}
    assert plugins == {"portprobe"}
    assert n_seq(mock) == 10
    assert mock.documents("events") == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_mongodb_down_at_start_gets_schema_and_values_later(run, backend):
    mock, source, collectd = run.start(
        dict(BatchSize=10, FlushInterval=0.2, RetryInterval=0.3),
        backend=backend,
        source=run.source(steps=20, mode="seq"), mongo_up=False)
    wait_for(source.done, 20, "the exec script to finish")
    time.sleep(0.5)
    mock.start()
    wait_for(lambda: n_seq(mock) == 20, 30, "the values buffered at start")
    assert seq_values(mock) == list(range(1, 21))
    if backend == "mock":
        names = [r["command"] for r in mock.records()
                 if r["command"] in ("create", "createIndexes", "insert")]
        assert names[:3] == ["create", "createIndexes", "createIndexes"]
    else:
        assert "plugin_instance_time" in mock.db().metrics.index_information()
    assert collectd.stop() == 0


# The mock only: a refusal needs a validator, which FerretDB 1.24 does not
# implement (code 238), and SecantusDB 0.7.0b3 rolls back a whole ordered
# insert_many while reporting the failing index as mongod does (mongod keeps
# the documents before it): tried by hand, 10 documents with the 4th refused
# leave none stored, so a test against it would test SecantusDB's bug.
@pytest.mark.parametrize("backend", ["mock"])
def test_refused_document_is_dropped_counted_and_the_rest_written(run, backend):
    mock, source, collectd = run.start(
        dict(BatchSize=10, FlushInterval=0.2), refuse=4.0,
        backend=backend,
        source=run.source(steps=10, mode="seq"))
    wait_for(source.done, 20, "the exec script to finish")
    wait_for(lambda: n_seq(mock) == 9, 20, "the accepted values")
    assert collectd.stop() == 0
    assert seq_values(mock) == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    if backend == "mock":  # the refused document is sent once, not retried
        sent = [d["value"] for r in mock.inserts("metrics")
                for d in r["documents"]]
        assert sent.count(4.0) == 1
    log = collectd.log()
    assert "portprobe_mongodb: pp_test.metrics refused a document " \
        "(code 121): Document failed validation" in log
    assert "; it is dropped" in log
    assert "0 dropped, 1 refused" in log


def test_lost_reply_retry_meets_unique_id_and_stores_events_once(run):
    mock, source, collectd = run.start(
        dict(BatchSize=10, FlushInterval=0.5, RetryInterval=0.3),
        lose_reply="events",
        source=run.source(steps=12, mode="seq", notify_at=[2, 3, 4]))
    wait_for(source.done, 20, "the exec script to finish")
    assert collectd.stop() == 0
    sent = [d["_id"] for r in mock.inserts("events") for d in r["documents"]]
    stored = [d["_id"] for d, _ in mock.documents("events")]
    assert len(set(sent)) == 3
    assert len(sent) > 3  # the batch whose reply was lost went again
    assert sorted(stored) == sorted(set(sent))  # each stored exactly once
    assert [d["message"][-8:] for d, _ in mock.documents("events")] == \
        ["(step 2)", "(step 3)", "(step 4)"]
    log = collectd.log()
    # the lost reply was noticed
    assert "portprobe_mongodb: insert into pp_test.events failed" in log
    assert "refused a document" not in log
    assert "0 dropped, 0 refused" in log


# ------------------------------------- portprobe's own read plugin as source

def up_values(mock):
    """{plugin instance: [bool/up values]} of portprobe's metrics."""
    out = {}
    for doc, types in mock.documents("metrics"):
        meta = doc["meta"]
        if (meta["plugin"], meta["type"], meta["type_instance"]) == \
                ("portprobe", "bool", "up"):
            assert types["value"] == "double"
            out.setdefault(meta["plugin_instance"], []).append(doc["value"])
    return out


@pytest.mark.skipif(not os.path.exists(PORTPROBE_SO),
                    reason="build portprobe.so first")
def test_portprobe_read_plugin_end_to_end(run):
    """The real collectd runs portprobe.so against a listening port and a
    closed one, and this plugin stores both targets' values and the DOWN
    notification."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # the kernel completes handshakes: no accept needed
    up_port = listener.getsockname()[1]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    try:
        source = PortprobeSource({"db up": up_port,
                                  "closed port": closed_port})
        mock, _, collectd = run.start(dict(BatchSize=4, FlushInterval=0.2),
                                      source=source)
        wait_for(lambda: all(len(v) >= 2 for v in up_values(mock).values())
                 and len(up_values(mock)) == 2, 20,
                 "two rounds of both targets in MongoDB:\n" + collectd.log())

        def failures():
            return [d for d, _ in mock.documents("events")
                    if d["severity"] == "FAILURE"]
        wait_for(failures, 10, "the DOWN event")
        assert collectd.stop() == 0
    finally:
        listener.close()

    values = up_values(mock)
    assert set(values) == {"db up", "closed port"}
    assert set(values["db up"]) == {1.0}
    assert set(values["closed port"]) == {0.0}
    # the response time of each check came along
    kinds = {(d["meta"]["plugin_instance"], d["meta"]["type"],
              d["meta"]["type_instance"])
             for d, _ in mock.documents("metrics")}
    assert ("db up", "response_time", "total") in kinds
    assert all(d["meta"]["host"] == "testhost"
               for d, _ in mock.documents("metrics"))

    [event] = failures()  # DownAfter 1: the first failed check, once
    assert event["plugin"] == "portprobe"
    assert event["plugin_instance"] == "closed port"
    assert event["host"] == "127.0.0.1"
    assert "tcp:%d" % closed_port in event["message"], event["message"]
    assert "refused" in event["message"], event["message"]
    assert event["meta"]["target"] == "closed port"
    assert event["meta"]["result"] == "refused"
    assert event["meta"]["state"] == "down"
    # the listening port is up from the start: no event says otherwise
    assert not [d for d, _ in mock.documents("events")
                if d["plugin_instance"] == "db up"
                and d["severity"] != "OKAY"]
    log = collectd.log()
    assert "portprobe: 2 targets every 1s" in log, log
    assert "0 dropped, 0 refused" in log, log
