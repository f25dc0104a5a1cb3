"""portprobe under the real Telegraf (built once per machine by scripts/install-telegraf).

Each test runs a shipped example (telegraf-exec/*.example) with only its paths, ports and
intervals changed, Telegraf writing what it collected with outputs.file. /usr/bin/portprobe is
replaced by a recorder that keeps a copy of what portprobe printed (fixtures/telegraf.py), so
the tests compare Telegraf's metrics with portprobe's own lines: measurement, tags, field
types and values, timestamps. Targets are TCP listeners on 127.0.0.1 that the test shuts and
reopens.
"""

import re
import signal
import time
from collections import Counter

import pytest

from conftest import parse_influx
from fixtures import procs, telegraf
from fixtures.sockets import Listener


@pytest.fixture
def reg():
    with procs.Registry() as registry:
        yield registry


def key(measurement, tags, fields, ts):
    """A metric, comparable across sources: field types count."""
    return (measurement, tuple(sorted(tags.items())),
            tuple(sorted((k, type(v).__name__, v) for k, v in fields.items())), ts)


def recorded(record, host):
    """portprobe's lines as Telegraf should store them: with its host tag added."""
    return Counter(key(m, {**tags, "host": host}, fields, ts)
                   for m, tags, fields, ts in parse_influx(record.read_text()))


def stored(tg):
    return Counter(key(*row) for row in parse_influx("\n".join(tg.lines())))


def rows(tg, measurement=None):
    """Telegraf's metrics, as (measurement, tags, fields, timestamp)."""
    out = []
    for m, tags, fields, ts in parse_influx("\n".join(tg.lines())):
        fields = {k: v.replace(telegraf.NEWLINE, "\n") if isinstance(v, str) else v
                  for k, v in fields.items()}
        if measurement is None or m == measurement:
            out.append((m, tags, fields, ts))
    return out


def assert_stored_as_printed(tg, record):
    """Every line portprobe printed so far reaches Telegraf's output unchanged, and Telegraf
    stores nothing portprobe did not print."""
    printed = recorded(record, tg.hostname)
    assert printed, "portprobe printed nothing"
    deadline = time.monotonic() + 10  # Telegraf writes its output every second
    while printed - stored(tg) and time.monotonic() < deadline:
        time.sleep(0.1)
    missing = printed - stored(tg)
    assert not missing, f"printed, not in Telegraf's output: {list(missing)[:3]}"
    extra = stored(tg) - recorded(record, tg.hostname)
    assert not extra, f"Telegraf stored what portprobe did not print: {list(extra)[:3]}"


def events(tg):
    return [(tags["target"], fields["kind"], fields["state"])
            for _, tags, fields, _ in rows(tg, "portprobe_event")]


def ups(tg, target):
    return [fields["up"] for _, tags, fields, _ in rows(tg, "portprobe")
            if tags["target"] == target]


def problems(log):
    """Telegraf's log lines at error level, and lines it could not give a level."""
    return [line for line in log.splitlines() if " E! " in line or 'stderr: "' in line]


def targets_file(path, web_port, closed_port, extra=""):
    path.write_text(f"""[defaults]
timeout = 2s
label = site=fra 1

[web]
url = tcp://127.0.0.1:{web_port}
{extra}
[db, main=1]
url = tcp://127.0.0.1:{closed_port}
""")
    return path


def execd_example(command, conf, *, restart_delay="2s"):
    return telegraf.example("telegraf-execd.conf.example", [
        ('"/usr/bin/portprobe"', f'"{command}"'),
        ('"/etc/portprobe/portprobe.conf"', f'"{conf}"'),
        ('interval = "30s"', 'interval = "1s"'),
        ('restart_delay = "10s"', f'restart_delay = "{restart_delay}"'),
    ])


def exec_example(command, conf, state):
    return telegraf.example("telegraf-exec.conf.example", [
        ('"/usr/bin/portprobe"', f'"{command}"'),
        ('"/etc/portprobe/portprobe.conf"', f'"{conf}"'),
        ('"/var/lib/telegraf/portprobe.state"', f'"{state}"'),
        ('interval = "60s"', 'interval = "1s"'),
        ('timeout = "15s"', 'timeout = "5s"'),
    ])


