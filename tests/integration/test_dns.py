"""dns targets against real servers from Debian: NSD serving zones signed at test time
with ldns-signzone (valid, expiring within days, expired, a broken signature), Unbound as a
validating resolver (the AD flag, SERVFAIL on bogus data) and as a DNS-over-TLS server,
three more NSD on 127.0.0.2-4 for ns_consistency (different serials, one SIGSTOPped and so
silent), rbldnsd as a blocklist, Postfix (STARTTLS) with matching and mismatching TLSA
records, and nginx serving the MTA-STS policy.
"""

import datetime
import json

import pytest
from fixtures import certs, dnsd, dnszones, netns, procs, smtp

DAY = datetime.timedelta(days=1)
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
STS_POLICY = "version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 86400\n"
BAD_STS_POLICY = "version: STSv1\nmode: enforce\nmax_age: 86400\n"  # no mx: line


def good_zone(smtp_port):
    """good.test: addresses, a big TXT set (truncated over UDP), mail records, TLSA."""
    z = dnszones.Zone("good.test.")
    for line in ("ns IN A 127.0.0.1", "www IN A 192.0.2.10", "www IN A 192.0.2.11",
                 "www IN AAAA 2001:db8::10", "@ IN MX 10 mx.good.test.",
                 "mx IN A 127.0.0.1", "mx-bad IN A 127.0.0.1", "mx-ta IN A 127.0.0.1",
                 "mta-sts IN A 127.0.0.1",
                 '@ IN TXT "v=spf1 ip4:192.0.2.0/24 mx -all"',
                 '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"',
                 '_mta-sts IN TXT "v=STSv1; id=20261201T000000"',
                 '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@good.test"'):
        z.add(line)
    for i in range(40):
        z.add(f'big IN TXT "record {i:02d} of a set too big for one UDP answer"')
    return z


def plain_zone():
    """plain.test, unsigned, with the mail records a domain gets wrong."""
    z = dnszones.Zone("plain.test.")
    for line in ("www IN A 192.0.2.50", "mta-sts IN A 127.0.0.1",
                 '@ IN TXT "v=spf1 -all"', '@ IN TXT "v=spf1 mx -all"',
                 '_dmarc IN TXT "v=DMARC1; p=bogus"',
                 '_mta-sts IN TXT "v=STSv1; id=1"'):
        z.add(line)
    return z


def tlsa(z, port, mx_leaf, ca):
    """TLSA records: mx matches (3 1 1), mx-bad does not, mx-ta names the CA (2 0 1)."""
    spki = dnszones.spki_sha256(mx_leaf.cert)
    z.add(f"_{port}._tcp.mx IN TLSA 3 1 1 {spki}")
    z.add(f"_{port}._tcp.mx-bad IN TLSA 3 1 1 {'00' * 32}")
    z.add(f"_{port}._tcp.mx-ta IN TLSA 2 0 1 {dnszones.cert_sha256(ca.cert)}")


def sign_all(work, smtp_port, mx_leaf, ca):
    """The zones, signed, and the parent test. with their DS records; returns
    ({origin: file}, the test. zone's DS line)."""
    zdir = work / "zones"
    good = good_zone(smtp_port)
    tlsa(good, smtp_port, mx_leaf, ca)
    signed = {
        "good": dnszones.sign(good, zdir),
        "soon": dnszones.sign(dnszones.Zone("soon.test.").add("www IN A 192.0.2.20"), zdir,
                              valid_until=NOW + 3 * DAY),
        "expired": dnszones.sign(dnszones.Zone("expired.test.").add("www IN A 192.0.2.30"),
                                 zdir, valid_from=NOW - 10 * DAY, valid_until=NOW - DAY),
        "broken": dnszones.sign(dnszones.Zone("broken.test.").add("www IN A 192.0.2.40"),
                                zdir, break_signature="www"),
    }
    parent = dnszones.Zone("test.").add("ns IN A 127.0.0.1").add("plain IN NS ns.test.")
    for name, s in signed.items():
        parent.add(f"{name} IN NS ns.test.")
        parent.add(f"{name}.test. " + s.ds.split(None, 1)[1])
    top = dnszones.sign(parent, zdir)
    files = {f"{name}.test.": s.path for name, s in signed.items()}
    files["test."] = top.path
    files["plain.test."] = dnszones.write(plain_zone(), zdir)
    return files, top.ds


