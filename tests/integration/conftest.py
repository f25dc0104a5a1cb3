"""Shared pytest fixtures: the built portprobe command and helpers to run it."""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

BUILDDIR = Path(os.environ.get("PORTPROBE_BUILDDIR", Path(__file__).parents[2]))


def _binary():
    built = BUILDDIR / "telegraf-exec" / "portprobe"
    if built.exists():
        return built
    found = shutil.which("portprobe")
    if found:
        return Path(found)
    raise RuntimeError(f"portprobe is not built: no {built}; run make first")


@pytest.fixture(scope="session")
def pp_bin():
    """Path of the portprobe command under test."""
    return _binary()


@pytest.fixture(scope="session")
def portprobe(pp_bin):
    """portprobe(*args, timeout=30, netns=None) -> CompletedProcess (text)."""

    def run(*args, timeout=30, netns=None, input=None):
        argv = [str(pp_bin), *map(str, args)]
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout, input=input)

    return run


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nobody listens on right now."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def parse_influx(text):
    """Minimal reader for our own line protocol output: a list of
    (measurement, tags dict, fields dict, timestamp); strict enough to fail
    on a malformed line. InfluxDB itself validates in test_influx.py."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts, cur, esc, quoted = [], "", False, False
        for ch in line:
            if esc:
                cur += ch
                esc = False
            elif ch == "\\":
                cur += ch
                esc = True
            elif ch == '"':
                quoted = not quoted
                cur += ch
            elif ch == " " and not quoted:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        assert len(parts) == 3, f"malformed line: {line!r}"
        head, fieldtext, ts = parts
        pieces = _split_unescaped(head, ",")
        measurement, tags = pieces[0], {}
        for p in pieces[1:]:
            k, v = _split_unescaped(p, "=", 1)
            tags[_unescape(k)] = _unescape(v)
        fields = {}
        for p in _split_unescaped(fieldtext, ",", quoted=True):
            k, v = _split_unescaped(p, "=", 1, quoted=True)
            if v.startswith('"'):
                fields[k] = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            elif v.endswith("i"):
                fields[k] = int(v[:-1])
            elif v in ("true", "false"):
                fields[k] = v == "true"
            else:
                fields[k] = float(v)
        rows.append((measurement, tags, fields, int(ts)))
    return rows


def _split_unescaped(s, sep, maxsplit=-1, quoted=False):
    out, cur, esc, inq = [], "", False, False
    for ch in s:
        if esc:
            cur += ch
            esc = False
            continue
        if ch == "\\":
            cur += ch
            esc = True
            continue
        if quoted and ch == '"':
            inq = not inq
        if ch == sep and not inq and (maxsplit < 0 or len(out) < maxsplit):
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return out


def _unescape(s):
    out, esc = "", False
    for ch in s:
        if esc:
            out += ch
            esc = False
        elif ch == "\\":
            esc = True
        else:
            out += ch
    return out


# --- the MongoDB tests (tests/integration/mongodb/): a real MongoDB-wire server ---
# `mongo_server` runs a test once against SecantusDB and once against FerretDB; `secantusdb`
# only against SecantusDB. A server that cannot be installed fails the test with the reason
# (never a silent skip, never the mock in its place). They live here, not in a conftest.py of
# that folder: two modules named conftest would hide each other from `from conftest import`.

def _start(kind, tmp_path):
    from fixtures import mongo_servers, procs
    registry = procs.Registry()
    workdir = procs.shared_tmpdir(registry, prefix=f"pp-{kind}-")
    try:
        return registry, mongo_servers.STARTERS[kind](registry, workdir)
    except BaseException:
        registry.stop_all()
        raise


@pytest.fixture(params=["secantusdb", "ferretdb"])
def mongo_server(request, tmp_path):
    """A fresh server of each kind, stopped by PID after the test."""
    registry, server = _start(request.param, tmp_path)
    with registry:
        yield server


@pytest.fixture
def secantusdb(tmp_path):
    """A fresh SecantusDB (time-series collections, TTL, full aggregation)."""
    registry, server = _start("secantusdb", tmp_path)
    with registry:
        yield server
