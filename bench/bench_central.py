#!/usr/bin/python3
"""The central collectd of several locations, under load: its CPU per 1,000 values a second
received through collectd's network plugin (SecurityLevel Encrypt), with and without
portprobe's <Consensus> and portprobe_mongodb.

    bench/bench_central.py [--builddir build] [--rates 1000,5000] [--seconds 20]
                           [--mongo ferretdb|secantusdb|none]

Senders are real collectd instances (one per location, each with its own user and password)
whose exec plugin emits what portprobe sends per target and round: bool-up,
response_time-total, response_time-connect, bool-flapping, portprobe_flapping (5 values), under
the location's host name. The central's CPU is utime + stime from /proc/PID/stat over the
measuring window (after a warm-up); the values it accepted come from its network plugin's own
counters (ReportStats, read through unixsock), so a lost packet shows as a lower rate.
Everything runs on 127.0.0.1 and is stopped by PID. Needs root (exec runs as nobody).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
from fixtures import collectd_plugins, mongo_servers, procs  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
COLLECTD = procs.which("collectd") or "/usr/sbin/collectd"
LOCATIONS = ("fra1", "nyc1", "sgp1")
VALUES_PER_TARGET = 5

SENDER = r'''import sys, time
hosts, targets, interval = sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3])
lines = []
for h in hosts:
    for i in range(targets):
        p = f'PUTVAL "{h}/portprobe-t{i}/'
        lines += [p + 'bool-up" interval=%g N:1' % interval,
                  p + 'response_time-total" interval=%g N:0.012' % interval,
                  p + 'response_time-connect" interval=%g N:0.004' % interval,
                  p + 'bool-flapping" interval=%g N:0' % interval,
                  p + 'portprobe_flapping" interval=%g N:0' % interval]
text = "\n".join(lines) + "\n"
due = time.time()
while True:
    sys.stdout.write(text)
    sys.stdout.flush()
    due += interval
    time.sleep(max(0.0, due - time.time()))
'''


def conf(workdir, plugindir, hostname, body):
    path = workdir / "collectd.conf"
    path.write_text(f"""Hostname "{hostname}"
FQDNLookup false
BaseDir "{workdir}"
PIDFile "{workdir}/collectd.pid"
PluginDir "{plugindir}"
TypesDB "/usr/share/collectd/types.db" "{REPO / 'collectd-plugin' / 'types.db'}"
Interval 1
Timeout 2
WriteQueueLimitHigh 1000000
WriteQueueLimitLow 1000000
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{workdir}/collectd.log"
</Plugin>
{body}
""")
    return path


def start(reg, workdir, confpath, name):
    log = workdir / "collectd.log"
    p = reg.start([COLLECTD, "-f", "-C", confpath], workdir / "stdout", name=name, logs=[log])
    procs.wait_until(lambda: log.exists() and "Initialization complete" in log.read_text(),
                     p, "collectd's start", 20)
    return p


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def udp_rcvbuf_errors():
    """The kernel's count of UDP datagrams dropped for a full receive buffer (this netns)."""
    lines = [l.split() for l in Path("/proc/net/snmp").read_text().splitlines()
             if l.startswith("Udp:")]
    return int(lines[1][lines[0].index("RcvbufErrors")])


