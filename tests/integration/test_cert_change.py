"""A certificate that changes between rounds is a transition: nginx's certificate is swapped
(new files, SIGHUP to its PID) between two rounds, and the command (with a state file) prints
one certificate_change event with both serials, the real collectd sends one WARNING
notification with them as meta data, and a round without a change says nothing. The collectd
instance also carries the chain's time left and the stapled OCSP status as values.
"""

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

fixtures = pytest.importorskip("fixtures")
from fixtures import certs, nginx, procs  # noqa: E402
from test_collectd import Collectd, ExecSink, wait_for  # noqa: E402


def serial(cert):
    out = procs.run(["openssl", "x509", "-in", cert, "-noout", "-serial"]).stdout
    return out.strip().split("=", 1)[1]


class SwappableWeb:
    """nginx presenting whatever leaf was last copied into its served files."""

    def __init__(self, registry, workdir, first):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.served = certs.Leaf(self.dir / "served.pem", self.dir / "served.key",
                                 self.dir / "served-chain.pem", first.ca, first.not_after)
        self._copy(first)
        self.web = nginx.start_nginx(registry, self.dir / "nginx", {"swap": self.served})

    def _copy(self, leaf):
        shutil.copy(leaf.chain, self.served.chain)
        shutil.copy(leaf.key, self.served.key)

    def swap(self, leaf, portprobe):
        """Serve `leaf` from now on: new files, SIGHUP to nginx, and wait until it shows
        on every connection (old workers still answer for a moment after a reload)."""
        self._copy(leaf)
        self.web.process.popen.send_signal(signal.SIGHUP)
        want = certs.fingerprint(leaf.cert)
        deadline, in_a_row = time.monotonic() + 15, 0
        while in_a_row < 10:
            assert time.monotonic() < deadline, "nginx did not present the new certificate"
            done = portprobe("--format", "json", self.url(), "verify=no")
            seen = json.loads(done.stdout.splitlines()[0]).get("cert_sha256")
            in_a_row = in_a_row + 1 if seen == want else 0
            time.sleep(0.05)

    def url(self):
        return self.web.url("/", label="swap")


@pytest.fixture(scope="module")
def leaves(tmp_path_factory):
    base = tmp_path_factory.mktemp("cert-change")
    ca = certs.make_ca(base / "ca")
    return {"ca": ca, "a": certs.make_leaf(ca, base, "a"), "b": certs.make_leaf(ca, base, "b")}


def events(stdout):
    return [e for e in map(json.loads, stdout.splitlines()) if e.get("event")]


def test_a_swapped_certificate_is_one_change_event_across_runs(portprobe, leaves, tmp_path):
    with procs.Registry() as registry:
        site = SwappableWeb(registry, tmp_path / "web", leaves["a"])
        state = tmp_path / "state"
        words = ["--format", "json", "--state-file", state, site.url(), "name=web",
                 f"ca_file={leaves['ca'].cert}"]
        first = portprobe(*words)
        assert first.returncode == 0, first.stderr
        assert events(first.stdout) == []  # the first certificate seen is no news
        assert events(portprobe(*words).stdout) == []
        site.swap(leaves["b"], portprobe)
        swapped = portprobe(*words)
        found = events(swapped.stdout)
        assert len(found) == 1, swapped.stdout
        e = found[0]
        a, b = serial(leaves["a"].cert), serial(leaves["b"].cert)
        assert (e["kind"], e["severity"]) == ("certificate_change", "warning")
        assert (e["cert_previous_serial"], e["cert_serial"]) == (a, b)
        assert e["cert_sha256"] == certs.fingerprint(leaves["b"].cert)
        assert e["message"].startswith(
            f"127.0.0.1 https:{site.web.https_ports['swap']} certificate changed: "
            f"serial {a} -> {b}, CN=localhost, expires in ")
        assert events(portprobe(*words).stdout) == []  # steady again


def test_collectd_sends_one_warning_with_both_serials(leaves, tmp_path, portprobe):
    sink = ExecSink()
    try:
        with procs.Registry() as registry:
            site = SwappableWeb(registry, tmp_path / "web", leaves["a"])
            (tmp_path / "collectd").mkdir()
            cd = Collectd(tmp_path / "collectd", f"""
<Plugin exec>
  NotificationExec "nobody" "{sink.script}"
</Plugin>
<Plugin portprobe>
  <Target "web">
    URL "{site.url()}"
    CAFile "{leaves['ca'].cert}"
  </Target>
</Plugin>
""", plugins=("exec", "portprobe"))
            cd.start()
            try:
                cd.wait_rounds("portprobe-web/bool-up", 2, 20)
                assert sink.notifications() == []
                left = cd.getval("portprobe-web/timeleft-chain_expiry")
                expected = (leaves["a"].not_after.timestamp() - time.time())
                assert left is not None and abs(left - expected) < 120
                assert cd.getval("portprobe-web/portprobe_ocsp") == 0  # none stapled
                site.swap(leaves["b"], portprobe)
                notes = wait_for(lambda: [n for n in sink.notifications()
                                          if "certificate changed" in n], 20,
                                 "the certificate_change notification")
                lines = notes[0].splitlines()
                for expected_line in ("Severity: WARNING", "PluginInstance: web",
                                      "kind: certificate_change",
                                      f"cert_previous_serial: {serial(leaves['a'].cert)}",
                                      f"cert_serial: {serial(leaves['b'].cert)}",
                                      "cert_subject: CN=localhost"):
                    assert expected_line in lines, (expected_line, lines)
                # two more rounds of the same certificate: no second notification
                cd.wait_rounds("portprobe-web/bool-up",
                               len(cd.rows("portprobe-web/bool-up")) + 2, 20)
                assert len([n for n in sink.notifications()
                            if "certificate changed" in n]) == 1
            finally:
                cd.stop()
    finally:
        sink.close()
