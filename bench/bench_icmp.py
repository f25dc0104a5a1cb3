"""ICMP echo to loopback addresses: portprobe vs fping vs blackbox_exporter.

Every 127.0.0.0/8 address answers on lo without configuration, so the targets
are 127.20.y.z. portprobe and fping send `COUNT` echoes to every target (fping
paced like portprobe: 200 ms between echoes to one host, 1 ms between any two
echoes, instead of its 1 s / 10 ms defaults, which only stretch the wall time);
blackbox_exporter's icmp module sends one echo per probe. The comparable figure
is CPU per echo: CPU / (targets * echoes per target), shown per 1,000 echoes.

Called by run.py (the harness module is __main__) as run(args, tmp, table).
"""

import __main__ as harness

COUNT = 5
SIZES = (100, 1000)  # portprobe at both: memory per target; peers at the largest


def addresses(n):
    return [f"127.20.{i // 250}.{i % 250 + 1}" for i in range(n)]


def run(args, tmp, table):
    rss_at = {}
    for n in SIZES:
        addrs = addresses(n)
        scen = f"icmp {n}"
        echoes = n * COUNT
        print(f"{scen}: {n} addresses on lo (127.20.y.z), {COUNT} echoes each")
        cfg = harness.targets_file(tmp, f"icmp_{n}", [f"icmp://{a}" for a in addrs],
                                   f"count = {COUNT}")
        cpu, wall, rss, out = harness.measured([args.portprobe, "--format", "influx",
                                                "--config", cfg])
        got = out.count(f"packets_received={COUNT}i")
        rss_at[n] = rss
        table.add(scen, "portprobe", echoes, cpu, wall, rss,
                  f"echoes; {got}/{n} targets all {COUNT} replies")
        if n != max(SIZES):
            continue
        hosts = tmp / "fping_hosts.txt"
        hosts.write_text("\n".join(addrs) + "\n")
        cpu, wall, rss, _ = harness.measured(
            ["/usr/bin/fping", "-c", str(COUNT), "-q", "-p", "200", "-i", "1", "-f", hosts])
        summary = harness.measured.stderr
        got = summary.count(f"= {COUNT}/{COUNT}/0%")
        table.add(scen, "fping -c 5 -q", echoes, cpu, wall, rss,
                  f"echoes; {got}/{n} targets all {COUNT} replies")
        bb = harness.Blackbox(tmp)
        try:
            cpu, wall, rss, ok = bb.probe(addrs, "icmp")
            table.add(scen, "blackbox_exporter", n, cpu, wall, rss,
                      f"echoes (1 per probe); {ok} up")
        finally:
            bb.stop()
    lo, hi = min(rss_at), max(rss_at)
    per = (rss_at[hi] - rss_at[lo]) * 1024 / (hi - lo)
    print(f"icmp: memory per target {per:.0f} bytes "
          f"(peak RSS {rss_at[lo]} KiB at {lo}, {rss_at[hi]} KiB at {hi})")
    table.per_target = getattr(table, "per_target", {})
    table.per_target.setdefault("icmp", []).append(per)
