"""DNS: 10,000 queries in one round against a local NSD, portprobe vs blackbox_exporter's
dns prober.

NSD (Debian nsd) serves bench.test. on a free loopback port, with a 16 MiB receive buffer
so that a burst of 10,000 datagrams is not dropped by the kernel before NSD reads it, and
without response rate limiting (RRL, on by default at 200 answers a second to one source:
every query here comes from 127.0.0.1).
Both tools ask www.bench.test A of it (blackbox_exporter's dns module names one query per
module; its /probe target is the server), over UDP, 10,000 times: portprobe as 10,000
dns targets of one round, blackbox_exporter as 10,000 probes through /probe, 64 at a time.
The figure is CPU per query (the tool's own process: rusage for portprobe, /proc for
blackbox_exporter) and the wall time of the round.

Called by run.py (the harness module is __main__) as run(args, tmp, table).
"""

import shutil
import socket
import subprocess
import time

import __main__ as harness

SIZES = (1000, 10000)

ZONE = """$ORIGIN bench.test.
$TTL 300
@ IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
@ IN NS ns.bench.test.
ns IN A 127.0.0.1
www IN A 192.0.2.80
"""

NSD_CONF = """server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{dir}"
  pidfile: "{dir}/nsd.pid"
  database: ""
  zonelistfile: "{dir}/zone.list"
  xfrdfile: "{dir}/xfrd.state"
  xfrdir: "{dir}"
  logfile: "{dir}/nsd.log"
  server-count: 1
  receive-buffer-size: 16777216
  send-buffer-size: 16777216
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "bench.test."
  zonefile: "{dir}/bench.test.zone"
"""

BLACKBOX_DNS = """
  dns_bench:
    prober: dns
    timeout: 5s
    dns:
      query_name: "www.bench.test"
      query_type: "A"
      transport_protocol: "udp"
      preferred_ip_protocol: "ip4"
      ip_protocol_fallback: false
      valid_rcodes: ["NOERROR"]
"""


def start_nsd(tmp):
    exe = shutil.which("nsd") or shutil.which("nsd", path="/usr/sbin")
    if not exe:
        raise RuntimeError("nsd not installed (apt-get install nsd)")
    d = tmp / "nsd"
    d.mkdir(exist_ok=True)
    (d / "bench.test.zone").write_text(ZONE)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "nsd.conf").write_text(NSD_CONF.format(port=port, dir=d))
    p = subprocess.Popen([exe, "-d", "-c", d / "nsd.conf"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    harness.wait_port(port)
    return p, port


def run(args, tmp, table):
    nsd, port = start_nsd(tmp)
    try:
        for n in SIZES:
            scen = f"dns {n}"
            print(f"{scen}: {n} queries www.bench.test A to NSD on 127.0.0.1:{port} (UDP)")
            urls = [f"dns://127.0.0.1:{port}" for _ in range(n)]
            cfg = harness.targets_file(tmp, f"dns_{n}", urls, "query = www.bench.test")
            cpu, wall, rss, out = harness.measured([args.portprobe, "--format", "influx",
                                                    "--config", cfg])
            table.add(scen, "portprobe", n, cpu, wall, rss, f"{out.count(' up=1i')} up")
            if n != max(SIZES):
                continue
            harness.Blackbox.CONFIG += BLACKBOX_DNS
            bb = harness.Blackbox(tmp)
            try:
                cpu, wall, rss, ok = bb.probe([f"127.0.0.1:{port}"] * n, "dns_bench")
                table.add(scen, "blackbox_exporter", n, cpu, wall, rss, f"{ok} up")
            finally:
                bb.stop()
    finally:
        nsd.terminate()
        nsd.wait(5)
        time.sleep(0.1)
