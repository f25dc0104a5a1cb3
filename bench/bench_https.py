"""HTTPS checks against a local nginx: portprobe vs blackbox_exporter's http module.

A private CA and a P-256 server certificate (localhost, 127.0.0.1) are made
at run time with openssl (tests/integration/fixtures/certs.py); one nginx
worker serves `200 ok` for every path on one HTTPS port. Targets are
https://127.0.0.1:PORT/tN (distinct URLs, one full TLS handshake and GET
each, no connection reuse); both tools verify the chain against the CA.
nginx's own CPU is not counted (the same for both tools).

Called by run.py (the harness module is __main__) as run(args, tmp, table).
"""

import sys

import __main__ as harness

SIZES = (200, 1000)

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


def start_nginx(tmp, leaf):
    d = tmp / "nginx"
    d.mkdir(exist_ok=True)
    port = harness.free_base(1)
    conf = d / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=d, port=port, chain=leaf.chain, key=leaf.key))
    srv = harness.Server(["/usr/sbin/nginx", "-e", d / "error.log", "-c", conf,
                          "-g", "daemon off;"], ready_line=None)
    harness.wait_port(port)
    return srv, port


def run(args, tmp, table):
    sys.path.insert(0, str(harness.HERE.parent / "tests" / "integration"))
    from fixtures import certs

    ca = certs.make_ca(tmp / "ca")
    leaf = certs.make_leaf(ca, tmp / "certs", "server")
    srv, port = start_nginx(tmp, leaf)
    rss_at = {}
    try:
        for n in SIZES:
            scen = f"https {n}"
            urls = [f"https://127.0.0.1:{port}/t{i}" for i in range(n)]
            print(f"{scen}: {n} URLs on one nginx HTTPS port {port}")
            cfg = harness.targets_file(tmp, f"https_{n}", urls, f"ca_file = {ca.cert}")
            cpu, wall, rss, out = harness.measured([args.portprobe, "--format", "influx",
                                                    "--config", cfg])
            rss_at[n] = rss
            table.add(scen, "portprobe", n, cpu, wall, rss, f"{out.count(' up=1i')} up")
            bb = harness.Blackbox(tmp, ca.cert)
            try:
                cpu, wall, rss, ok = bb.probe(urls, "https")
                table.add(scen, "blackbox_exporter", n, cpu, wall, rss, f"{ok} up")
            finally:
                bb.stop()
    finally:
        srv.stop()
    lo, hi = min(rss_at), max(rss_at)
    per = (rss_at[hi] - rss_at[lo]) * 1024 / (hi - lo)
    print(f"https: memory per target {per:.0f} bytes "
          f"(peak RSS {rss_at[lo]} KiB at {lo}, {rss_at[hi]} KiB at {hi})")
    table.per_target = getattr(table, "per_target", {})
    table.per_target["https"] = per