def test_execd_metrics_are_portprobes_transitions_come_once_and_stop_is_prompt(
        reg, tmp_path, pp_bin):
    web = reg_listener(reg)
    conf = targets_file(tmp_path / "portprobe.conf", web.port, procs.free_port())
    command, record = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, execd_example(command, conf))

    tg.wait(lambda: ups(tg, "web")[-3:] == [1, 1, 1], "three rounds of web up")
    web.stop()
    tg.wait(lambda: ("web", "state", "down") in events(tg), "web DOWN")
    web.start()
    tg.wait(lambda: ("web", "state", "up") in events(tg), "web UP again")
    tg.wait(lambda: ups(tg, "web")[-2:] == [1, 1], "two more rounds")
    assert_stored_as_printed(tg, record)

    # each transition once: db confirmed DOWN, web DOWN and UP again
    assert events(tg) == [("db, main=1", "state", "down"), ("web", "state", "down"),
                          ("web", "state", "up")]
    # down_after = 2 (the default): the first failure alone is no event
    web_ups = ups(tg, "web")
    assert 0 in web_ups and web_ups.count(0) >= 2

    [pid] = telegraf.descendants_running(tg.pid, pp_bin)
    before_stop = len(tg.log())
    started = time.monotonic()
    tg.process.popen.send_signal(signal.SIGTERM)  # as systemd stops it (KillMode=mixed)
    gone = telegraf.wait_gone(pid, 10)
    # Telegraf closes portprobe's standard input at once and would send SIGTERM 5 s later
    assert gone is not None and gone < 5, f"portprobe ran on for {gone} s after SIGTERM"
    print(f"portprobe ended {gone:.3f} s after Telegraf got SIGTERM")
    assert tg.stop() == 0
    assert time.monotonic() - started < 10
    assert f"Process {command} shut down" in tg.log()
    assert not problems(tg.log()[:before_stop]), tg.log()
    assert not [line for line in problems(tg.log()[before_stop:])
                if not telegraf_stop_race(line)], tg.log()
    assert_stored_as_printed(tg, record)


def telegraf_stop_race(line):
    """Telegraf's own race when it stops: its stop path waits for the process (Go's
    exec.Cmd.Wait, which closes the stdout pipe) while its reader may not have reached the end
    of that pipe, and the influx stream parser logs the read of the closed pipe. Seen once on a
    loaded machine after portprobe had written everything and exited; not portprobe's doing."""
    return line.endswith("[inputs.execd] Error in plugin: read |0: file already closed")


def reg_listener(reg):
    listener = Listener().start()
    reg.on_stop(listener.stop)
    return listener


def test_execd_restarts_portprobe_after_restart_delay(reg, tmp_path, pp_bin):
    web = reg_listener(reg)
    conf = targets_file(tmp_path / "portprobe.conf", web.port, procs.free_port())
    command, record = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, execd_example(command, conf, restart_delay="2s"))
    tg.wait(lambda: len(ups(tg, "web")) >= 2, "two rounds")
    [first] = telegraf.descendants_running(tg.pid, pp_bin)

    procs.stop_pid(first)  # portprobe ends (SIGTERM: status 0) as if it had died
    died = time.monotonic()
    second = tg.wait(lambda: telegraf.descendants_running(tg.pid, pp_bin), "a new portprobe")
    restarted = time.monotonic() - died
    assert second != [first]
    assert 1.9 <= restarted < 4, f"restarted after {restarted:.2f} s, restart_delay is 2s"
    print(f"Telegraf started portprobe again {restarted:.3f} s after it ended")
    assert "Restarting in 2s" in tg.log()
    before = len(ups(tg, "web"))
    tg.wait(lambda: len(ups(tg, "web")) >= before + 2, "rounds from the new process")
    assert_stored_as_printed(tg, record)


def test_execd_stderr_lines_carry_telegraf_levels(reg, tmp_path, pp_bin):
    """With -v, a line per failed check (D!) and the start and end (I!): Telegraf logs
    each at its level, and none as an unlabelled error."""
    conf = targets_file(tmp_path / "portprobe.conf", procs.free_port(), procs.free_port())
    command, _ = telegraf.recorder(tmp_path, pp_bin)
    inputs = execd_example(command, conf).replace('"--execd",', '"--execd", "-v",')
    tg = telegraf.Telegraf(reg, tmp_path, inputs, debug=True)
    tg.wait(lambda: len(rows(tg, "portprobe")) >= 4, "two rounds")
    tg.stop()
    log = tg.log()
    assert re.search(r' D! \[inputs\.execd\] portprobe: target "web": refused', log), log
    assert re.search(r" I! \[inputs\.execd\] portprobe: end of input after \d+ rounds: "
                     r"stopping", log), log
    assert not problems(log), log


