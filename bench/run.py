#!/usr/bin/python3
"""portprobe against its peers, side by side, on the same loopback targets in
one run. Prints a table of measured figures and ratios.

    bench/run.py [--builddir build] [--sizes 1000,10000] [--only tcp,smtp,icmp,https,dns]

Figures: CPU seconds (user+system) per 1,000 checks, wall time per round,
peak RSS, and memory per target (the growth of peak RSS between the small and
the large round, divided by the added targets). CPU of a child process comes
from wait4's rusage; blackbox_exporter's from /proc/PID/stat before and after.
"""

import argparse
import concurrent.futures
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def build_helpers(tmp):
    out = {}
    for name in ("testserver", "connectloop", "rusage"):
        exe = tmp / name
        subprocess.run(["cc", "-O2", "-o", exe, HERE / f"{name}.c"], check=True)
        out[name] = exe
    return out


def free_base(count, after=0):
    """A base port with count free ports above it (each probed by binding);
    `after` skips bases below it (a retry after a lost race)."""
    for base in range(max(10000, after), 60000 - count, 1000):
        ok = True
        for p in range(base, base + count):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as testserver
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


class Server:
    def __init__(self, argv, ready_line="ready"):
        self.p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        if ready_line:
            line = self.p.stdout.readline().strip()
            if line != ready_line:
                raise RuntimeError(f"{argv[0]} did not start: {line!r}")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except ValueError:
        pass


def measured(argv, stdin=None):
    """(cpu seconds, wall seconds, peak RSS KiB, stdout) of one command, taken
    by bench/rusage.c so that the interpreter's pages do not count."""
    stats = measured.tmp / "rusage.txt"
    p = subprocess.run([str(measured.rusage), str(stats), *map(str, argv)],
                       input=stdin, capture_output=True, text=True)
    cpu, wall, rss, _status = stats.read_text().split()
    measured.stderr = p.stderr
    return float(cpu), float(wall), int(rss), p.stdout