def ns_zones(work):
    """Zones for ns_consistency on three servers A, B, C (127.0.0.2, .3, .4):
    agree (A, B same serial), mismatch (A 1, B 2), silent (A, C), lame (A, B without it)."""
    zdir = work / "ns-zones"
    zdir.mkdir(parents=True, exist_ok=True)

    def zone(origin, serial, servers):
        z = dnszones.Zone(origin, serial=serial, ns=f"ns1.{origin}")
        for i, host in enumerate(servers, 1):
            if i > 1:
                z.add(f"@ IN NS ns{i}.{origin}")
            z.add(f"ns{i} IN A {host}")
        directory = zdir / f"{origin}{serial}"
        directory.mkdir(parents=True, exist_ok=True)
        return dnszones.write(z, directory)

    a, b, c = "127.0.0.2", "127.0.0.3", "127.0.0.4"
    return {
        a: {"agree.test.": zone("agree.test.", 7, (a, b)),
            "mismatch.test.": zone("mismatch.test.", 1, (a, b)),
            "silent.test.": zone("silent.test.", 5, (a, c)),
            "lame.test.": zone("lame.test.", 9, (a, b))},
        b: {"agree.test.": zone("agree.test.", 7, (a, b)),
            "mismatch.test.": zone("mismatch.test.", 2, (a, b))},
        c: {"silent.test.": zone("silent.test.", 5, (a, c))},
    }


BL4 = ":127.0.0.2:Listed by the portprobe test list: $\n192.0.2.99\n"
BL6 = "2001:db8:bad::/48 :127.0.0.3:IPv6 range listed\n"
DBL = "spam.example :127.0.1.2:domain listed for spam\n"


@pytest.fixture(scope="module")
def world():
    """Every server of this module, stopped by PID at the end."""
    with procs.Registry() as reg:
        work = procs.shared_tmpdir(reg, prefix="pp-dns-")
        ca = certs.make_ca(work / "ca")
        mx_leaf = certs.make_leaf(ca, work / "certs", "mx",
                                  ("mx.good.test", "mx-bad.good.test", "mx-ta.good.test"), ())
        sts_leaf = certs.make_leaf(ca, work / "certs", "sts",
                                   ("mta-sts.good.test", "mta-sts.plain.test"), ())
        dot_leaf = certs.make_leaf(ca, work / "certs", "dot", ("localhost",), ("127.0.0.1",))
        postfix = smtp.start_postfix(reg, work / "postfix", mx_leaf, hostname="mx.good.test")
        sts_port = dnsd.start_sts_nginx(reg, work / "nginx", sts_leaf, {
            "mta-sts.good.test": STS_POLICY, "mta-sts.plain.test": BAD_STS_POLICY})
        files, anchor = sign_all(work, postfix.smtp_port, mx_leaf, ca)
        nsd = dnsd.start_nsd(reg, work / "nsd", files)
        (work / "anchor.ds").write_text(anchor + "\n")
        unbound = dnsd.start_unbound(reg, work / "unbound", list(files), nsd.port, anchor,
                                     tls_leaf=dot_leaf)
        hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        ns_port = dnsd.free_port_on(hosts)
        ns = {host: dnsd.start_nsd(reg, work / f"nsd-{host}", zones, host=host, port=ns_port)
              for host, zones in ns_zones(work).items()}
        dnsd.freeze(reg, ns["127.0.0.4"])
        rbl = dnsd.start_rbldnsd(reg, work / "rbldnsd", [
            ("bl.test", "ip4set", {"bl4": BL4}), ("bl.test", "ip6trie", {"bl6": BL6}),
            ("dbl.test", "dnset", {"dbl": DBL}), ("clean.test", "ip4set", {"clean": ""})])
        yield {"nsd": nsd, "unbound": unbound, "ns_port": ns_port, "rbl": rbl, "ca": ca,
               "anchor": work / "anchor.ds", "postfix": postfix, "sts_port": sts_port,
               "work": work, "files": files, "anchor_ds": anchor}


@pytest.fixture(scope="module")
def old_resolver(world):
    """A validating Unbound that sends no extended DNS errors."""
    with procs.Registry() as reg:
        yield dnsd.start_unbound(reg, world["work"] / "unbound-no-ede", list(world["files"]),
                                 world["nsd"].port, world["anchor_ds"], ede=False)


