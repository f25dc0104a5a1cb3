#!/usr/bin/python3
"""portprobe-report over a generated history: wall time, CPU and peak RSS, and how they grow
with the number of targets and with the days in the window.

    bench/report_bench.py run [--builddir build] [--server secantusdb|ferretdb]
                              [--dir DIR] [--targets 250,500,1000] [--days 7] [--windows 1,3,7]
                              [--indexes all|report]

It starts a real MongoDB-wire server (tests/integration/fixtures/mongo_servers.py) on a free
loopback port with its files in DIR (a new temporary directory unless given; a DIR of an earlier
run is taken up where it stopped), creates `metrics` and `events` with portprobe_mongodb's
options (mongodb-plugin/mongo_schema.c), writes what the collectd plugin would have written
for targets checked every minute for DAYS days: per check a `bool`/`up` value and, when up, a
`response_time`/`total` one, round by round; one outage a day per target (2 to 20
minutes at a random time: `up` 0, a FAILURE and an OKAY state event), then builds the plugin's
query indexes (after the writing: SecantusDB takes documents five times faster without them).
With --indexes report only those the report's queries use are built (metrics series_time and
type_time, events state_time and the TTL one): at 20 million documents each metrics index takes
SecantusDB 7-17 minutes here, and the other two serve the README's ad hoc queries, not the
report. A large history reopens quickly only from the page cache: read its files once first
(`cat DIR/secantus-data/* >/dev/null`); from a cold, slow disk SecantusDB had not answered after
15 minutes.

The targets are added in steps (--targets): after each step portprobe-report --format json runs
over the whole history of the targets written so far; after the last, also over the last W days
for each --windows W. Each report runs under bench/rusage.c (CPU, wall time, peak RSS of the
report alone); the server's CPU during it comes from /proc/PID/stat; every report's rows are
checked against what was written. Everything it starts is stopped by PID.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pymongo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
from fixtures import mongo_servers, procs  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
INTERVAL = 60
RETENTION = 90 * 86400
BATCH = 5000

# portprobe_mongodb's indexes (mongodb-plugin/mongo_schema.c), name: keys
METRICS_INDEXES = {
    "plugin_instance_time": ["meta.plugin_instance", "time"],
    "host_plugin_time": ["meta.host", "meta.plugin", "time"],
    "series_time": ["meta.plugin", "meta.type", "meta.type_instance", "meta.plugin_instance",
                    "meta.labels.location", "time"],
    "type_time": ["meta.plugin", "meta.type", "meta.type_instance", "time"],
}
EVENTS_INDEXES = {
    "plugin_instance_time": ["plugin_instance", "time"],
    "host_plugin_time": ["host", "plugin", "time"],
    "state_time": ["plugin", "kind", "plugin_instance", "labels.location", "time"],
}
# the indexes portprobe-report's queries use (report/query.c: the series $match on plugin, type,
# type_instance and time; each series' reads on all of series_time's keys; events on state_time)
REPORT_INDEXES = {"metrics.series_time", "metrics.type_time", "events.state_time", "events.time_1"}


def create_schema(db, timeseries):
    """metrics and events with portprobe_mongodb's options; the query indexes come later
    (create_indexes): SecantusDB takes documents about five times faster without them."""
    if timeseries:
        db.command({"create": "metrics", "expireAfterSeconds": RETENTION,
                    "timeseries": {"timeField": "time", "metaField": "meta",
                                   "granularity": "seconds"}})
    else:
        db.create_collection("metrics")
    db.create_collection("events")


def create_indexes(db, timeseries, only=None):
    """portprobe_mongodb's indexes on metrics and events (those missing; of them those in `only`
    when given); seconds per index."""
    seconds = {}
    ttl = {"expireAfterSeconds": RETENTION} if timeseries else {}
    wanted = [("metrics", "time_1", [("time", 1)], {})] if not timeseries else []
    wanted.append(("events", "time_1", [("time", 1)], ttl))  # TTL refused by FerretDB
    for coll, indexes in (("metrics", METRICS_INDEXES), ("events", EVENTS_INDEXES)):
        wanted += [(coll, name, [(k, 1) for k in keys], {}) for name, keys in indexes.items()]
    for coll, name, keys, options in wanted:
        if name in db[coll].index_information() or (only and f"{coll}.{name}" not in only):
            continue
        began = time.monotonic()
        db[coll].create_index(keys, name=name, **options)
        seconds[f"{coll}.{name}"] = time.monotonic() - began
        print(f"  index {coll}.{name}: {seconds[f'{coll}.{name}']:.0f} s", flush=True)
    return seconds


def target_name(i):
    return f"t{i:04d}"


def outages(i, days):
    """Target i's outages, one a day of 2 to 20 minutes: [(first minute, minute up again)]."""
    rng = random.Random(i)
    spans = []
    for d in range(days):
        start = d * 1440 + rng.randrange(0, 1440 - 20)
        spans.append((start, start + rng.randrange(2, 21)))
    return spans


