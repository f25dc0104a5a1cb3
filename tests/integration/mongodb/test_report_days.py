"""portprobe-report over several days, on a real SecantusDB, and a report cut off midway.

The report looks for the window's series a day at a time (one aggregation per day, so that no
query's work grows with the window) and merges what each day found. Here three targets are
written in portprobe_mongodb's schema over three days: `a` every day, `b` on the first and the
last, `c` on the middle one. Each must be one row, in order, with its own samples, and the days
without data unknown.

A report whose server goes away midway must not look whole: a loopback proxy in front of the
real server drops every connection that sends an aggregation; the report exits 1, names the URI
and the collection, and says in its output that it is incomplete.
"""

import json
import os
import socket
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness import RealMongo, make_workdir

BUILDDIR = Path(os.environ.get("PORTPROBE_BUILDDIR")
                or Path(__file__).resolve().parents[3] / "build")
REPORT = BUILDDIR / "report" / "portprobe-report"
INTERVAL = 600
PER_DAY = 86400 // INTERVAL
DAYS = {"a": (0, 1, 2), "b": (0, 2), "c": (1,)}


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_report(uri, *args):
    return subprocess.run([str(REPORT), "--uri", uri, "--database", "pp_days", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TZ="UTC"))


@pytest.fixture(scope="module")
def days():
    """(server, start): three days of `up` values from `start`, midnight UTC."""
    mongo = RealMongo("secantusdb", make_workdir(), database="pp_days").start()
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=4)
    docs = []
    for target, on in DAYS.items():
        meta = {"host": "probe1", "plugin": "portprobe", "plugin_instance": target,
                "type": "bool", "type_instance": "up", "labels": {"location": "fra1"}}
        for day in on:
            for k in range(PER_DAY):
                docs.append({"time": start + timedelta(days=day, seconds=k * INTERVAL),
                             "meta": meta, "interval": float(INTERVAL), "value": 1.0})
    mongo.db().metrics.insert_many(docs)
    try:
        yield mongo, start
    finally:
        mongo.close()


def test_each_target_is_one_row_with_its_days_whichever_day_it_was_seen(days):
    mongo, start = days
    done = run_report(mongo.uri, "--from", iso(start), "--to", iso(start + timedelta(days=3)),
                      "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["targets"]
    assert [r["target"] for r in rows] == ["a", "b", "c"]
    for r in rows:
        seen = len(DAYS[r["target"]])
        assert r["samples"] == seen * PER_DAY, r
        assert r["availability"] == 100 and r["down_seconds"] == 0, r
        # a day without data is unknown, give or take the interval at each edge
        assert abs(r["unknown_seconds"] - (3 - seen) * 86400) <= 2 * INTERVAL, r
    assert "error" not in json.loads(done.stdout)


class CuttingProxy:
    """A loopback TCP proxy to a real server that drops a connection, both ways, as soon as
    its client sends a command holding `word` (as a server that dies midway would)."""

    def __init__(self, upstream_port, word=b"aggregate\x00"):
        self.upstream_port, self.word = upstream_port, word
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, from_client):
        try:
            while data := src.recv(65536):
                if from_client and self.word in data:
                    self.cut += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()


def test_a_report_cut_off_midway_says_so_and_fails(days):
    mongo, start = days
    proxy = CuttingProxy(mongo.port)
    try:
        uri = f"mongodb://127.0.0.1:{proxy.port}/"
        window = ("--from", iso(start), "--to", iso(start + timedelta(days=3)))
        done = run_report(uri, *window, "--format", "json")
        assert proxy.cut >= 1  # the server answered, then the aggregation was cut
        assert done.returncode == 1, done.stdout
        where = f'127.0.0.1:{proxy.port}/, database "pp_days", collection "metrics"'
        assert where in done.stderr, done.stderr
        report = json.loads(done.stdout)  # still one JSON document, and it says it failed
        assert report["targets"] == [] and where in report["error"], report
        text = run_report(uri, *window)
        assert text.returncode == 1
        assert "report incomplete: " in text.stdout and where in text.stdout, text.stdout
        assert "no portprobe data in this window" not in text.stdout
        html = run_report(uri, *window, "--format", "html")
        assert html.returncode == 1 and "Report incomplete: " in html.stdout
        assert "No portprobe data" not in html.stdout
    finally:
        proxy.close()