def run(portprobe, url, *opts, extra=()):
    """Run one dns target with --format json; its record as a dict."""
    done = portprobe(*extra, "--format", "json", url, *opts)
    assert done.returncode in (0, 1), done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(records) == 1, done.stdout
    return records[0]


def auth(world):
    return f"dns://127.0.0.1:{world['nsd'].port}"


def resolver(world):
    return f"dns://127.0.0.1:{world['unbound'].port}"


# --- answers ---

def test_answer_reports_rcode_count_ttl_time_and_signature_expiry(portprobe, world):
    r = run(portprobe, auth(world), "query=www.good.test")
    assert r["result"] == "ok" and r["up"] == 1
    assert (r["dns_rcode"], r["dns_rcode_name"], r["dns_answers"]) == (0, "NOERROR", 2)
    assert r["dns_ttl_min"] == 300
    assert 0 < r["query_time"] < 1
    assert 29 * 86400 < r["rrsig_expiry"] <= 30 * 86400 and r["rrsig_grade"] == "good"
    assert r["dnssec"] == "signed"  # an authoritative server does not validate
    assert (r["dnskey_records"], r["ds_records"]) == (2, 1)  # KSK and ZSK; DS in test.
    assert "192.0.2.10" in r["excerpt"] and "192.0.2.11" in r["excerpt"]


def test_expect_matches_the_whole_answer_set(portprobe, world):
    both = run(portprobe, auth(world), "query=www.good.test", r"expect=IN\s+A\s+192\.0\.2\.10$",
               r"expect=IN\s+A\s+192\.0\.2\.11$")
    assert both["result"] == "ok"
    one_wrong = run(portprobe, auth(world), "query=www.good.test", "expect=192\\.0\\.2\\.10",
                    "expect=192\\.0\\.2\\.99")
    assert one_wrong["result"] == "expect_mismatch"
    assert "192\\.0\\.2\\.99" in one_wrong["detail"]
    anyone = run(portprobe, auth(world), "query=www.good.test", "expect=192\\.0\\.2\\.10",
                 "expect=192\\.0\\.2\\.99", "expect_match=any")
    assert anyone["result"] == "ok"


def test_nxdomain_is_dns_rcode_unless_expected(portprobe, world):
    r = run(portprobe, auth(world), "query=nothing.good.test")
    assert r["result"] == "dns_rcode" and r["dns_rcode_name"] == "NXDOMAIN"
    assert "NXDOMAIN" in r["detail"]
    ok = run(portprobe, auth(world), "query=nothing.good.test", "expect_rcode=NXDOMAIN")
    assert ok["result"] == "ok"


def test_a_name_without_records_of_the_type_is_no_answer(portprobe, world):
    r = run(portprobe, auth(world), "query=www.good.test", "type=MX")
    assert r["result"] == "no_answer" and r["dns_answers"] == 0


def test_truncated_udp_answer_is_asked_again_over_tcp(portprobe, world):
    r = run(portprobe, auth(world), "query=big.good.test", "type=TXT")
    assert r["result"] == "ok" and r["dns_answers"] == 40
    assert "TCP" in r["dns_info"]


def test_tcp_transport(portprobe, world):
    r = run(portprobe, auth(world), "query=www.good.test", "transport=tcp")
    assert r["result"] == "ok" and r["connect_time"] > 0 and r["dns_answers"] == 2


def test_silent_server_is_a_timeout_in_the_query_phase(portprobe, world):
    r = run(portprobe, f"dns://127.0.0.4:{world['ns_port']}", "query=silent.test",
            "type=SOA", "timeout=1500ms")
    assert r["result"] == "timeout" and r["phase"] == "query"


def test_dns_over_tls_is_verified_and_reports_tls_facts(portprobe, world):
    url = f"dns://127.0.0.1:{world['unbound'].tls_port}"
    ok = run(portprobe, url, "query=www.good.test", "transport=tls",
             f"ca_file={world['ca'].cert}")
    assert ok["result"] == "ok" and ok["dns_answers"] == 2
    assert ok["tls_version"].startswith("TLSv1.") and ok["cert_expiry"] > 300 * 86400
    untrusted = run(portprobe, url, "query=www.good.test", "transport=tls")
    assert untrusted["result"] == "tls_verify_failed" and untrusted["phase"] == "tls"
    assert untrusted["cert_expiry"] > 300 * 86400  # facts even when verification fails