def meta(i, type_, instance):
    return {"host": "probe1", "plugin": "portprobe", "plugin_instance": target_name(i),
            "type": type_, "type_instance": instance,
            "labels": {"target_host": f"host{i}.example.net", "location": "fra1"}}


def event(i, t, down, minutes):
    url = f"tcp://host{i}.example.net:25"
    doc = {"time": t, "severity": "FAILURE" if down else "OKAY",
           "host": f"host{i}.example.net", "plugin": "portprobe",
           "plugin_instance": target_name(i), "type": "bool", "type_instance": "up",
           "message": f"{url} DOWN: refused" if down else f"{url} UP again after {minutes}m",
           "kind": "state", "labels": {"location": "fra1"},
           "meta": {"target": target_name(i), "url": url, "result": "refused" if down else "ok",
                    "state": "down" if down else "up", "quality": "none", "excerpt": "",
                    "port": 25}}
    if down:
        doc["meta"]["phase"] = "connect"
    else:
        doc["meta"]["outage_seconds"] = float(minutes * 60)
    return doc


def fill(db, lo, hi, days, start):
    """Targets lo..hi-1 for `days` days from `start`, round by round (every target's values of
    a minute, then the next minute's), as collectd writes them; (documents, seconds)."""
    ids = range(lo, hi)
    down = {i: {m for a, b in outages(i, days) for m in range(a, b)} for i in ids}
    rngs = {i: random.Random(-1 - i) for i in ids}
    up_meta = {i: meta(i, "bool", "up") for i in ids}
    rt_meta = {i: meta(i, "response_time", "total") for i in ids}
    batch, written, began = [], 0, time.monotonic()
    for minute in range(days * 1440):
        base = start + timedelta(minutes=minute)
        for i in ids:
            t = base + timedelta(seconds=i % INTERVAL)  # targets spread over the minute
            is_down = minute in down[i]
            batch.append({"time": t, "meta": up_meta[i], "interval": float(INTERVAL),
                          "value": 0.0 if is_down else 1.0})
            if not is_down:
                batch.append({"time": t, "meta": rt_meta[i], "interval": float(INTERVAL),
                              "value": rngs[i].lognormvariate(-4, 0.5)})
        if len(batch) >= BATCH or minute == days * 1440 - 1:
            db.metrics.insert_many(batch, ordered=False)
            written += len(batch)
            batch = []
        if minute % 1440 == 1439:
            print(f"  targets {lo}-{hi - 1}, day {minute // 1440 + 1}: {written} documents "
                  f"in {time.monotonic() - began:.0f} s", flush=True)
    events = [event(i, start + timedelta(minutes=m, seconds=i % INTERVAL), m == a, b - a)
              for i in ids for a, b in outages(i, days) for m in (a, b)]
    db.events.insert_many(events, ordered=False)
    return written + len(events), time.monotonic() - began


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def measure(report, rusage, uri, server_pid, window):
    """One report under rusage.c: its figures, the server's CPU, its rows."""
    argv = [str(report), "--uri", uri, "--from", iso(window[0]), "--to", iso(window[1]),
            "--format", "json"]
    with tempfile.TemporaryDirectory() as tmp:
        stats, out = Path(tmp) / "rusage", Path(tmp) / "report.json"
        server_before = cpu_seconds(server_pid)
        load = os.getloadavg()[0]
        with open(out, "w") as f:
            done = subprocess.run([str(rusage), str(stats), *argv], stdout=f,
                                  stderr=subprocess.PIPE, text=True)
        server_cpu = cpu_seconds(server_pid) - server_before
        assert done.returncode == 0, done.stderr
        cpu, wall, rss, _ = stats.read_text().split()
        rows = json.loads(out.read_text())["targets"]
    return {"cpu": float(cpu), "wall": float(wall), "rss_kib": int(rss), "server_cpu": server_cpu,
            "load": (load + os.getloadavg()[0]) / 2, "rows": rows}