def rss_kib(pid):
    m = re.search(r"^VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1))


def accepted_rate(sock):
    """Values a second the central's network plugin dispatched in its latest interval."""
    out = subprocess.run(["collectdctl", "-s", sock, "getval",
                          "central/network/total_values-dispatch-accepted"],
                         capture_output=True, text=True).stdout
    m = re.search(r"^value=(\S+)$", out, re.M)
    return float(m.group(1)) if m else float("nan")


def stored(mongo):
    """Documents in the bench database's metrics collection (0 without a server)."""
    if mongo is None:
        return 0
    client = mongo.client()
    try:
        return client.bench.metrics.estimated_document_count()
    finally:
        client.close()


def bson_size(mongo, sample=1000):
    """Mean BSON size of stored metrics documents (as the driver sends them)."""
    import bson
    client = mongo.client()
    try:
        docs = list(client.bench.metrics.find().limit(sample))
        return sum(len(bson.encode(d)) for d in docs) / max(1, len(docs))
    finally:
        client.close()


def central_body(port, authfile, sock, consensus, mongo):
    body = f"""LoadPlugin network
<Plugin network>
  <Listen "127.0.0.1" "{port}">
    SecurityLevel Encrypt
    AuthFile "{authfile}"
  </Listen>
  ReportStats true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{sock}"
</Plugin>
"""
    if consensus:
        body += "LoadPlugin portprobe\n<Plugin portprobe>\n  <Consensus>\n    Quorum 2\n" \
                "  </Consensus>\n</Plugin>\n"
    if mongo:
        body += f"""LoadPlugin portprobe_mongodb
<Plugin portprobe_mongodb>
  URI "{mongo.uri}"
  Database "bench"
  StorePlugin "portprobe"
  FlushInterval 1
</Plugin>
"""
    return body


def run_one(args, tmp, plugindir, rate, consensus, mongo_kind):
    """One measurement: returns (accepted values/s, CPU s per s, CPU ms per 1,000 values, RSS)."""
    targets = max(1, round(rate / (len(LOCATIONS) * VALUES_PER_TARGET)))
    with procs.Registry() as reg:
        work = Path(tempfile.mkdtemp(prefix="run-", dir=tmp))
        work.chmod(0o755)
        mongo = None
        if mongo_kind != "none":
            mongo = mongo_servers.STARTERS[mongo_kind](reg, work)
        port = procs.free_port(udp=True)
        passwords = {loc: os.urandom(8).hex() for loc in LOCATIONS}
        authfile = work / "passwd"
        authfile.write_text("".join(f"{u}: {p}\n" for u, p in passwords.items()))
        cdir = work / "central"
        cdir.mkdir()
        sock = cdir / "sock"
        central = start(reg, cdir, conf(cdir, plugindir, "central", central_body(
            port, authfile, sock, consensus, mongo)), "central")
        script = work / "sender.py"
        script.write_text(SENDER)
        script.chmod(0o755)
        for loc in LOCATIONS:
            d = work / loc
            d.mkdir()
            d.chmod(0o755)
            body = f"""<LoadPlugin network>
  FlushInterval 1
</LoadPlugin>
<Plugin network>
  <Server "127.0.0.1" "{port}">
    SecurityLevel Encrypt
    Username "{loc}"
    Password "{passwords[loc]}"
  </Server>
</Plugin>
LoadPlugin exec
<Plugin exec>
  Exec "nobody" "/usr/bin/python3" "{script}" "{loc}" "{targets}" "1"
</Plugin>
"""
            start(reg, d, conf(d, plugindir, loc, body), f"sender-{loc}")
        time.sleep(args.warmup)
        stored0, drops0 = stored(mongo), udp_rcvbuf_errors()
        c0, t0 = cpu_ticks(central.pid), time.monotonic()
        rates = []
        while time.monotonic() < t0 + args.seconds:
            time.sleep(1)
            rates.append(accepted_rate(sock))  # the rate of the latest interval
        c1, t1 = cpu_ticks(central.pid), time.monotonic()
        stored1, drops1 = stored(mongo), udp_rcvbuf_errors()
        if drops1 > drops0:
            print(f"({drops1 - drops0} UDP datagrams dropped for a full receive buffer)")
        if mongo is not None:
            print(f"(mean BSON size of a metrics document: {bson_size(mongo):.0f} bytes)")
        accepted = sum(rates) / len(rates)
        rss = rss_kib(central.pid)
        cpu_per_s = (c1 - c0) / TICK / (t1 - t0)
        return targets, accepted, cpu_per_s, rss, (stored1 - stored0) / (t1 - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--rates", default="1000,5000")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--mongo", default="ferretdb", choices=("ferretdb", "secantusdb", "none"))
    args = ap.parse_args()
    builddir = Path(args.builddir).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="pp-bench-central-"))
    tmp.chmod(0o755)
    try:
        plugindir = tmp / "plugins"
        plugindir.mkdir()
        for name in ("logfile", "network", "unixsock", "exec"):
            collectd_plugins.copy(name, plugindir)
        for rel in ("collectd-plugin/.libs/portprobe.so",
                    "mongodb-plugin/.libs/portprobe_mongodb.so"):
            shutil.copy(builddir / rel, plugindir)
        print("| values/s sent | setup | targets x locations | accepted values/s | "
              "central CPU % | CPU ms per 1,000 values | RSS MiB | documents/s stored |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        # (network alone is no baseline: with no write plugin, collectd logs the available
        # writers for every value)
        setups = [("network + consensus", True, "none")]
        if args.mongo != "none":
            setups.append((f"network + consensus + portprobe_mongodb ({args.mongo})",
                           True, args.mongo))
        for rate in (int(r) for r in args.rates.split(",")):
            for label, consensus, mongo in setups:
                targets, accepted, cpu, rss, docs = run_one(args, tmp, plugindir, rate,
                                                            consensus, mongo)
                sent = targets * len(LOCATIONS) * VALUES_PER_TARGET
                per_k = cpu * 1000 / accepted * 1000 if accepted > 0 else float("nan")
                print(f"| {sent} | {label} | {targets} x {len(LOCATIONS)} | {accepted:.0f} | "
                      f"{cpu * 100:.1f} | {per_k:.1f} | {rss / 1024:.1f} | "
                      f"{docs:.0f} |", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