def proc_cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_hwm(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_many_processes(argvs, parallel=4):
    """CPU of many short processes (check_tcp and friends): summed rusage.
    Peak RSS is that of one of them, run alone under rusage.c (the
    RUSAGE_CHILDREN maximum would include earlier children, such as cc)."""
    peak = measured(argvs[0])[2]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        for p in ex.map(lambda a: subprocess.run([str(x) for x in a], capture_output=True), argvs):
            pass
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, peak


class Blackbox:
    """prometheus-blackbox-exporter on loopback; probes driven through /probe
    by a thread pool; its own CPU read from /proc."""

    CONFIG = """modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
  smtp_banner:
    prober: tcp
    timeout: 5s
    tcp:
      query_response:
        - expect: "^220"
        - send: "EHLO bench\\r\\n"
        - expect: "^250 "
        - send: "QUIT\\r\\n"
        - expect: "^221"
  icmp:
    prober: icmp
    timeout: 5s
  https:
    prober: http
    timeout: 5s
    http:
      tls_config:
        ca_file: "{ca}"
"""

    def __init__(self, tmp, ca=""):
        exe = shutil.which("prometheus-blackbox-exporter")
        if not exe:
            raise RuntimeError("prometheus-blackbox-exporter not installed")
        cfg = tmp / "blackbox.yml"
        cfg.write_text(self.CONFIG.replace("{ca}", str(ca)))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.p = subprocess.Popen([exe, f"--config.file={cfg}",
                                   f"--web.listen-address=127.0.0.1:{self.port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def probe(self, targets, module, parallel=64):
        def one(t):
            url = f"http://127.0.0.1:{self.port}/probe?module={module}&target={t}"
            with urllib.request.urlopen(url, timeout=30) as r:
                body = r.read().decode()
            return "probe_success 1" in body
        cpu0 = proc_cpu(self.p.pid)
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
            ok = sum(ex.map(one, targets))
        wall = time.monotonic() - start
        return proc_cpu(self.p.pid) - cpu0, wall, proc_hwm(self.p.pid), ok

    def stop(self):
        self.p.terminate()
        self.p.wait(5)


class Table:
    def __init__(self):
        self.rows = []

    def add(self, scenario, tool, checks, cpu, wall, rss_kib, note=""):
        self.rows.append(dict(scenario=scenario, tool=tool, checks=checks, cpu=cpu,
                              wall=wall, rss=rss_kib, note=note))
        print(f"  {scenario:<18} {tool:<24} {checks:>6} checks  cpu {cpu:7.3f}s  "
              f"wall {wall:7.3f}s  rss {rss_kib/1024:7.1f} MiB {note}", flush=True)

    def render(self):
        lines = ["| scenario | tool | checks | CPU s / 1,000 checks | CPU vs portprobe | "
                 "wall s | peak RSS MiB | note |", "|---|---|---:|---:|---:|---:|---:|---|"]
        base = {r["scenario"]: r for r in self.rows if r["tool"] == "portprobe"}
        for r in self.rows:
            per = r["cpu"] / r["checks"] * 1000
            b = base.get(r["scenario"])
            ratio = ""
            if b and b["cpu"] > 0:
                ratio = f"{(r['cpu'] / r['checks']) / (b['cpu'] / b['checks']):.2f}x"
            lines.append(f"| {r['scenario']} | {r['tool']} | {r['checks']} | {per:.4f} | "
                         f"{ratio} | {r['wall']:.3f} | {r['rss']/1024:.1f} | {r['note']} |")
        return "\n".join(lines)


def targets_file(tmp, name, urls, extra=""):
    f = tmp / f"{name}.ini"
    with f.open("w") as out:
        out.write(f"[defaults]\ntimeout = 5s\n{extra}\n")
        for i, u in enumerate(urls):
            out.write(f"[t{i}]\nurl = {u}\n")
    return f


def start_testserver(helpers, kind, n, skip):
    """testserver on n free ports, every skip-th closed (0: none): (Server, base)."""
    base = free_base(n)
    for attempt in range(5):  # other programs may take a port meanwhile
        try:
            return Server([helpers["testserver"], kind, base, n, skip]), base
        except RuntimeError:
            if attempt == 4:
                raise
            base = free_base(n, base + 1000)


def bench_all_open(args, tmp, helpers, table, n):
    """The issue's wall-time target is for a round where every target answers."""
    srv, base = start_testserver(helpers, "tcp", n, 0)
    scen = f"tcp {n} all open"
    try:
        print(f"{scen}: {n} ports on 127.0.0.1 from {base}, none closed")
        cfg = targets_file(tmp, f"tcp_{n}_open", [f"tcp://127.0.0.1:{base + i}" for i in range(n)])
        cpu, wall, rss, out = measured([args.portprobe, "--format", "influx", "--config", cfg])
        table.add(scen, "portprobe", n, cpu, wall, rss, f"{out.count(' up=1i')} up")
        cpu, wall, rss, out = measured([helpers["connectloop"], base, n, 5000])
        table.add(scen, "epoll connect loop", n, cpu, wall, rss, out.strip())
    finally:
        srv.stop()


def bench_tcp(args, tmp, helpers, table, kind):
    rss_at = {}
    for n in args.sizes:
        srv, base = start_testserver(helpers, kind, n, 10)
        scen = f"{kind} {n}"
        try:
            print(f"{scen}: {n} ports on 127.0.0.1 from {base}, every 10th closed")
            if kind == "tcp":
                urls = [f"tcp://127.0.0.1:{base + i}" for i in range(n)]
            else:
                urls = [f"smtp://127.0.0.1:{base + i}" for i in range(n)]
            cfg = targets_file(tmp, scen.replace(" ", "_"), urls,
                               "starttls = no" if kind == "smtp" else "")
            cpu, wall, rss, out = measured([args.portprobe, "--format", "influx",
                                            "--config", cfg])
            ups = out.count(" up=1i")
            table.add(scen, "portprobe", n, cpu, wall, rss, f"{ups} up")
            rss_at[n] = rss
            if kind == "tcp":
                cpu, wall, rss, out = measured([helpers["connectloop"], base, n, 5000])
                table.add(scen, "epoll connect loop", n, cpu, wall, rss, out.strip())
            bb = Blackbox(tmp)
            try:
                module = "tcp_connect" if kind == "tcp" else "smtp_banner"
                cpu, wall, rss, ok = bb.probe([f"127.0.0.1:{base + i}" for i in range(n)], module)
                table.add(scen, "blackbox_exporter", n, cpu, wall, rss, f"{ok} up")
            finally:
                bb.stop()
            if n <= args.process_limit:
                plugin = "/usr/lib/nagios/plugins/" + ("check_tcp" if kind == "tcp" else "check_smtp")
                argvs = [[plugin, "-H", "127.0.0.1", "-p", str(base + i), "-t", "5"]
                         for i in range(n)]
                cpu, wall, rss = run_many_processes(argvs)
                table.add(scen, Path(plugin).name, n, cpu, wall, rss, "one process per check")
        finally:
            srv.stop()
    if kind == "tcp":
        bench_all_open(args, tmp, helpers, table, max(args.sizes))
    if len(rss_at) >= 2:
        lo, hi = min(rss_at), max(rss_at)
        per = (rss_at[hi] - rss_at[lo]) * 1024 / (hi - lo)
        print(f"{kind}: memory per target {per:.0f} bytes "
              f"(peak RSS {rss_at[lo]} KiB at {lo}, {rss_at[hi]} KiB at {hi})")
        table.per_target = getattr(table, "per_target", {})
        table.per_target[kind] = per


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builddir", default=str(HERE.parent / "build"))
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--only", default="tcp,smtp,icmp,https,dns")
    ap.add_argument("--process-limit", type=int, default=1000,
                    help="largest round for one-process-per-check peers")
    args = ap.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.portprobe = Path(args.builddir) / "telegraf-exec" / "portprobe"
    if not args.portprobe.exists():
        sys.exit(f"build portprobe first: no {args.portprobe}")
    raise_nofile()
    table = Table()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        helpers = build_helpers(tmp)
        measured.tmp, measured.rusage = tmp, helpers["rusage"]
        only = args.only.split(",")
        for kind in ("tcp", "smtp"):
            if kind in only:
                bench_tcp(args, tmp, helpers, table, kind)
        for extra in ("icmp", "https", "dns"):
            if extra in only:
                mod = __import__(f"bench_{extra}")
                mod.run(args, tmp, table)
    print()
    print(table.render())
    for kind, per in getattr(table, "per_target", {}).items():
        print(f"\n{kind}: memory per target {per:.0f} bytes")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