def test_execd_on_the_shipped_template_says_there_are_no_targets(reg, tmp_path, pp_bin):
    """A fresh install: the examples point at /etc/portprobe/portprobe.conf, which the
    package ships as a commented template. Telegraf's log says what is missing, at error
    level, and Telegraf keeps trying."""
    template = telegraf.EXAMPLES / "portprobe.conf.template"
    command, _ = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, execd_example(command, template,
                                                        restart_delay="1s"))
    want = f"E! [inputs.execd] portprobe: {template}: no targets: each target is a [section]"
    tg.wait(lambda: tg.log().count(want) >= 2, "the error, twice (restarted)", 15)
    assert "Restarting in 1s" in tg.log()
    assert tg.lines() == []


def test_template_examples_are_valid_targets(portprobe, tmp_path):
    """The template's commented examples work once uncommented."""
    text = (telegraf.EXAMPLES / "portprobe.conf.template").read_text()
    uncommented = "\n".join(line[1:] if line.startswith(";") else line
                            for line in text.splitlines())
    conf = tmp_path / "portprobe.conf"
    conf.write_text(uncommented)
    # names stay unresolved here: a resolver that does not answer (a closed port)
    p = portprobe("--resolver", f"127.0.0.1:{procs.free_port()}", "--format", "json",
                  "--config", conf, timeout=60)
    assert p.returncode in (0, 1), p.stderr
    assert len(p.stdout.splitlines()) == text.count(";url = ")


def test_exec_metrics_are_portprobes_with_their_timestamps_and_events_once(
        reg, tmp_path, pp_bin):
    web = reg_listener(reg)
    conf = targets_file(tmp_path / "portprobe.conf", web.port, procs.free_port())
    state = tmp_path / "portprobe.state"
    command, record = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, exec_example(command, conf, state))

    tg.wait(lambda: ups(tg, "web")[-2:] == [1, 1], "two runs of web up")
    web.stop()
    tg.wait(lambda: ("web", "state", "down") in events(tg), "web DOWN")
    web.start()
    tg.wait(lambda: ("web", "state", "up") in events(tg), "web UP again")
    # timestamps to the nanosecond (precision = "1ns"), as printed
    assert_stored_as_printed(tg, record)
    assert events(tg) == [("db, main=1", "state", "down"), ("web", "state", "down"),
                          ("web", "state", "up")]
    assert state.read_text().startswith("portprobe-state 1\n")
    assert rows(tg, "portprobe_state_file") == []
    tg.stop()
    assert not problems(tg.log()), tg.log()


def test_exec_state_file_that_cannot_be_saved_is_in_the_log_and_the_data(
        reg, tmp_path, pp_bin):
    """A state file in a missing directory: each run starts afresh, so a target that stays
    down is never confirmed DOWN. That is an error in Telegraf's log, and a
    portprobe_state_file metric beside the round's values, every run."""
    conf = targets_file(tmp_path / "portprobe.conf", procs.free_port(), procs.free_port())
    state = tmp_path / "no-such-directory" / "portprobe.state"
    command, record = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, exec_example(command, conf, state))
    tg.wait(lambda: len(rows(tg, "portprobe_state_file")) >= 3, "three runs")
    assert_stored_as_printed(tg, record)

    runs = rows(tg, "portprobe_state_file")
    for _, tags, fields, _ in runs:
        assert tags == {"host": tg.hostname}
        assert fields["saved"] == 0 and fields["file"] == str(state)
        assert f"state file {state}: cannot create" in fields["error"]
        assert "No such file or directory" in fields["error"]
    # the round's values are all there, and the alert that should have come did not
    assert len(ups(tg, "web")) >= len(runs) and set(ups(tg, "web")) == {0}
    assert events(tg) == []
    log = tg.log()
    want = (f"E! [inputs.exec] portprobe: error: state file {state}: cannot create ")
    assert log.count(want) >= len(runs), log
    assert "no alert fires" in log


# --- --format nagios through Telegraf's nagios parser ---

PERF = re.compile(r"('[^']*'|[^ =]+)=([-0-9.]+)([a-zA-Z%]*)((?:;[^; ]*){0,4})")


def perfdata(text):
    """(label, value, unit, [warn, crit, min, max]) of each item after the ' | '."""
    out = []
    for label, value, unit, rest in PERF.findall(text.split(" | ", 1)[1]):
        fields = (rest[1:].split(";") if rest else []) + [""] * 4
        out.append((label.strip("'"), float(value), unit, fields[:4]))
    return out


