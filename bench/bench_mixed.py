"""A round of mixed kinds on every core: portprobe with its default threads (one per CPU)
against the same round forced onto one loop (--threads 1).

One round: TCP connects to 1,000 open ports (testserver tcp), SMTP dialogs on 1,000 more
(testserver smtp, starttls = no), 1,000 HTTPS URLs on one nginx worker (as bench_https.py),
and ICMP to 100 loopback addresses (3 echoes 20 ms apart). The servers run on the same cores:
their CPU during the round is in the note, because a round cannot end before they have done
their part, whatever the number of client threads.

Called by run.py (the harness module is __main__) as run(args, tmp, table, helpers).
"""

import __main__ as harness
import bench_https
import bench_icmp

TCP, SMTP, HTTPS, ICMP, ECHOES = 1000, 1000, 1000, 100, 3


def config(tmp, tcp_base, smtp_base, web, ca):
    f = tmp / "mixed.ini"
    with f.open("w") as out:
        out.write("[defaults]\ntimeout = 5s\n\n")
        for i in range(TCP):
            out.write(f"[tcp{i}]\nurl = tcp://127.0.0.1:{tcp_base + i}\n")
        for i in range(SMTP):
            out.write(f"[smtp{i}]\nurl = smtp://127.0.0.1:{smtp_base + i}\nstarttls = no\n")
        for i in range(HTTPS):
            out.write(f"[https{i}]\nurl = https://127.0.0.1:{web.port}/m{i}\n"
                      f"ca_file = {ca.cert}\n")
        for a in bench_icmp.addresses(ICMP):
            out.write(f"[{a}]\nurl = icmp://{a}\ncount = {ECHOES}\nspacing = 20ms\n")
    return f


def run(args, tmp, table, helpers):
    ca, leaf = bench_https.certificates(tmp)
    web = bench_https.Nginx(tmp, leaf)
    tcp_srv, tcp_base = harness.start_testserver(helpers, "tcp", TCP, 0)
    smtp_srv = None
    try:
        smtp_srv, smtp_base = harness.start_testserver(helpers, "smtp", SMTP, 0)
        n = TCP + SMTP + HTTPS + ICMP
        scen = f"mixed {n}"
        print(f"{scen}: {TCP} tcp, {SMTP} smtp, {HTTPS} https, {ICMP} icmp x {ECHOES}")
        cfg = config(tmp, tcp_base, smtp_base, web, ca)
        servers = (web.worker, tcp_srv.p.pid, smtp_srv.p.pid)
        for threads in (None, "1"):
            argv = [args.portprobe, "--format", "influx", "--config", cfg]
            if threads:
                argv[1:1] = ["--threads", threads]
            before = sum(harness.proc_cpu(p) for p in servers)
            cpu, wall, rss, out = harness.measured(argv)
            server_cpu = sum(harness.proc_cpu(p) for p in servers) - before
            tool = "portprobe" if threads is None else f"portprobe --threads {threads}"
            table.add(scen, tool, n, cpu, wall, rss,
                      f"{out.count(' up=1i')} up; servers {server_cpu:.2f} CPU-s")
    finally:
        for s in (smtp_srv, tcp_srv):
            if s is not None:
                s.stop()
        web.stop()
