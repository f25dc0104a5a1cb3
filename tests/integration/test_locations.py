"""Several probe locations, one history: three locations (fra1, nyc1, sgp1), each a network
namespace running the real collectd with portprobe and collectd's network plugin (SecurityLevel
Encrypt, a user and password each), send to a central collectd that runs the network server,
portprobe's <Consensus> (Quorum 2) and portprobe_mongodb writing to a real MongoDB-wire server
(FerretDB). They all check one SMTP service (aiosmtpd) on mail.example.com, every second.

The scenario, in order: the service is cut off (nftables) from fra1 only, then from every
location (nyc1 by TCP resets, the others by dropped packets), then reachable again; then sgp1's
collectd stops. A fourth location, "rogue", sends with a wrong password all along: the central
must never count it. The consensus's notifications, as stored in MongoDB, are what a user reads.
"""

import json
import os
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fixtures import locations, mongo_servers, netns, procs

BUILDDIR = Path(os.environ.get("PORTPROBE_BUILDDIR", Path(__file__).parents[2] / "build"))
REPORT = BUILDDIR / "report" / "portprobe-report"
NETWORK_PORT = 25826
NAMES = ("fra1", "nyc1", "sgp1")
SUBJECT = "smtp on mail.example.com"


def wait_for(check, timeout, what, interval=0.2):
    """check() until it returns a true value (returned); AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:g} s")
        time.sleep(interval)


def location_conf(loc, user, password, port):
    """A location's collectd: portprobe labelled with the location, network to the hub."""
    return f"""<LoadPlugin network>
  FlushInterval 1
</LoadPlugin>
<Plugin network>
  <Server "{locations.SERVICE_ADDR}" "{NETWORK_PORT}">
    SecurityLevel Encrypt
    Username "{user}"
    Password "{password}"
  </Server>
  ReportStats false
</Plugin>
LoadPlugin portprobe
<Plugin portprobe>
  Label "location" "{loc.name}"
  <Target "smtp_mail">
    URL "smtp://{locations.SERVICE_NAME}:{port}"
    Timeout 0.5
    DownAfter 1
  </Target>
</Plugin>
"""


def central_conf(authfile, mongo):
    """The central collectd: network server, the consensus, portprobe_mongodb."""
    return f"""LoadPlugin network
<Plugin network>
  <Listen "{locations.SERVICE_ADDR}" "{NETWORK_PORT}">
    SecurityLevel Encrypt
    AuthFile "{authfile}"
  </Listen>
  ReportStats false
</Plugin>
LoadPlugin portprobe
<Plugin portprobe>
  <Consensus>
    Quorum 2
  </Consensus>
</Plugin>
LoadPlugin portprobe_mongodb
<Plugin portprobe_mongodb>
  URI "{mongo.uri}"
  Database "portprobe"
  # a batch per kind of document (metrics, events) each FlushInterval at most
  FlushInterval 0.2
</Plugin>
"""


class Central:
    """Reads what the central collectd stored, from inside the hub."""

    def __init__(self, mongo):
        self.mongo = mongo
        self.client = mongo.in_netns(mongo.client)  # its sockets are made in the hub

    def close(self):
        self.client.close()

    def _find(self, collection, query):
        return self.mongo.in_netns(
            lambda: list(self.client.portprobe[collection].find(query).sort("_id", 1)))

    def consensus(self):
        """The consensus's notifications, oldest first: (severity, message, document)."""
        docs = self._find("events", {"plugin": "portprobe", "kind": "consensus"})
        return [(d["severity"], d["message"], d) for d in docs]

    def location_events(self):
        """The locations' own notifications as the central stored them."""
        return self._find("events", {"plugin": "portprobe", "kind": {"$ne": "consensus"}})

    def ups(self, location=None, instance="up"):
        """bool-up documents (of one location); bool-consensus with instance="consensus"."""
        query = {"meta.plugin": "portprobe", "meta.type": "bool",
                 "meta.type_instance": instance}
        if location:
            query["meta.labels.location"] = location
        return self._find("metrics", query)