def test_source_address_is_used_and_checked(portprobe, world):
    ok = run(portprobe, auth(world), "query=www.good.test", "source_address=127.0.0.9")
    assert ok["result"] == "ok"
    wrong = run(portprobe, auth(world), "query=www.good.test", "source_address=::1")
    assert wrong["result"] == "socket_error" and "source_address ::1" in wrong["detail"]


# --- DNSSEC ---

def test_validating_resolver_sets_ad(portprobe, world):
    r = run(portprobe, resolver(world), "query=www.good.test", "dnssec=require")
    assert r["result"] == "ok" and r["dnssec"] == "secure"


@pytest.mark.parametrize("name", ["www.expired.test", "www.broken.test"])
def test_bogus_data_behind_a_validating_resolver_is_dnssec_bogus(portprobe, world, name):
    r = run(portprobe, resolver(world), f"query={name}", "dnssec=require")
    assert r["result"] == "dnssec_bogus", r
    without = run(portprobe, resolver(world), f"query={name}")
    assert without["result"] == "dns_rcode" and without["dns_rcode_name"] == "SERVFAIL"


@pytest.mark.parametrize("name", ["www.expired.test", "www.broken.test"])
def test_without_extended_errors_checking_disabled_tells_bogus(portprobe, old_resolver, name):
    r = run(portprobe, f"dns://127.0.0.1:{old_resolver.port}", f"query={name}",
            "dnssec=require")
    assert r["result"] == "dnssec_bogus" and "checking disabled" in r["detail"], r


def test_unsigned_answer_is_dnssec_insecure(portprobe, world):
    r = run(portprobe, resolver(world), "query=www.plain.test", "dnssec=require")
    assert r["result"] == "dnssec_insecure"
    # a server that does not validate leaves AD clear: not secure either
    auth_only = run(portprobe, auth(world), "query=www.good.test", "dnssec=require")
    assert auth_only["result"] == "dnssec_insecure" and "AD" in auth_only["detail"]


@pytest.mark.parametrize("name,result,words", [
    ("www.good.test", "ok", None),
    ("www.expired.test", "dnssec_bogus", "expired"),
    ("www.broken.test", "dnssec_bogus", "Bogus"),
    ("www.plain.test", "dnssec_insecure", "no RRSIG"),
])
def test_own_validation_from_a_trust_anchor(portprobe, world, name, result, words):
    r = run(portprobe, auth(world), f"query={name}", "dnssec=require",
            f"trust_anchor={world['anchor']}")
    assert r["result"] == result, r
    if words:
        assert words in r["detail"]
    else:
        assert r["dnssec"] == "secure"


def test_signature_expiry_is_graded(portprobe, world):
    soon = run(portprobe, auth(world), "query=www.soon.test")
    assert 2 * 86400 < soon["rrsig_expiry"] <= 3 * 86400
    assert soon["rrsig_grade"] == "warning"
    expired = run(portprobe, auth(world), "query=www.expired.test")
    # signed a day ago when the zones were made, at most minutes before this test
    assert -86400 - 900 <= expired["rrsig_expiry"] < -86400 + 60
    assert expired["rrsig_grade"] == "critical"


def test_signature_grade_change_is_an_alert(portprobe, world, tmp_path):
    state = tmp_path / "state"
    args = ("query=www.soon.test", "name=soon")
    first = portprobe("--state-file", state, "--format", "json", auth(world), *args,
                      "rrsig_warn=1d", "rrsig_crit=12h")
    assert '"signature"' not in first.stdout  # a first good grade is no news
    second = portprobe("--state-file", state, "--format", "json", auth(world), *args)
    events = [json.loads(line) for line in second.stdout.splitlines() if '"event"' in line]
    sig = [e for e in events if e["kind"] == "signature"]
    assert len(sig) == 1 and sig[0]["grade"] == "warning", second.stdout
    assert "DNSSEC signature expires in 2 days" in sig[0]["message"]
    third = portprobe("--state-file", state, "--format", "json", auth(world), *args)
    assert '"signature"' not in third.stdout  # a steady grade is not told again


# --- name servers ---

def ns_check(portprobe, world, zone):
    return run(portprobe, f"dns://127.0.0.2:{world['ns_port']}", "dns_check=ns_consistency",
               f"query={zone}", "recursion=no", "timeout=3s")


