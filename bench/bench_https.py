"""TLS and HTTPS checks against a local nginx: portprobe vs blackbox_exporter's http module,
and portprobe's tls:// vs a bare OpenSSL client loop (tlsloop.c, the near-limit).

A private CA and a P-256 server certificate (localhost, 127.0.0.1) are made at run time with
openssl (tests/integration/fixtures/certs.py); one nginx worker serves `200 ok` for every path
on one HTTPS port. https targets are https://127.0.0.1:PORT/tN (distinct URLs, one full TLS
handshake and GET each, no connection reuse); tls targets are tls://127.0.0.1:PORT (a full
handshake each, no request). Every tool verifies the chain against the CA. portprobe runs with
its default threads (one per CPU) and with --threads 1. nginx's own CPU is not counted in any
tool's figure (the same for all); it is in the note, because on a 2-core machine it shares the
cores with the tool and bounds the wall time.

Called by run.py (the harness module is __main__) as run(args, tmp, table, only).
"""

import sys
from pathlib import Path

import __main__ as harness

SIZES = (200, 1000)
# memory per target: the growth of peak RSS from 1,000 to MEMORY_SIZE URLs. Both are past
# the 128 handshakes in flight (http_concurrency), whose buffers are the same at both sizes;
# from 200 to 1,000 they varied by more than 1 MiB from run to run, +-1.3 KB per target.
MEMORY_SIZE = 3000
TLS_SIZE = 1000

NGINX_CONF = """\
worker_processes 1;
user root root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl backlog=4096;
    server_name localhost;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""


class Nginx:
    def __init__(self, tmp, leaf):
        d = tmp / "nginx"
        d.mkdir(exist_ok=True)
        self.port = harness.free_base(1)
        conf = d / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=d, port=self.port, chain=leaf.chain,
                                          key=leaf.key))
        self.srv = harness.Server(["/usr/sbin/nginx", "-e", d / "error.log", "-c", conf,
                                   "-g", "daemon off;"], ready_line=None)
        harness.wait_port(self.port)
        pid = self.srv.p.pid
        self.worker = int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])

    def cpu(self):
        return harness.proc_cpu(self.worker)

    def stop(self):
        self.srv.stop()


_certs = {}


def certificates(tmp):
    """The CA and the server's leaf, made once for every run."""
    if not _certs:
        sys.path.insert(0, str(harness.HERE.parent / "tests" / "integration"))
        from fixtures import certs
        _certs["ca"] = certs.make_ca(tmp / "ca")
        _certs["leaf"] = certs.make_leaf(_certs["ca"], tmp / "certs", "server")
    return _certs["ca"], _certs["leaf"]


def portprobe_rows(args, table, scen, n, cfg, web, threads=(None, "1")):
    """portprobe with its default threads and each of `threads`; the peak RSS of the first."""
    rss_first = None
    for t in threads:
        argv = [args.portprobe, "--format", "influx", "--config", cfg]
        if t is not None:
            argv[1:1] = ["--threads", t]
        before = web.cpu()
        cpu, wall, rss, out = harness.measured(argv)
        tool = "portprobe" if t is None else f"portprobe --threads {t}"
        table.add(scen, tool, n, cpu, wall, rss,
                  f"{out.count(' up=1i')} up; nginx {web.cpu() - before:.2f} CPU-s")
        rss_first = rss if rss_first is None else rss_first
    return rss_first


def bench_https(args, tmp, table, ca, web):
    rss_at = {}
    for n in SIZES:
        scen = f"https {n}"
        urls = [f"https://127.0.0.1:{web.port}/t{i}" for i in range(n)]
        print(f"{scen}: {n} URLs on one nginx HTTPS port {web.port}")
        cfg = harness.targets_file(tmp, f"https_{n}", urls, f"ca_file = {ca.cert}")
        rss_at[n] = portprobe_rows(args, table, scen, n, cfg, web)
        bb = harness.Blackbox(tmp, ca.cert)
        try:
            before = web.cpu()
            cpu, wall, rss, ok = bb.probe(urls, "https")
            table.add(scen, "blackbox_exporter", n, cpu, wall, rss,
                      f"{ok} up; nginx {web.cpu() - before:.2f} CPU-s")
        finally:
            bb.stop()
    n = MEMORY_SIZE
    urls = [f"https://127.0.0.1:{web.port}/t{i}" for i in range(n)]
    cfg = harness.targets_file(tmp, f"https_{n}", urls, f"ca_file = {ca.cert}")
    _, _, rss_at[n], out = harness.measured([args.portprobe, "--format", "influx",
                                             "--config", cfg])
    print(f"https {n}: peak RSS {rss_at[n]} KiB, {out.count(' up=1i')} up (memory only)")
    lo, hi = max(SIZES), n
    per = (rss_at[hi] - rss_at[lo]) * 1024 / (hi - lo)
    print(f"https: memory per target {per:.0f} bytes "
          f"(peak RSS {rss_at[lo]} KiB at {lo}, {rss_at[hi]} KiB at {hi})")
    table.per_target = getattr(table, "per_target", {})
    table.per_target.setdefault("https", []).append(per)


def bench_tls(args, tmp, table, ca, web):
    n = TLS_SIZE
    scen = f"tls {n}"
    print(f"{scen}: {n} handshakes on one nginx HTTPS port {web.port}")
    cfg = harness.targets_file(tmp, f"tls_{n}", [f"tls://127.0.0.1:{web.port}"] * n,
                               f"ca_file = {ca.cert}")
    portprobe_rows(args, table, scen, n, cfg, web)
    before = web.cpu()
    cpu, wall, rss, out = harness.measured([args.helpers["tlsloop"], web.port, n, ca.cert])
    table.add(scen, "bare OpenSSL loop", n, cpu, wall, rss,
              f"{out.strip()}; nginx {web.cpu() - before:.2f} CPU-s")


def run(args, tmp, table, only):
    ca, leaf = certificates(tmp)
    web = Nginx(tmp, leaf)
    try:
        if "tls" in only:
            bench_tls(args, tmp, table, ca, web)
        if "https" in only:
            bench_https(args, tmp, table, ca, web)
    finally:
        web.stop()