def all_at_once(*actions):
    """Run the actions in parallel threads, so that every location changes at one moment."""
    threads = [threading.Thread(target=a) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.fixture(scope="module")
def scenario():
    netns.require()
    with procs.Registry() as reg:
        work = procs.shared_tmpdir(reg, prefix="pp-locations-")
        hub = locations.create(reg, (*NAMES, "rogue"))
        mongo = mongo_servers.start_ferretdb(reg, work / "mongo", netns=hub.ns)
        port = smtp_in_hub(reg, work / "smtp", hub)
        plugins = locations.plugin_dir(
            work, BUILDDIR, ("logfile", "network"),
            ("collectd-plugin/.libs/portprobe.so", "mongodb-plugin/.libs/portprobe_mongodb.so"))
        authfile = work / "passwd"
        authfile.write_text("".join(f"{loc.name}: {loc.password}\n"
                                    for loc in hub.locations if loc.name != "rogue"))
        authfile.chmod(0o600)
        cdir = work / "central"
        cdir.mkdir()
        conf = locations.collectd_conf(cdir, plugins, "central", central_conf(authfile, mongo))
        central_proc = locations.start_collectd(reg, hub.ns, cdir, conf)
        for loc in hub.locations:
            d = work / loc.name
            d.mkdir()
            # rogue claims to be fra1, without fra1's password
            user, password = ((loc.name, loc.password) if loc.name != "rogue"
                              else ("fra1", "not-the-password"))
            # a location is known by its Hostname; rogue's differs from its label
            hostname = loc.name if loc.name != "rogue" else "probe-rogue"
            conf = locations.collectd_conf(d, plugins, hostname,
                                           location_conf(loc, user, password, port))
            loc.collectd = locations.start_collectd(reg, loc.ns, d, conf)
        central = Central(mongo)
        reg.on_stop(central.close)
        record = {"port": port, "steps": {}, "work": work, "hub": hub.ns, "uri": mongo.uri}

        def step(name, action, settle=2.0):
            """Act, wait for the consensus's next notification, then a few rounds more."""
            before = len(central.consensus())
            started = time.time()
            action()
            wait_for(lambda: len(central.consensus()) > before, 20,
                     f"consensus notification after {name}")
            time.sleep(settle)
            record["steps"][name] = (started, time.time(), central.consensus()[before:])

        try:
            wait_for(lambda: all(len(central.ups(n)) >= 3 for n in NAMES), 30,
                     "three checks of every location at the central")
            fra1, nyc1, sgp1 = (hub.location(n) for n in NAMES)
            step("regional", lambda: locations.cut_off(fra1, port, "drop"))
            step("everywhere", lambda: all_at_once(
                lambda: locations.cut_off(nyc1, port, "refuse"),
                lambda: locations.cut_off(sgp1, port, "drop")))
            step("back", lambda: all_at_once(
                *(lambda loc=loc: locations.reconnect(loc) for loc in (fra1, nyc1, sgp1))))
            step("silent", lambda: procs.stop(sgp1.collectd), settle=1.0)
            record["consensus"] = central.consensus()
            record["location_events"] = central.location_events()
            record["ups"] = central.ups()
            record["verdicts"] = central.ups(instance="consensus")
            assert central_proc.running(), procs.tail(cdir / "collectd.log")
        except BaseException:
            print(procs.tail(cdir / "collectd.log", 60))
            raise
        yield record


def smtp_in_hub(reg, workdir, hub):
    """aiosmtpd on mail.example.com (the hub's 10.77.0.1)."""
    port = procs.free_port()
    workdir.mkdir(parents=True)
    maildir = workdir / "maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    argv = [*procs.script("smtp_sink_server.py"), "--host", locations.SERVICE_ADDR,
            "--port", port, "--maildir", maildir, "--tls", "none"]
    process = reg.start(netns.exec_argv(hub.ns, argv), workdir / "smtp.log", name="smtp")
    procs.wait_for_port(process, port, host=locations.SERVICE_ADDR,
                        connector=netns.connector(hub.ns))
    return port


def messages(notes):
    return [(severity, message) for severity, message, _ in notes]


def test_one_location_cut_off_is_a_regional_warning_naming_it(scenario):
    _, _, notes = scenario["steps"]["regional"]
    assert messages(notes) == [
        ("WARNING", f"{SUBJECT} DOWN from 1 of 3 locations, regional "
                    "(fra1: timeout (connect); nyc1: up, sgp1: up)")]
    meta = notes[0][2]["meta"]
    assert meta["verdict"] == "regional" and meta["quorum"] == 2
    assert meta["location_fra1"] == "timeout (connect)" and meta["location_nyc1"] == "up"
    assert notes[0][2]["host"] == "mail.example.com"


def test_every_location_cut_off_is_one_failure_with_each_reason(scenario):
    _, _, notes = scenario["steps"]["everywhere"]
    assert messages(notes) == [
        ("FAILURE", f"{SUBJECT} DOWN from 3 of 3 locations (fra1: timeout (connect), "
                    "nyc1: refused, sgp1: timeout (connect))")]


def test_back_everywhere_is_one_okay_with_the_outage_length(scenario):
    regional_start = scenario["steps"]["regional"][0]
    back_start = scenario["steps"]["back"][0]
    _, _, notes = scenario["steps"]["back"]
    assert len(notes) == 1, messages(notes)
    severity, message, doc = notes[0]
    assert severity == "OKAY"
    assert message.startswith(f"{SUBJECT} UP again from all 3 locations after "), message
    # from fra1's first failed check to the first check that passed again: within a round
    # (one interval) of when the test cut fra1 off and reconnected everyone
    outage = doc["meta"]["outage_seconds"]
    assert abs(outage - (back_start - regional_start)) <= 1.5, (outage, message)
    assert message.endswith(f"after {round(outage)}s"), message


def test_a_stopped_location_is_named_silent(scenario):
    _, _, notes = scenario["steps"]["silent"]
    assert messages(notes) == [
        ("WARNING", f"{SUBJECT} UP from 2 of 3 locations, 1 silent "
                    "(sgp1: silent; fra1: up, nyc1: up)")]


