"""Fixtures of the MongoDB tests: a real MongoDB-wire server, one test per server kind.

`mongo_server` runs a test once against SecantusDB and once against FerretDB; `secantusdb`
only against SecantusDB. A server that cannot be installed fails the test with the reason
(never a silent skip, never the mock in its place).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fixtures import mongo_servers, procs  # noqa: E402


def _start(kind, tmp_path):
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
