"""Every address (addresses=all) and every MX host (mx=yes): each checked at once, each a
record of its own, and the target's record summing them up.

A lab of two network namespaces: the server has two IPv4 and two IPv6 addresses on one
link; nftables drops one IPv4 address's ports (a silent load balancer member) and makes one
IPv6 address refuse (a service not bound to IPv6). The project's DNS server answers the names,
the MX records included; a web server and an SMTP server (aiosmtpd, STARTTLS with a
certificate for the MX host names) listen on every address.
"""

import json
import time

import pytest

from conftest import parse_influx
from fixtures import certs, dns, netns, procs

V4_OK, V4_DROP = "10.250.5.2", "10.250.5.3"
V6_OK, V6_REFUSE = "fd00:5::2", "fd00:5::3"
WEB = 8080


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(client namespace, resolver, CA file)."""
    netns.require()
    with procs.Registry() as registry:
        work = procs.shared_tmpdir(registry, prefix="pp-every-address-")
        pair = netns.create_pair(registry, "10.250.5.1", V4_OK, prefix=24)
        for ns, addrs in ((pair.client, ["fd00:5::1/64"]),
                          (pair.server, [f"{V4_DROP}/24", f"{V6_OK}/64", f"{V6_REFUSE}/64"])):
            for addr in addrs:
                procs.run(["ip", "-n", ns, "addr", "add", addr, "dev", "veth0", "nodad"])
        cert_set = certs.make_cert_set(work / "certs")
        mx_leaf = certs.make_leaf(cert_set.ca, work / "certs", "mx",
                                  dns_names=["mx1.test", "mx2.test"], ips=[])
        web = registry.start(netns.exec_argv(pair.server, [
            procs.PYTHON, "-m", "http.server", "--bind", "::", "--directory", work, WEB]),
            work / "http.log", name="http.server")
        mail = registry.start(netns.exec_argv(pair.server, [
            *procs.script("smtp_sink_server.py"), "--host", "", "--port", 25,
            "--maildir", work / "maildir", "--tls", "starttls",
            "--cert", mx_leaf.chain, "--key", mx_leaf.key]),
            work / "smtp.log", name="smtp-sink")
        import mailbox
        mailbox.Maildir(work / "maildir", create=True)
        client = netns.connector(pair.client)
        for process, port in ((web, WEB), (mail, 25)):
            procs.wait_for_port(process, port, V4_OK, connector=client)
        for port in (WEB, 25):
            netns.add_input_rule(pair.server, f"ip daddr {V4_DROP} tcp dport {port} drop")
            netns.add_input_rule(pair.server,
                                 f"ip6 daddr {V6_REFUSE} tcp dport {port} reject with tcp reset")
        server = dns.start_dns(registry, work / "dns", {
            "web.test": [V4_OK, V4_DROP, V6_OK, V6_REFUSE],
            "mail.test": ["MX 20 mx2.test.", "MX 10 mx1.test."],
            "mx1.test": [V4_OK, V6_REFUSE],
            "mx2.test": [V4_DROP],
            "nomx.test": [V4_OK],
            "null.test": ["MX 0 ."],
            "lost.test": ["MX 10 gone.test."],
        }, host=V4_OK, netns=pair.server)
        yield pair.client, f"{V4_OK}:{server.port}", cert_set.ca.cert


def run(portprobe, lab, *words, fmt="json"):
    ns, resolver, _ = lab
    started = time.monotonic()
    done = portprobe("--format", fmt, "--resolver", resolver, *words, netns=ns, timeout=60)
    took = time.monotonic() - started
    assert done.returncode in (0, 1), done.stderr
    if fmt != "json":
        return done.stdout, took
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()], took


def by_address(parts):
    return {p["address"]: p for p in parts}


def test_every_address_is_checked_at_once_and_each_reported(portprobe, lab):
    (summary, *parts), took = run(portprobe, lab, f"tcp://web.test:{WEB}", "addresses=all",
                                  "timeout=2s", "name=web")
    assert summary["target"] == "web" and summary["result"] == "timeout", summary
    assert summary["up"] == 0 and summary["phase"] == "connect"
    assert summary["checked"] == 4 and summary["checked_up"] == 2
    assert "address" not in summary
    seen = by_address(parts)
    assert set(seen) == {V4_OK, V4_DROP, V6_OK, V6_REFUSE}
    assert all(p["target"] == "web" for p in parts)
    assert seen[V4_OK]["result"] == "ok" and seen[V4_OK]["family"] == "ipv4"
    assert seen[V6_OK]["result"] == "ok" and seen[V6_OK]["family"] == "ipv6"
    assert seen[V6_REFUSE]["result"] == "refused" and seen[V6_REFUSE]["family"] == "ipv6"
    assert seen[V4_DROP]["result"] == "timeout" and seen[V4_DROP]["phase"] == "connect"
    # at once: the silent address takes the whole timeout, the round no more than that
    assert 1.9 <= seen[V4_DROP]["response_time"] <= 2.1
    assert seen[V4_OK]["response_time"] < 0.5 and took < 3.5
    # the failed ones first, each named with its family and how it failed
    head, _, tail = summary["detail"].partition(": ")
    assert head == "2 of 4 addresses up"
    failed, ok = tail.split(", ")[:2], tail.split(", ")[2:]
    assert sorted(failed) == sorted([f"IPv4 {V4_DROP} timeout (connect)",
                                     f"IPv6 {V6_REFUSE} refused"])
    assert sorted(ok) == sorted([f"IPv4 {V4_OK} ok", f"IPv6 {V6_OK} ok"])


def test_require_lets_a_target_be_up_with_some_addresses_down(portprobe, lab):
    (summary, *parts), _ = run(portprobe, lab, f"tcp://web.test:{WEB}", "addresses=all",
                               "require=2", "timeout=1s")
    assert summary["result"] == "ok" and summary["up"] == 1, summary
    assert summary["detail"].startswith("2 of 4 addresses up (2 required): ")
    assert f"IPv6 {V6_REFUSE} refused" in summary["detail"]
    assert sum(p["up"] for p in parts) == 2
    (summary, *_), _ = run(portprobe, lab, f"tcp://web.test:{WEB}", "addresses=all",
                           "require=3", "timeout=1s")
    assert summary["up"] == 0


def test_http_on_every_address_gets_the_cores_socket_for_each(portprobe, lab):
    (summary, *parts), _ = run(portprobe, lab, f"http://web.test:{WEB}/", "addresses=all",
                               "timeout=1s")
    seen = by_address(parts)
    for address in (V4_OK, V6_OK):
        assert seen[address]["result"] == "ok" and seen[address]["http_status"] == 200
        assert seen[address]["addresses_tried"] == 1
    assert seen[V6_REFUSE]["result"] == "refused"
    assert seen[V4_DROP]["result"] == "timeout"
    assert summary["checked_up"] == 2 and summary["up"] == 0


def test_influx_has_a_line_per_address_tagged_with_it(portprobe, lab):
    out, _ = run(portprobe, lab, f"tcp://web.test:{WEB}", "addresses=all", "timeout=1s",
                 "name=web", "label=site=lab", fmt="influx")
    rows = parse_influx(out)
    assert len(rows) == 5
    (_, tags, fields, _), *parts = rows
    assert "address" not in tags and fields["checked"] == 4 and fields["checked_up"] == 2
    assert tags["target"] == "web" and tags["site"] == "lab"
    tagged = {t["address"]: (t, f) for _, t, f, _ in parts}
    assert set(tagged) == {V4_OK, V4_DROP, V6_OK, V6_REFUSE}
    tags, fields = tagged[V6_REFUSE]
    assert tags["family"] == "ipv6" and tags["result"] == "refused" and tags["site"] == "lab"
    assert fields["up"] == 0 and "address" not in fields
    assert tagged[V4_OK][1]["up"] == 1 and tagged[V4_OK][0]["family"] == "ipv4"


def test_text_shows_each_address_under_its_target(portprobe, lab):
    out, _ = run(portprobe, lab, f"tcp://web.test:{WEB}", "addresses=all", "timeout=1s",
                 "name=web", fmt="text")
    rows = out.splitlines()[1:6]
    assert rows[0].startswith("DOWN  web ")
    assert sorted(r.split()[0] + " " + r.split()[1] for r in rows[1:]) == sorted([
        f"UP {V4_OK}", f"DOWN {V4_DROP}", f"UP {V6_OK}", f"DOWN {V6_REFUSE}"])


# --- every MX host ---


def test_every_mx_host_in_preference_order_one_down(portprobe, lab):
    ca = lab[2]
    (summary, *parts), _ = run(portprobe, lab, "smtp://mail.test", "mx=yes", "timeout=2s",
                               f"ca_file={ca}", "name=mail")
    assert [p["mx"] for p in parts] == ["mx1.test", "mx2.test"]
    assert [p["mx_preference"] for p in parts] == [10, 20]
    mx1, mx2 = parts
    # mx1's IPv6 address refuses: its IPv4 one answers, over TLS verified for mx1.test
    assert mx1["result"] == "ok" and mx1["address"] == V4_OK, mx1
    assert mx1["tls_version"].startswith("TLSv1") and mx1["cert_grade"] == "good"
    assert mx1["excerpt"].startswith("220 sink.test")
    assert mx2["result"] == "timeout" and mx2["address"] == V4_DROP
    assert summary["result"] == "timeout" and summary["up"] == 0
    assert summary["detail"] == ("1 of 2 MX hosts up: mx2.test (20) timeout (connect), "
                                 "mx1.test (10) ok")
    (summary, *_), _ = run(portprobe, lab, "smtp://mail.test", "mx=yes", "timeout=1s",
                           f"ca_file={ca}", "require=1")
    assert summary["result"] == "ok" and summary["up"] == 1


def test_every_address_of_every_mx_host(portprobe, lab):
    (summary, *parts), _ = run(portprobe, lab, "smtp://mail.test", "mx=yes",
                               "addresses=all", "timeout=1s", f"ca_file={lab[2]}")
    got = {(p["mx"], p["address"]): p["result"] for p in parts}
    assert got == {("mx1.test", V4_OK): "ok", ("mx1.test", V6_REFUSE): "refused",
                   ("mx2.test", V4_DROP): "timeout"}
    assert [p["mx"] for p in parts][-1] == "mx2.test"  # preference order
    assert summary["checked"] == 3 and summary["checked_up"] == 1


def test_a_domain_without_mx_is_its_own_mail_host(portprobe, lab):
    (summary, part), _ = run(portprobe, lab, "smtp://nomx.test", "mx=yes", "timeout=1s",
                             "verify=no")
    assert summary["result"] == "ok", summary
    assert summary["detail"] == "no MX, mail goes to the domain itself: 1 of 1 hosts up: " \
                                "nomx.test ok"
    assert part["mx"] == "nomx.test" and "mx_preference" not in part
    assert part["address"] == V4_OK


def test_a_null_mx_is_reported(portprobe, lab):
    (r,), _ = run(portprobe, lab, "smtp://null.test", "mx=yes", "timeout=1s")
    assert r["result"] == "null_mx" and r["up"] == 0 and r["phase"] == "dns"
    assert r["detail"] == "null.test publishes a null MX: it accepts no mail (RFC 7505)"


def test_mx_hosts_that_do_not_resolve_and_domains_that_do_not_exist(portprobe, lab):
    (summary, part), _ = run(portprobe, lab, "smtp://lost.test", "mx=yes", "addresses=all",
                             "timeout=1s")
    assert part["mx"] == "gone.test" and part["result"] == "dns_failed"
    assert part["detail"] == "gone.test: no such name"
    assert summary["result"] == "dns_failed"
    (r,), _ = run(portprobe, lab, "smtp://none.test", "mx=yes", "timeout=1s")
    assert r["result"] == "dns_failed" and r["detail"] == "MX of none.test: no such name"


@pytest.mark.parametrize("words,message", [
    (["imap://mail.test", "mx=yes"], r'option "mx" applies to smtp, submission, smtps'),
    (["smtp://127.0.0.1", "mx=yes"], r'option "mx" needs a mail domain, not the address'),
    (["tcp://web.test:80", "require=2"], r'option "require" counts addresses or MX hosts'),
    (["icmp://web.test", "addresses=all"], r'option "addresses" does not apply to icmp'),
    (["tcp://web.test:80", "addresses=some"], r'option "addresses": expected one of any, all'),
])
def test_bad_options_name_the_target_and_the_key(portprobe, words, message):
    import re
    done = portprobe(*words)
    assert done.returncode == 2, done.stdout
    assert re.search(message, done.stderr), done.stderr