def test_servers_that_agree(portprobe, world):
    r = ns_check(portprobe, world, "agree.test")
    assert r["result"] == "ok" and r["ns_servers"] == 2
    assert "ns1.agree.test. 127.0.0.2 7" in r["ns_serials"]
    assert "ns2.agree.test. 127.0.0.3 7" in r["ns_serials"]


def test_different_serials_are_ns_mismatch(portprobe, world):
    r = ns_check(portprobe, world, "mismatch.test")
    assert r["result"] == "ns_mismatch"
    assert "127.0.0.2 1" in r["ns_serials"] and "127.0.0.3 2" in r["ns_serials"]


def test_a_silent_server_is_named(portprobe, world):
    r = ns_check(portprobe, world, "silent.test")
    assert r["result"] == "ns_lame" and r["up"] == 0
    assert "ns2.silent.test. is silent" in r["detail"]
    assert "127.0.0.2 5" in r["ns_serials"]


def test_a_lame_server_is_named(portprobe, world):
    r = ns_check(portprobe, world, "lame.test")
    assert r["result"] == "ns_lame"
    assert "ns2.lame.test. is lame: REFUSED" in r["detail"]


# --- blocklists ---

def bl(portprobe, world, query, *zones):
    return run(portprobe, f"dns://127.0.0.1:{world['rbl'].port}", "dns_check=dnsbl",
               f"query={query}", *[f"dnsbl_zone={z}" for z in zones])


def test_a_listed_ipv4_address_with_its_reason(portprobe, world):
    r = bl(portprobe, world, "192.0.2.99", "bl.test", "clean.test")
    assert r["result"] == "dnsbl_listed" and r["dnsbl_listed"] == 1
    assert "bl.test 127.0.0.2" in r["dnsbl_reasons"]
    assert "Listed by the portprobe test list: 192.0.2.99" in r["dnsbl_reasons"]
    assert "clean.test" not in r["dnsbl_reasons"]


def test_an_ipv6_address_is_looked_up_by_nibbles(portprobe, world):
    r = bl(portprobe, world, "2001:db8:bad::25", "bl.test")
    assert r["result"] == "dnsbl_listed" and "IPv6 range listed" in r["dnsbl_reasons"]


def test_a_name_on_a_domain_list(portprobe, world):
    r = bl(portprobe, world, "spam.example", "dbl.test")
    assert r["result"] == "dnsbl_listed" and "127.0.1.2" in r["dnsbl_reasons"]


def test_an_address_listed_nowhere_is_ok(portprobe, world):
    r = bl(portprobe, world, "192.0.2.1", "bl.test", "clean.test")
    assert r["result"] == "ok" and r["dnsbl_listed"] == 0


# --- mail-domain records ---

@pytest.mark.parametrize("check", ["spf", "dmarc", "tls_rpt"])
def test_sound_mail_records(portprobe, world, check):
    r = run(portprobe, auth(world), f"dns_check={check}", "query=good.test")
    assert r["result"] == "ok" and r["policy_records"] == 1, r


@pytest.mark.parametrize("check,result,words", [
    ("spf", "record_invalid", "2 SPF records"),
    ("dmarc", "record_invalid", "p=bogus"),
    ("tls_rpt", "record_missing", "no TLS-RPT record"),
])
def test_broken_mail_records_are_named(portprobe, world, check, result, words):
    r = run(portprobe, auth(world), f"dns_check={check}", "query=plain.test")
    assert r["result"] == result and words in r["detail"], r


def test_mta_sts_record_and_policy(portprobe, world):
    opts = ("dns_check=mta_sts", f"service_port={world['sts_port']}",
            f"ca_file={world['ca'].cert}")
    good = run(portprobe, auth(world), "query=good.test", *opts)
    assert good["result"] == "ok" and good["sts_mode"] == "mode enforce", good
    bad = run(portprobe, auth(world), "query=plain.test", *opts)
    assert bad["result"] == "record_invalid" and "no mx: line" in bad["detail"], bad


