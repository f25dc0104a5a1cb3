"""--format nagios by the command itself: the exit status a Nagios-style scheduler acts on
(0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) for real servers (nginx with a good, an expiring and
an expired certificate, its slow location, a refused port), and UNKNOWN with the reason on
standard output for every kind of usage or configuration error. Telegraf's nagios parser
and Icinga 2 read the same output in test_telegraf.py and test_icinga.py."""

import re

import pytest

from fixtures import certs, nginx, procs


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with procs.Registry() as reg:
        work = tmp_path_factory.mktemp("nagios")
        tls = certs.make_cert_set(work / "certs", expiring_days=5)
        yield nginx.start_nginx(reg, work / "nginx", nginx.leaves_of(tls), slow_seconds=1.2), tls


def status_line(p):
    return p.stdout.splitlines()[0]


def test_good_certificate_is_ok(portprobe, web):
    server, tls = web
    p = portprobe("--format", "nagios", server.url(label="good"), "name=www",
                  f"ca_file={tls.ca.cert}")
    assert p.returncode == 0, p.stdout + p.stderr
    assert status_line(p).startswith("PORTPROBE OK - www: ok in ")
    assert re.search(r" \| time=[0-9.]+s;;;0;5 cert_time_left=\d+s;1728000:;604800:$",
                     status_line(p)), status_line(p)


def test_certificate_within_cert_warn_days_is_warning(portprobe, web):
    server, tls = web
    p = portprobe("--format", "nagios", server.url(label="expiring"), "name=www",
                  f"ca_file={tls.ca.cert}", "cert_warn_days=20", "cert_crit_days=3")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "PORTPROBE WARNING - www: ok in " in status_line(p)
    assert "certificate expires in 5.0 days" in status_line(p)
    left = int(re.search(r"cert_time_left=(\d+)s;1728000:;259200:$", status_line(p)).group(1))
    assert 5 * 86400 < left <= 5 * 86400 + 3600


def test_certificate_within_cert_crit_days_is_critical(portprobe, web):
    server, tls = web
    p = portprobe("--format", "nagios", server.url(label="expiring"), "name=www",
                  f"ca_file={tls.ca.cert}", "cert_warn_days=30", "cert_crit_days=10")
    assert p.returncode == 2
    assert status_line(p).startswith("PORTPROBE CRITICAL - www: ok in ")


def test_expired_certificate_is_critical(portprobe, web):
    server, tls = web
    p = portprobe("--format", "nagios", server.url(label="expired"), "name=www",
                  f"ca_file={tls.ca.cert}")
    assert p.returncode == 2
    assert status_line(p).startswith("PORTPROBE CRITICAL - www: tls_verify_failed")
    assert "certificate expired 1.0 days ago" in status_line(p)
    assert re.search(r"cert_time_left=-\d+s;", status_line(p))


def test_slow_answer_is_warning_then_critical(portprobe, web):
    server, _ = web
    p = portprobe("--format", "nagios", server.url("/slow"), "name=app", "slow_warn=500ms",
                  "slow_crit=5s")
    assert p.returncode == 1, p.stdout
    assert "slow (slow_warn 500.0 ms)" in status_line(p)
    assert re.search(r"time=1\.[0-9]+s;0\.5;5;0;5$", status_line(p)), status_line(p)
    p = portprobe("--format", "nagios", server.url("/slow"), "name=app", "slow_warn=500ms",
                  "slow_crit=1s")
    assert p.returncode == 2, p.stdout


def test_worst_target_sets_the_status(portprobe, web):
    server, tls = web
    p = portprobe("--format", "nagios", server.url(label="good"), "name=www",
                  f"ca_file={tls.ca.cert}", server.url(label="expiring"), "name=soon",
                  f"ca_file={tls.ca.cert}", "cert_crit_days=3", f"tcp://127.0.0.1:{procs.free_port()}", "name=db")
    assert p.returncode == 2
    lines = p.stdout.splitlines()
    assert lines[0].startswith(
        "PORTPROBE CRITICAL - 3 targets: 1 critical (db), 1 warning (soon), 1 ok | ")
    assert [line.split(":")[0] for line in lines[1:]] == ["OK", "WARNING", "CRITICAL"]


@pytest.mark.parametrize("args,reason", [
    (["--bogus"], 'unknown option "--bogus"'),
    (["--concurrency", "0"],
     '--concurrency: expected a whole number from 1 to 1000000 (checks in flight at once), '
     'got "0"'),
    (["--config"], 'option "--config" needs a value'),
    (["--execd"], "--format nagios prints one round and its exit status"),
    (["tcp://127.0.0.1"], "tcp targets need a port"),
    (["tcp://127.0.0.1:1", "timout=1s"], 'unknown option "timout"'),
    ([], "no targets"),
])
def test_usage_and_configuration_errors_are_unknown_on_stdout(portprobe, args, reason):
    p = portprobe("--format", "nagios", *args)
    assert p.returncode == 3
    [line] = p.stdout.splitlines()
    assert line.startswith("PORTPROBE UNKNOWN - ") and reason in line, line
    assert p.stderr == ""  # Icinga reads stderr too: one line, nothing else


def test_errors_before_format_nagios_are_unknown_too(portprobe):
    """The format is known only once every option is read."""
    p = portprobe("--bogus", "--format", "nagios", "tcp://127.0.0.1:1")
    assert p.returncode == 3
    assert p.stdout == 'PORTPROBE UNKNOWN - unknown option "--bogus"\n'


def test_other_formats_keep_status_2_for_usage_errors(portprobe):
    p = portprobe("--format", "influx", "tcp://127.0.0.1:1", "timout=1s")
    assert p.returncode == 2 and p.stdout == ""
    assert 'unknown option "timout"' in p.stderr
