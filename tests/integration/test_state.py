"""State across one-shot runs (--state-file): a confirmed DOWN is told once,
the recovery says how long the outage lasted, a steady state is quiet, and a
corrupt or foreign state file is reported and ignored, never a crash."""

import json
import re

import pytest

from conftest import free_port, parse_influx
from fixtures.sockets import Listener


@pytest.fixture
def service():
    svc = Listener()
    svc.start()
    yield svc
    svc.stop()


def rows(proc, measurement):
    return [(tags, fields, ts) for m, tags, fields, ts in
            parse_influx(proc.stdout) if m == measurement]


def events(proc):
    return rows(proc, "portprobe_event")


def run(portprobe, state, port, *words, fmt="influx"):
    p = portprobe("--state-file", state, "--format", fmt,
                  f"tcp://127.0.0.1:{port}", "name=svc", "timeout=2s", *words)
    assert "Traceback" not in p.stderr
    return p


def test_outage_is_one_down_event_then_one_up_event_with_its_length(
        portprobe, service, tmp_path):
    state = tmp_path / "state"
    p = run(portprobe, state, service.port, "down_after=2")
    assert p.returncode == 0, p.stderr
    assert events(p) == []  # the first UP after start is not news
    assert p.stderr == ""

    service.stop()
    first_fail = run(portprobe, state, service.port, "down_after=2")
    assert first_fail.returncode == 0  # influx: down is in the data
    assert events(first_fail) == []  # one failure is not yet DOWN

    p = run(portprobe, state, service.port, "down_after=2")
    assert p.returncode == 0  # influx: down is in the data
    [(tags, fields, ts)] = events(p)
    assert tags == {"target": "svc", "scheme": "tcp"}
    assert fields["severity"] == "failure"
    assert fields["kind"] == "state"
    assert fields["state"] == "down"
    assert fields["result"] == "refused"
    assert fields["message"] == f"127.0.0.1 tcp:{service.port} DOWN: refused"
    # the event follows the round's result line, with the check's time
    [(_, _, result_ts)] = rows(p, "portprobe")
    assert ts == result_ts
    assert p.stdout.index("portprobe,") < p.stdout.index("portprobe_event,")

    p = run(portprobe, state, service.port, "down_after=2")
    assert p.returncode == 0  # influx: down is in the data
    assert events(p) == []  # still down: said once is enough

    service.start()
    p = run(portprobe, state, service.port, "down_after=2")
    assert p.returncode == 0, p.stderr
    [(tags, fields, ts)] = events(p)
    assert fields["severity"] == "okay" and fields["state"] == "up"
    assert re.fullmatch(rf"127\.0\.0\.1 tcp:{service.port} UP again after "
                        r"\d+s", fields["message"]), fields["message"]
    # the outage ran from the first failed check to the first good one
    [(_, _, fail_ts)] = rows(first_fail, "portprobe")
    assert fields["outage_seconds"] == pytest.approx((ts - fail_ts) / 1e9,
                                                     abs=1e-5)
    assert fields["outage_seconds"] > 0

    p = run(portprobe, state, service.port, "down_after=2")
    assert events(p) == []


def test_state_file_is_versioned_text_written_whole(portprobe, tmp_path):
    state = tmp_path / "state"
    port = free_port()
    run(portprobe, state, port, "down_after=1")
    text = state.read_text()
    assert text.startswith("portprobe-state 1\n")
    assert text.endswith("end 1\n")
    assert f"url=tcp://127.0.0.1:{port} name=svc state=down" in text
    assert [f.name for f in tmp_path.iterdir()] == ["state"]  # no temp left