def check_rows(rows, targets, window, start, days):
    """Each target's row: its outages in the window, their down time, no unknown time."""
    assert [r["target"] for r in rows] == [target_name(i) for i in range(targets)]
    for row in rows:
        i = int(row["target"][1:])
        minutes = [(a, b) for a, b in outages(i, days)
                   if start + timedelta(minutes=a) >= window[0]
                   and start + timedelta(minutes=b) <= window[1]]
        assert row["outage_count"] >= len(minutes), (row["target"], row["outage_count"], minutes)
        assert row["unknown_seconds"] <= INTERVAL, (row["target"], row["unknown_seconds"])
        assert row["down_seconds"] >= 60 * sum(b - a for a, b in minutes), row["target"]
        assert row["response_time"]["count"] > 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["run"])
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--server", default="secantusdb", choices=sorted(mongo_servers.STARTERS))
    ap.add_argument("--dir", help="the server's files (kept); a new temporary one if not given")
    ap.add_argument("--targets", default="250,500,1000")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--windows", default="1,3,7")
    ap.add_argument("--indexes", default="all", choices=["all", "report"],
                    help="build every index the plugin makes, or only those the report uses")
    ap.add_argument("--fill-only", type=int, default=None,
                    help="write the history up to this many targets, then stop")
    args = ap.parse_args()
    report = Path(args.builddir).resolve() / "report" / "portprobe-report"
    steps = [int(x) for x in args.targets.split(",")]
    windows = [int(x) for x in args.windows.split(",")]
    with procs.Registry() as reg:
        work = Path(args.dir) if args.dir else procs.shared_tmpdir(reg, prefix="pp-bench-")
        work.mkdir(parents=True, exist_ok=True)
        rusage = work / "rusage"
        subprocess.run(["cc", "-O2", "-o", rusage, HERE / "rusage.c"], check=True)
        # a server opening a history of millions of documents takes minutes to answer
        mongo_servers.START_TIMEOUT = max(mongo_servers.START_TIMEOUT, 900)
        server = mongo_servers.STARTERS[args.server](reg, work)
        db = pymongo.MongoClient(server.uri)["portprobe"]
        state_file = work / "bench-state.json"
        if state_file.exists():
            state = json.loads(state_file.read_text())
        else:
            create_schema(db, server.timeseries)
            end = datetime.now(timezone.utc).replace(second=0, microsecond=0)
            state = {"server": args.server, "days": args.days, "written": 0,
                     "end": iso(end - timedelta(hours=1)), "fill": []}
        end = datetime.strptime(state["end"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        start = end - timedelta(days=state["days"])
        for n in steps:
            if state["written"] < n:
                docs, seconds = fill(db, state["written"], n, state["days"], start)
                state["written"] = n
                state["fill"].append({"targets": n, "documents": docs, "seconds": seconds,
                                      "load": os.getloadavg()[0],
                                      "index_seconds": create_indexes(
                                          db, server.timeseries,
                                          REPORT_INDEXES if args.indexes == "report" else None)})
                state_file.write_text(json.dumps(state, indent=1))
                print(f"wrote targets up to {n}: {docs} documents in {seconds:.0f} s", flush=True)
            if args.fill_only is not None and n >= args.fill_only:
                return
            todo = [(n, state["days"])] + ([(n, w) for w in windows if w != state["days"]]
                                            if n == steps[-1] else [])
            for targets, days in todo:
                key = f"{targets}x{days}"
                if key in state.get("results", {}):
                    continue
                window = (end - timedelta(days=days), end)
                r = measure(report, rusage, server.uri, server.process.pid, window)
                check_rows(r["rows"], targets, window, start, state["days"])
                r["documents"] = sum(x["samples"] + x["response_time"]["count"]
                                     for x in r["rows"])
                del r["rows"]
                state.setdefault("results", {})[key] = r
                state_file.write_text(json.dumps(state, indent=1))
                print(f"  {targets} targets x {days} days: {r['documents']} documents read, "
                      f"{r['wall']:.1f} s wall, report CPU {r['cpu']:.2f} s, server CPU "
                      f"{r['server_cpu']:.1f} s, peak RSS {r['rss_kib'] / 1024:.1f} MiB, "
                      f"load {r['load']:.1f}", flush=True)
        print_table(state)


def print_table(state):
    print(f"\nserver {state['server']}; history of {state['written']} targets x {state['days']} "
          f"days at {INTERVAL} s")
    for f in state["fill"]:
        built = sum(f.get("index_seconds", {}).values())
        print(f"  written up to {f['targets']} targets: {f['documents']} documents in "
              f"{f['seconds']:.0f} s, indexes built in {built:.0f} s (load {f['load']:.1f})")
    print("\n| targets | days | documents read | wall s | report CPU s | server CPU s | "
          "peak RSS MiB | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key, r in sorted(state.get("results", {}).items(),
                         key=lambda kv: tuple(map(int, kv[0].split("x")))):
        targets, days = key.split("x")
        print(f"| {targets} | {days} | {r['documents']} | {r['wall']:.1f} | {r['cpu']:.2f} | "
              f"{r['server_cpu']:.1f} | {r['rss_kib'] / 1024:.1f} | {r['load']:.1f} |")


if __name__ == "__main__":
    main()
