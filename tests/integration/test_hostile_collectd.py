"""Hostile peers and careless input (issue 24) in the real collectd daemon: a server that
echoes the password back quoted (the FAILURE notification and the log must not show it), a URL
with credentials in it (the log masks them), and a password_file and ca_file that become FIFOs
while collectd runs (values keep coming, SIGTERM still ends it)."""

import os
import time

import pytest

from hostile_support import USERNAME, leaked, write_password_file
from test_collectd import Collectd, ExecSink, pytestmark, wait_for  # noqa: F401 (skip w/o collectd)

hostile = pytest.importorskip("fixtures.hostile")
procs = pytest.importorskip("fixtures.procs")
certs_mod = pytest.importorskip("fixtures.certs")


@pytest.fixture
def registry():
    with procs.Registry() as reg:
        yield reg


@pytest.fixture
def running():
    started = []
    yield started
    for c in started:
        c.stop()


@pytest.fixture
def exec_sink():
    s = ExecSink()
    yield s
    s.close()


def test_an_echoed_password_never_reaches_the_notification_or_the_log(
        tmp_path, registry, exec_sink, running):
    server = hostile.start_hostile(registry, tmp_path, "echo-imap")
    password = write_password_file(tmp_path)
    cd = Collectd(tmp_path, f"""
<Plugin exec>
  NotificationExec "nobody" "{exec_sink.script}"
</Plugin>
<Plugin portprobe>
  <Target "login">
    URL "imap://127.0.0.1:{server.port}"
    Username "{USERNAME}"
    PasswordFile "{password}"
    AuthPlaintext true
    DownAfter 1
  </Target>
</Plugin>
""", plugins=("exec", "portprobe"))
    running.append(cd.start())
    notes = wait_for(exec_sink.notifications, 15, "the FAILURE notification")
    cd.wait_rounds("portprobe-login/bool-up", 2, 15)
    text = "\n".join(exec_sink.notifications())
    assert "Severity: FAILURE" in text and "result: auth_failed" in text, text
    assert "excerpt: a2 NO LOGIN failed: a2 LOGIN" in text and "****" in text, text
    assert not leaked([text, cd.log()]), notes


@pytest.mark.parametrize("url", ["imaps://alice:p@ss/w#rd@mail.example",
                                 "smtp://alice:pa/ss?w@mail.example:587"])
def test_credentials_in_a_url_are_masked_in_the_log(tmp_path, url):
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  <Target "mail">
    URL "{url}"
  </Target>
</Plugin>
""")
    cd.start(wait=False)
    try:
        rc = cd.proc.wait(timeout=20)
    finally:
        cd.stop()
    log = cd.log()
    assert rc != 0
    assert "credentials do not belong in the URL" in log, log
    assert "://****@mail.example" in log
    for piece in ("alice", "ss/w", "w#rd", "pa/ss", "ss?w"):
        assert piece not in log, log


def test_files_that_become_fifos_fail_their_checks_and_not_the_daemon(
        tmp_path, registry, running):
    """Regular files at start, FIFOs with no writer later: the round does not wait for one
    (the other target keeps its values every interval), the checks that read them fail, and
    SIGTERM ends collectd at once."""
    leaf_dir = tmp_path / "certs"
    cert_set = certs_mod.make_cert_set(leaf_dir)
    echo = hostile.start_hostile(registry, tmp_path, "echo-imap")
    tls = hostile.start_hostile(registry, tmp_path, "smtp-no-starttls", cert_set.good)
    plain = hostile.start_hostile(registry, tmp_path, "smtp-no-starttls")
    secret = write_password_file(tmp_path)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert_set.ca.cert.read_bytes())
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  Timeout 2
  <Target "login">
    URL "imap://127.0.0.1:{echo.port}"
    Username "{USERNAME}"
    PasswordFile "{secret}"
    AuthPlaintext true
  </Target>
  <Target "tls">
    URL "smtps://127.0.0.1:{tls.port}"
    CAFile "{ca}"
  </Target>
  <Target "plain">
    URL "smtp://127.0.0.1:{plain.port}"
  </Target>
</Plugin>
""")
    running.append(cd.start())
    cd.wait_rounds("portprobe-tls/bool-up", 2, 15)
    assert cd.getval("portprobe-tls/bool-up") == 1
    for path in (secret, ca):
        path.unlink()
        os.mkfifo(path)
    rounds = len(cd.rows("portprobe-plain/bool-up"))
    cd.wait_rounds("portprobe-plain/bool-up", rounds + 3, 15)
    wait_for(lambda: cd.getval("portprobe-tls/bool-up") == 0, 10, "the tls check to fail")
    assert cd.getval("portprobe-login/bool-up") == 0
    started = time.monotonic()
    cd.stop()
    assert time.monotonic() - started < 10
    assert cd.proc.returncode == 0, cd.log()[-2000:]