def nagios_example(command, conf):
    return telegraf.example("telegraf-nagios.conf.example", [
        ('"/usr/bin/portprobe"', f'"{command}"'),
        ('"/etc/portprobe/portprobe.conf"', f'"{conf}"'),
        ('interval = "60s"', 'interval = "1s"'),
        ('timeout = "15s"', 'timeout = "5s"'),
    ])


def test_nagios_status_perfdata_and_state_through_telegrafs_parser(reg, tmp_path, pp_bin):
    web = reg_listener(reg)
    conf = targets_file(tmp_path / "portprobe.conf", web.port, procs.free_port(),
                        extra="slow_warn = 1s\nslow_crit = 2s\n")
    command, record = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, nagios_example(command, conf))
    tg.wait(lambda: len(rows(tg, "nagios_state")) >= 2, "two runs")
    tg.stop()

    # each run printed a status line and a line per target; the runs are in the record
    printed = record.read_text().splitlines()
    runs = [printed[i:i + 3] for i in range(0, len(printed), 3)]
    assert all(run[0].startswith("PORTPROBE ") for run in runs), printed
    states = rows(tg, "nagios_state")
    assert len(states) <= len(runs)
    for (_, tags, fields, ts), run in zip(states, runs):
        assert fields["state"] == 2  # CRITICAL: db is down
        assert fields["service_output"] == run[0].split(" | ")[0]
        assert fields["service_output"] == (
            "PORTPROBE CRITICAL - 2 targets: 1 critical (db, main=1), 1 ok")
        assert fields["long_service_output"] == "\n".join(run[1:])
        assert run[1].startswith("OK: web: ok in ")
        assert run[2].startswith("CRITICAL: db, main=1: refused after ")

        # a nagios metric per perfdata item, read as portprobe meant it
        perf = [(t, f) for m, t, f, stamp in rows(tg, "nagios") if stamp == ts]
        items = perfdata(run[0])
        # a label cannot hold "=": it becomes "_"
        assert [label for label, *_ in items] == ["web time", "db, main_1 time"]
        assert len(perf) == len(items)
        for (label, value, unit, (warn, crit, lo, hi)), (t, f) in zip(items, perf):
            assert t == {"perfdata": label, "unit": unit, "host": tg.hostname}
            assert unit == "s" and f["value"] == value
            assert (f["min"], f["max"]) == (float(lo), float(hi)) == (0.0, 2.0)
        web_fields = perf[0][1]
        assert (web_fields["warning_lt"], web_fields["warning_gt"]) == (0.0, 1.0)
        assert (web_fields["critical_lt"], web_fields["critical_gt"]) == (0.0, 2.0)
        assert "warning_gt" not in perf[1][1]  # db has no slow_warn
    assert not problems(tg.log()), tg.log()


def test_nagios_configuration_error_is_unknown_through_telegraf(reg, tmp_path, pp_bin):
    conf = tmp_path / "portprobe.conf"
    conf.write_text("[web]\nurl = tcp://127.0.0.1:1\ntimout = 2s\n")
    command, record = telegraf.recorder(tmp_path, pp_bin)
    tg = telegraf.Telegraf(reg, tmp_path, nagios_example(command, conf))
    tg.wait(lambda: rows(tg, "nagios_state"), "a run")
    tg.stop()
    [_, tags, fields, _] = rows(tg, "nagios_state")[0]
    assert fields["state"] == 3
    assert fields["service_output"] == (
        f'PORTPROBE UNKNOWN - {conf}:3: target "web": unknown option "timout" '
        f'(did you mean "timeout"?)')
    assert record.read_text().splitlines()[0] == fields["service_output"]
    assert rows(tg, "nagios") == []


def test_execd_verbose_wording(portprobe):
    """Requests that came before any round, and the end after one round, in words that fit:
    the lines Telegraf logs at info level with -v."""
    p = portprobe("--execd", "-v", "--format", "influx", f"tcp://127.0.0.1:{procs.free_port()}",
                  input="\n\n")
    assert p.returncode == 0, p.stderr
    assert len(parse_influx(p.stdout)) == 1  # two requests at once, one round answers them
    lines = p.stderr.splitlines()
    assert "I! portprobe: 2 requests came before the first round: one round answers them" in lines
    assert "I! portprobe: end of input after 1 round: stopping" in lines
    # every line carries a level prefix Telegraf knows
    assert all(re.match(r"[EWID]! portprobe: ", line) for line in lines), lines