def test_the_whole_story_is_four_notifications_and_no_rogue(scenario):
    """Nothing else was said; the location with the wrong password never counted."""
    severities = [s for s, _, _ in scenario["consensus"]]
    assert severities == ["WARNING", "FAILURE", "OKAY", "WARNING"]
    assert not any("rogue" in m for _, m, _ in scenario["consensus"])
    assert not [d for d in scenario["ups"] if d["meta"]["host"] == "rogue"]
    assert "rogue" not in {d.get("labels", {}).get("location")
                           for d in scenario["location_events"]}


def test_the_location_reaches_every_document_through_the_network_plugin(scenario):
    ups = scenario["ups"]
    assert {d["meta"]["labels"]["location"] for d in ups} == set(NAMES)
    for d in ups:  # the location is the probe's Hostname: the name the network plugin carries
        assert d["meta"]["host"] == d["meta"]["labels"]["location"]
        assert d["meta"]["labels"]["network:received"] is True
        assert d["meta"]["plugin_instance"] == "smtp_mail"
    events = scenario["location_events"]
    fra1_down = [e for e in events if e["severity"] == "FAILURE"
                 and e.get("labels", {}).get("location") == "fra1"]
    assert fra1_down, events
    assert fra1_down[0]["kind"] == "state"
    assert fra1_down[0]["message"].startswith(
        f"mail.example.com smtp:{scenario['port']} DOWN: timeout (connect)")
    assert {e["labels"]["location"] for e in events} <= set(NAMES)


def test_the_consensus_series_is_down_only_while_the_quorum_says_so(scenario):
    """bool-consensus, each interval: 0 from the FAILURE to the OKAY, 1 otherwise."""
    verdicts = scenario["verdicts"]
    failure, okay = (doc["time"] for severity, _, doc in scenario["consensus"]
                     if severity in ("FAILURE", "OKAY"))
    downs = [d["time"] for d in verdicts if d["value"] == 0]
    assert downs and len(downs) < len(verdicts)
    # the FAILURE and the OKAY are told once every location has checked since the change
    # began (the documents' time): an interval and a network flush later at most
    assert all(failure <= t <= okay + timedelta(seconds=3) for t in downs), (failure, okay)
    assert all(d["meta"]["host"] == "central" for d in verdicts)
    # every second of the FAILURE has its 0 (the central's interval is 1 s)
    assert len(downs) >= (okay - failure).total_seconds() - 2


def test_a_location_label_unlike_the_hostname_is_pointed_out(scenario):
    said = "its location label is not collectd's Hostname"
    assert said in (scenario["work"] / "rogue" / "collectd.log").read_text()
    assert said not in (scenario["work"] / "fra1" / "collectd.log").read_text()


def report(scenario, *args):
    """portprobe-report --by-location (JSON) from inside the hub, over the scenario from a few
    rounds before fra1 was cut off to the moment sgp1's collectd was stopped (whole seconds)."""
    start = int(scenario["steps"]["regional"][0]) - 3
    end = int(scenario["steps"]["silent"][0])
    iso = [datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
           for t in (start, end)]
    argv = netns.exec_argv(scenario["hub"], [
        REPORT, "--uri", scenario["uri"], "--database", "portprobe", "--from", iso[0],
        "--to", iso[1], "--by-location", *args])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TZ="UTC"))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_report_gives_each_locations_down_time_and_the_consensus(scenario):
    rows = {(t["target"], t["location"]): t
            for t in json.loads(report(scenario, "--format", "json"))["targets"]}
    assert set(rows) == {("smtp_mail", n) for n in (*NAMES, "consensus")}
    regional, everywhere, back = (scenario["steps"][k][0]
                                  for k in ("regional", "everywhere", "back"))
    # each location: down from the cut to the reconnection, within a round and its timeout
    for name, down in {"fra1": back - regional, "nyc1": back - everywhere,
                       "sgp1": back - everywhere}.items():
        row = rows[("smtp_mail", name)]
        assert abs(row["down_seconds"] - down) <= 2.0, (name, row["down_seconds"], down)
        assert [o["location"] for o in row["outages"]] == [name], row["outages"]
        assert row["unknown_seconds"] <= 2.0, (name, row["unknown_seconds"])
    # the consensus: down from its FAILURE to its OKAY; the regional WARNING is no outage
    (failure, okay) = [(doc["time"], message) for severity, message, doc in scenario["consensus"]
                       if severity in ("FAILURE", "OKAY")]
    row = rows[("smtp_mail", "consensus")]
    truth = (okay[0] - failure[0]).total_seconds()
    assert abs(row["down_seconds"] - truth) <= 3.0, (row["down_seconds"], truth)
    assert [o["message"] for o in row["outages"]] == [failure[1]]
    assert [o["location"] for o in row["outages"]] == ["consensus"]
    # fra1 was down longer than the quorum said: its availability is the lowest
    assert rows[("smtp_mail", "fra1")]["availability"] < row["availability"]


def test_the_report_of_the_consensus_alone(scenario):
    text = report(scenario, "--location", "consensus")
    assert "smtp_mail (location consensus)" in text, text
    assert "DOWN from 3 of 3 locations" in text, text
    for name in NAMES:
        assert f"(location {name})" not in text, text
