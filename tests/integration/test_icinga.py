"""--format nagios under the real Icinga 2 (Debian's icinga2-bin), with the CheckCommand that
docs/telegraf.md documents, taken from that file as it is (only the command's path changed).

Icinga runs in the foreground on a private tree (its data, cache, spool and run directories
under the test's, as root), checks three services every second, and its PerfdataWriter
writes each check result (state, output, perfdata as Icinga parsed it) to files the test reads.
"""

import re
from pathlib import Path

import pytest

from fixtures import procs
from fixtures.sockets import Listener

DOC = Path(__file__).resolve().parents[2] / "docs" / "telegraf.md"

SERVICES = """
object Host "probe" {{
  check_command = "dummy"
  address = "127.0.0.1"
  enable_active_checks = false
}}

template Service "every second" {{
  check_command = "portprobe"
  host_name = "probe"
  check_interval = 1s
  retry_interval = 1s
}}

object Service "web" {{
  import "every second"
  vars.portprobe_url = "tcp://127.0.0.1:{web}"
  vars.portprobe_options = [ "name=web", "slow_warn=1s", "slow_crit=3s" ]
}}

object Service "db" {{
  import "every second"
  vars.portprobe_url = "tcp://127.0.0.1:{closed}"
  vars.portprobe_options = [ "name=db", "timeout=2s" ]
}}

object Service "misspelt" {{
  import "every second"
  vars.portprobe_url = "tcp://127.0.0.1:{web}"
  vars.portprobe_options = [ "timout=2s" ]
}}

object Service "from a file" {{
  import "every second"
  vars.portprobe_config = "{conf}"
}}

object CheckerComponent "checker" {{ }}

object PerfdataWriter "results" {{
  service_perfdata_path = "{work}/perf/service"
  service_temp_path = "{work}/perf/tmp/service"
  host_perfdata_path = "{work}/perf/host"
  host_temp_path = "{work}/perf/tmp/host"
  service_format_template = "SERVICE::$service.name$\\tSTATE::$service.state$\\tOUTPUT::$service.output$\\tPERFDATA::$service.perfdata$"
  rotation_interval = 1s
}}
"""


def check_command():
    """The CheckCommand object from docs/telegraf.md."""
    text = DOC.read_text()
    m = re.search(r'^object CheckCommand "portprobe" \{$.*?^\}$', text, re.S | re.M)
    assert m, "docs/telegraf.md has no CheckCommand \"portprobe\""
    return m.group(0)


@pytest.fixture(scope="module")
def icinga_results(tmp_path_factory, pp_bin):
    tmp_path = tmp_path_factory.mktemp("icinga")
    icinga = procs.require("icinga2", "apt-get install icinga2-bin (scripts/install-deps)")
    with procs.Registry() as reg:
        web = Listener().start()
        reg.on_stop(web.stop)
        for d in ("data", "log", "cache", "spool", "run", "perf/tmp"):
            (tmp_path / d).mkdir(parents=True)
        conf = tmp_path / "targets.conf"
        conf.write_text(f"[one]\nurl = tcp://127.0.0.1:{web.port}\n"
                        f"[two]\nurl = tcp://127.0.0.1:{web.port}\n")
        command = check_command()
        assert '"/usr/bin/portprobe"' in command
        config = tmp_path / "icinga2.conf"
        config.write_text("include <itl>\n" + command.replace('"/usr/bin/portprobe"',
                                                              f'"{pp_bin}"')
                          + SERVICES.format(web=web.port, closed=procs.free_port(),
                                            conf=conf, work=tmp_path))
        defines = [f"-DConfiguration.{name}={tmp_path / d}" for name, d in (
            ("DataDir", "data"), ("LogDir", "log"), ("CacheDir", "cache"),
            ("SpoolDir", "spool"), ("InitRunDir", "run"))]
        daemon = reg.start([icinga, "daemon", "-c", config, *defines,
                            "-DConfiguration.RunAsUser=root",
                            "-DConfiguration.RunAsGroup=root"], tmp_path / "icinga2.out")

        def results():
            """The latest result of each service, once every one has two."""
            seen = {}
            for path in sorted((tmp_path / "perf").glob("service.*")):
                # a record per check; the output's long part spans lines
                for record in re.split(r"(?m)^(?=SERVICE::)", path.read_text()):
                    if record.strip():
                        fields = dict(f.split("::", 1) for f in record.rstrip("\n").split("\t"))
                        fields["OUTPUT"] = fields["OUTPUT"].strip()
                        seen.setdefault(fields["SERVICE"], []).append(fields)
            return seen if len(seen) == 4 and all(len(v) >= 2 for v in seen.values()) else None
        yield procs.wait_until(results, daemon, "two results of every service", 30, 0.2)


def test_icinga_runs_the_documented_check_command(icinga_results):
    web, db = icinga_results["web"][-1], icinga_results["db"][-1]
    assert web["STATE"] == "OK"
    assert re.fullmatch(r"PORTPROBE OK - web: ok in [0-9.]+ ms \(127\.0\.0\.1\)", web["OUTPUT"])
    # Icinga parsed the perfdata: value, unit, thresholds, min and max survive
    assert re.fullmatch(r"time=[0-9.]+s;1;3;0;5", web["PERFDATA"]), web["PERFDATA"]
    assert db["STATE"] == "CRITICAL"
    assert db["OUTPUT"].startswith("PORTPROBE CRITICAL - db: refused after ")
    assert re.fullmatch(r"time=[0-9.]+s;;;0;2", db["PERFDATA"]), db["PERFDATA"]


def test_icinga_shows_a_configuration_error_as_unknown(icinga_results):
    bad = icinga_results["misspelt"][-1]
    assert bad["STATE"] == "UNKNOWN"
    assert bad["OUTPUT"].startswith('PORTPROBE UNKNOWN - target "tcp://127.0.0.1:')
    assert bad["OUTPUT"].endswith('": unknown option "timout" (did you mean "timeout"?)')
    assert bad["PERFDATA"] == ""


def test_icinga_reads_several_targets_from_a_file(icinga_results):
    both = icinga_results["from a file"][-1]
    assert both["STATE"] == "OK"
    # the status line, then the long output: a line per target
    lines = both["OUTPUT"].splitlines()
    assert [line.strip() for line in lines[:1]] == ["PORTPROBE OK - 2 targets: 2 ok"]
    assert [line.split(" in ")[0] for line in lines[1:]] == ["OK: one: ok", "OK: two: ok"]
    labels = re.findall(r"'([^']+)'=", both["PERFDATA"])
    assert labels == ["one time", "two time"], both["PERFDATA"]