@pytest.mark.parametrize("content,words", [
    (b"[web]\nurl = https://example.com\n", "not a portprobe state file"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00garbage", "not a portprobe state file"),
    (b"portprobe-state 9\nend 0\n", "format 9"),
    (b"portprobe-state 1\ntarget url=tcp://127.0.0.1:1 state=up\n",
     "no end line"),
    (b"portprobe-state 1\ntarget url=tcp://127.0.0.1:1 sta", "cut short"),
    (b"portprobe-state 1\ntarget url=tcp://x state=maybe\nend 1\n",
     "line 2: bad state"),
    (b"", "empty"),
])
def test_corrupt_or_foreign_state_file_is_reported_and_ignored(
        portprobe, service, tmp_path, content, words):
    state = tmp_path / "state"
    state.write_bytes(content)
    p = run(portprobe, state, service.port)
    assert p.returncode == 0  # per results: the target is up
    assert f"portprobe: warning: state file {state}" in p.stderr
    assert words in p.stderr
    assert "starting afresh" in p.stderr
    assert [f["up"] for _, f, _ in rows(p, "portprobe")] == [1]
    # started afresh and saved a good file over the bad one
    assert state.read_text().startswith("portprobe-state 1\n")
    p = run(portprobe, state, service.port)
    assert p.stderr == ""


def test_corrupt_state_file_then_a_down_target_still_alerts(portprobe,
                                                            tmp_path):
    state = tmp_path / "state"
    state.write_bytes(b"\x00\x01\x02" * 100)
    p = run(portprobe, state, free_port(), "down_after=1")
    assert p.returncode == 0  # influx: down is in the data, status 0
    assert "warning" in p.stderr and str(state) in p.stderr
    [(tags, fields, ts)] = events(p)
    assert fields["severity"] == "failure"


def test_unwritable_state_file_is_a_warning_not_a_failure(portprobe, service,
                                                          tmp_path):
    state = tmp_path / "no-such-dir" / "state"
    p = run(portprobe, state, service.port)
    assert p.returncode == 0
    assert f"state file {state}" in p.stderr
    assert [f["up"] for _, f, _ in rows(p, "portprobe")] == [1]


def test_reordered_targets_keep_their_state(portprobe, service, tmp_path):
    state = tmp_path / "state"
    down = free_port()
    a = [f"tcp://127.0.0.1:{service.port}", "name=a"]
    b = [f"tcp://127.0.0.1:{down}", "name=b", "down_after=1"]
    p = portprobe("--state-file", state, "--format", "influx", *a, *b)
    assert [t["target"] for t, _, _ in events(p)] == ["b"]
    p = portprobe("--state-file", state, "--format", "influx", *b, *a)
    assert events(p) == [], p.stdout


def test_text_format_prints_alert_lines(portprobe, tmp_path):
    state = tmp_path / "state"
    port = free_port()
    p = run(portprobe, state, port, "down_after=1", fmt="text")
    alerts = [l for l in p.stdout.splitlines() if l.startswith("ALERT")]
    assert alerts == [f"ALERT failure: 127.0.0.1 tcp:{port} DOWN: refused"]
    # after the table of results
    assert p.stdout.index("TARGET") < p.stdout.index("ALERT")


def test_json_format_prints_event_objects(portprobe, tmp_path):
    state = tmp_path / "state"
    port = free_port()
    p = run(portprobe, state, port, "down_after=1", "label=site=fra1",
            fmt="json")
    docs = [json.loads(l) for l in p.stdout.splitlines()]
    [ev] = [d for d in docs if d.get("event")]
    assert ev["target"] == "svc" and ev["scheme"] == "tcp"
    assert ev["severity"] == "failure" and ev["kind"] == "state"
    assert ev["message"] == f"127.0.0.1 tcp:{port} DOWN: refused"
    assert ev["labels"] == {"site": "fra1"}
    [res] = [d for d in docs if not d.get("event")]
    assert ev["time"] == res["time"]


def test_event_tags_are_escaped_and_carry_labels(portprobe, tmp_path):
    state = tmp_path / "state"
    port = free_port()
    p = portprobe("--state-file", state, "--format", "influx",
                  f"tcp://127.0.0.1:{port}", "name=db, primary=1",
                  "down_after=1", "label=site=fra 1")
    [(tags, fields, ts)] = events(p)
    assert tags == {"target": "db, primary=1", "scheme": "tcp",
                    "site": "fra 1"}
    # tags sorted by key
    assert ("portprobe_event,scheme=tcp,site=fra\\ 1,target=db\\,\\ primary\\=1 "
            in p.stdout)


def test_without_state_file_there_are_no_events(portprobe):
    port = free_port()
    p = portprobe("--format", "influx", f"tcp://127.0.0.1:{port}",
                  "down_after=1")
    assert p.returncode == 0  # influx: down is in the data
    assert events(p) == []