def test_dane_tlsa_compared_with_the_certificate_after_starttls(portprobe, world):
    opts = ("dns_check=dane", f"service_port={world['postfix'].smtp_port}")
    ee = run(portprobe, auth(world), "query=mx.good.test", *opts)
    assert ee["result"] == "ok" and ee["dane_match"] == "matched TLSA 3 1 1", ee
    assert ee["tls_version"].startswith("TLSv1.")
    ta = run(portprobe, auth(world), "query=mx-ta.good.test", *opts)
    assert ta["result"] == "ok" and ta["dane_match"] == "matched TLSA 2 0 1", ta
    bad = run(portprobe, auth(world), "query=mx-bad.good.test", *opts)
    assert bad["result"] == "dane_mismatch" and bad["up"] == 0, bad


# --- bad input ---

@pytest.mark.parametrize("opts,words", [
    (("query=x.test", "type=BOGUS"), 'option "type"'),
    (("query=x.test", "expect_rcode=NOPE"), 'option "expect_rcode"'),
    (("dns_check=dnsbl", "query=192.0.2.1"), "dnsbl_zone"),
    (("query=x.test", "trust_anchor=/nonexistent/anchor"), 'option "trust_anchor"'),
    (("type=A",), 'option "query" is required'),
])
def test_bad_options_name_the_target_and_the_key(portprobe, opts, words):
    done = portprobe("dns://127.0.0.1:53", "name=bad", *opts)
    assert done.returncode == 2
    assert 'target "bad"' in done.stderr and words in done.stderr, done.stderr


# --- the system's resolver ---

def test_dns_without_a_server_asks_resolv_conf(portprobe, world):
    """In a namespace whose /etc/resolv.conf names an NSD there."""
    with procs.Registry() as reg:
        pair = netns.create_pair(reg, "10.250.7.1", "10.250.7.2", prefix=24)
        dnsd.start_nsd(reg, world["work"] / "nsd-netns", {"good.test.": world["files"]["good.test."]},
                       host=pair.server_addr, port=53, netns=pair.server)
        netns.set_resolver(pair.client, pair.server_addr)
        done = portprobe("--format", "json", "dns://", "query=www.good.test", netns=pair.client)
        r = json.loads(done.stdout)
        assert r["result"] == "ok" and r["address"] == "10.250.7.2" and r["dns_answers"] == 2


# --- a hostile server (a fault no real server makes) ---

def test_a_record_without_its_data_is_a_protocol_error(portprobe):
    """An answer whose A record has rdlength 0 parses, but carries no address: a
    protocol_error, never a crash."""
    import socket
    import struct
    import threading
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)

    def answer():
        data, peer = sock.recvfrom(4096)
        qid, qlen = data[:2], data[12:].index(b"\0") + 5  # the question: name, type, class
        header = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        record = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 0)  # A IN, TTL 60, no rdata
        sock.sendto(header + data[12:12 + qlen] + record, peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        r = run(portprobe, f"dns://127.0.0.1:{sock.getsockname()[1]}", "query=x.test",
                "dnssec=off", "timeout=3s")
    finally:
        thread.join(5)
        sock.close()
    assert r["result"] == "protocol_error" and "lacks fields" in r["detail"], r


def test_nagios_status_follows_the_signature_grade(portprobe, world):
    done = portprobe("--format", "nagios", auth(world), "query=www.soon.test")
    assert done.returncode == 1, done.stdout  # WARNING
    assert done.stdout.startswith("PORTPROBE WARNING")
    assert "DNSSEC signature expires in" in done.stdout
    assert "rrsig_time_left=" in done.stdout


def test_collectd_dispatches_the_dns_values(tmp_path, world):
    """The real collectd with the plugin: a dns target's values read back through unixsock."""
    from test_collectd import Collectd  # the harness of the collectd tests
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  Timeout 2
  <Target "soon">
    URL "{auth(world)}"
    Query "www.soon.test"
  </Target>
</Plugin>
""")
    cd.start()
    try:
        cd.wait_rounds("portprobe-soon/bool-up", 1, 20)
        assert cd.getval("portprobe-soon/bool-up") == 1
        assert cd.getval("portprobe-soon/portprobe_dns_rcode") == 0
        assert cd.getval("portprobe-soon/count-answers") == 1
        assert 0 < cd.getval("portprobe-soon/response_time-query") < 1
        assert 2 * 86400 < cd.getval("portprobe-soon/timeleft-rrsig_expiry") <= 3 * 86400
        assert cd.getval("portprobe-soon/portprobe_dnssec") == 4  # signed, not validated
    finally:
        cd.stop()
