"""Test harness for portprobe_mongodb: the recording MongoDB stand-in, the
real collectd daemon, and a swappable source of values.

A test puts together
  MockMongo     mock_mongod.py as a subprocess on 127.0.0.1:PORT, recording
                to a JSON-lines file; stop() and start() again = an outage
  RealMongo     a real server (SecantusDB or FerretDB, fixtures/mongo_servers)
                behind the same interface: documents() reads what it stored
  a source      anything with .plugins (stock .so files it needs, or paths
                of built ones) and .config() (collectd config text that
                makes values): ExecSource, or test_mongodb.py's
                PortprobeSource (portprobe's own read plugin)
  Collectd      `collectd -f -C FILE` with a private PluginDir holding copies
                of the stock plugins and the freshly built plugin
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PYTHON = "/usr/bin/python3"
sys.path.insert(0, os.path.dirname(HERE))
from fixtures import collectd_plugins, mongo_servers, procs  # noqa: E402
from mock_mongod import plain, types  # noqa: E402
COLLECTD = shutil.which("collectd") or "/usr/sbin/collectd"
COLLECTDCTL = shutil.which("collectdctl") or "/usr/bin/collectdctl"
def _plugin_so():
    """portprobe_mongodb.so of the automake build (PORTPROBE_BUILDDIR, else ./build)."""
    builddir = os.environ.get("PORTPROBE_BUILDDIR") or os.path.join(REPO, "build")
    return os.path.join(builddir, "mongodb-plugin", ".libs",
                        "portprobe_mongodb.so")


PLUGIN_SO = _plugin_so()
SANITIZE = os.environ.get("PORTPROBE_SANITIZE") == "1"


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %gs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_workdir():
    """A temporary directory the exec plugin's user (nobody) can read."""
    d = tempfile.mkdtemp(prefix="pp-mongodb-")
    os.chmod(d, 0o755)
    return d


class MockMongo:
    def __init__(self, workdir, port=None, existing=False, refuse=None,
                 lose_reply=None):
        self.port = port or free_port()
        self.record = os.path.join(workdir, "mongo-record.jsonl")
        self.existing = existing
        self.refuse = refuse
        self.lose_reply = lose_reply
        self.proc = None
        self.out = open(os.path.join(workdir, "mock.out"), "ab")

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d/" % self.port

    def start(self):
        args = [PYTHON, os.path.join(HERE, "mock_mongod.py"),
                "--port", str(self.port), "--record", self.record]
        if self.existing:
            args.append("--existing")
        if self.refuse is not None:
            args += ["--refuse", str(self.refuse)]
        if self.lose_reply:
            args += ["--lose-reply", self.lose_reply]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.out)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("READY"), "mock_mongod did not start: %r" % line
        return self

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc = None

    def records(self):
        if not os.path.exists(self.record):
            return []
        with open(self.record, encoding="utf-8") as f:
            # a long record reaches the file in more than one write: a last
            # line without its newline is still being written, not a record
            return [json.loads(line) for line in f
                    if line.strip() and line.endswith("\n")]

    def commands(self, name, collection=None):
        return [r for r in self.records()
                if r["command"].lower() == name.lower()
                and (collection is None or r["collection"] == collection)]

    def inserts(self, collection):
        return self.commands("insert", collection)

    def documents(self, collection):
        """(document, types) pairs a mongod would have stored, in the order
        the server received them."""
        out = []
        for r in self.inserts(collection):
            n = r["accepted"]
            out.extend(zip(r["documents"][:n], r["document_types"][:n]))
        return out


class RealMongo:
    """A real MongoDB-wire server of `kind` ("secantusdb", "ferretdb") with
    MockMongo's interface: start() and stop() again make an outage on the
    same port and data; close() ends it. With `refuse`, `metrics` is made
    first as an ordinary collection whose validator refuses documents with
    that value (code 121), as a mongod with a validation rule does."""

    def __init__(self, kind, workdir, refuse=None, database="pp_test"):
        self.kind, self.workdir, self.refuse = kind, workdir, refuse
        self.database = database
        self.port = free_port()
        self.registry = procs.Registry()
        self.server = None
        self._client = None
        self.last = {}  # collection -> documents read while it ran

    @property
    def uri(self):
        return "mongodb://127.0.0.1:%d/" % self.port

    def start(self):
        if self.server is None:
            self.server = mongo_servers.STARTERS[self.kind](
                self.registry, self.workdir, port=self.port)
            if self.refuse is not None:
                self.db().create_collection("metrics", validator={
                    "value": {"$ne": self.refuse}})
        else:
            self.server.start()
        return self

    def stop(self):
        self._drop_client()
        if self.server is not None:
            self.server.stop()

    def close(self):
        self._drop_client()
        self.registry.stop_all()

    def _drop_client(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def running(self):
        return self.server is not None and self.server.process is not None

    def db(self):
        if self._client is None:
            self._client = self.server.client()
        return self._client[self.database]

    def documents(self, collection):
        """(document, types) pairs stored, oldest first (by time, then
        _id); while the server is stopped, what it held when last read."""
        if self.running():
            docs = self.db()[collection].find().sort([("time", 1), ("_id", 1)])
            self.last[collection] = [(plain(d), types(d)) for d in docs]
        return self.last.get(collection, [])


def make_mongo(backend, workdir, **kwargs):
    """MockMongo for backend "mock", else a RealMongo of that kind."""
    if backend == "mock":
        return MockMongo(workdir, **kwargs)
    return RealMongo(backend, workdir, refuse=kwargs.get("refuse"))


class ExecSource:
    """Values from collectd's exec plugin running emit_values.py."""

    plugins = ["exec.so"]

    def __init__(self, workdir, steps, interval=0.05, mode="full",
                 notify_at=(), other_plugin=False, host="testhost"):
        self.workdir = workdir
        self.steps = steps
        self.interval = interval
        self.mode = mode
        self.notify_at = list(notify_at)
        self.other_plugin = other_plugin
        self.host = host
        self.statedir = os.path.join(workdir, "state")
        os.makedirs(self.statedir, exist_ok=True)
        os.chmod(self.statedir, 0o777)
        self.done_file = os.path.join(self.statedir, "emit.done")
        self.script = os.path.join(workdir, "emit_values.py")
        shutil.copy(os.path.join(HERE, "emit_values.py"), self.script)
        os.chmod(self.script, 0o755)

    def config(self):
        args = [self.script, "--steps", str(self.steps), "--interval",
                str(self.interval), "--mode", self.mode, "--host", self.host,
                "--done-file", self.done_file]
        if self.notify_at:
            args += ["--notify-at", ",".join(map(str, self.notify_at))]
        if self.other_plugin:
            args.append("--other-plugin")
        # env -u: an ASan preload is meant for collectd, not for Python.
        argv = ["/usr/bin/env", "-u", "LD_PRELOAD", PYTHON] + args
        return ('LoadPlugin exec\n<Plugin exec>\n  Exec "nobody:nogroup" %s\n'
                '</Plugin>\n' % " ".join('"%s"' % a for a in argv))

    def done(self):
        return os.path.exists(self.done_file)


class Collectd:
    def __init__(self, workdir, source, plugin_conf, extra_conf="",
                 extra_plugins=()):
        self.workdir = workdir
        self.source = source
        self.plugin_conf = plugin_conf
        self.extra_conf = extra_conf
        self.plugindir = os.path.join(workdir, "plugins")
        self.conf_file = os.path.join(workdir, "collectd.conf")
        self.log_file = os.path.join(workdir, "collectd.log")
        self.out_file = os.path.join(workdir, "collectd.out")
        self.socket = os.path.join(workdir, "collectd.sock")
        self.proc = None
        os.makedirs(self.plugindir, exist_ok=True)
        # collectd refuses symbolic links in PluginDir: copy.
        wanted = ["logfile.so", "unixsock.so"] + list(source.plugins) + \
            list(extra_plugins)
        for name in wanted:  # a stock plugin's name, or a built plugin's path
            if os.path.isabs(name):
                shutil.copy(name, self.plugindir)
            else:
                collectd_plugins.copy(name.removesuffix(".so"), self.plugindir)
        shutil.copy(PLUGIN_SO, self.plugindir)

    def config(self):
        return """\
Hostname "testhost"
FQDNLookup false
BaseDir "{w}"
PIDFile "{w}/collectd.pid"
PluginDir "{p}"
Interval 1
WriteThreads 1

LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{log}"
  Timestamp true
  PrintSeverity true
</Plugin>

LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{sock}"
</Plugin>

{source}
{extra}
LoadPlugin portprobe_mongodb
<Plugin portprobe_mongodb>
{plugin}
</Plugin>
""".format(w=self.workdir, p=self.plugindir, log=self.log_file,
           sock=self.socket, source=self.source.config(),
           extra=self.extra_conf, plugin=self.plugin_conf)

    def env(self):
        env = dict(os.environ)
        if SANITIZE:
            libasan = subprocess.check_output(
                ["gcc", "-print-file-name=libasan.so"], text=True).strip()
            env["LD_PRELOAD"] = libasan
            env["ASAN_OPTIONS"] = (
                "detect_leaks=1:abort_on_error=0:log_path=%s/asan:"
                "suppressions=%s" % (self.workdir,
                                     os.path.join(HERE, "asan.supp")))
            env["LSAN_OPTIONS"] = "print_suppressions=0:suppressions=%s" % os.path.join(
                HERE, "lsan.supp")
            env["UBSAN_OPTIONS"] = ("print_stacktrace=1:log_path=%s/ubsan"
                                    % self.workdir)
        return env

    def start(self, wait_ready=True):
        with open(self.conf_file, "w") as f:
            f.write(self.config())
        out = open(self.out_file, "ab")
        self.proc = subprocess.Popen([COLLECTD, "-f", "-C", self.conf_file],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     env=self.env())
        out.close()
        if wait_ready:
            wait_for(lambda: "Initialization complete" in self.log()
                     or self.proc.poll() is not None, 20, "collectd to start")
            assert self.proc.poll() is None, "collectd exited:\n" + self.log()
        return self

    def stop(self, timeout=30):
        """SIGTERM by PID; returns collectd's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def log(self):
        text = ""
        for path in (self.out_file, self.log_file):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return text

    def ctl(self, *args):
        return subprocess.run([COLLECTDCTL, "-s", self.socket] + list(args),
                              capture_output=True, text=True, timeout=60)

    def sanitizer_reports(self):
        """Text of ASan/UBSan reports written by this run, if any."""
        out = []
        for name in sorted(os.listdir(self.workdir)):
            if name.startswith(("asan", "ubsan")):
                with open(os.path.join(self.workdir, name),
                          errors="replace") as f:
                    out.append(f.read())
        return "\n".join(out)


PORTPROBE_SO = os.path.join(
    os.environ.get("PORTPROBE_BUILDDIR") or os.path.join(REPO, "build"),
    "collectd-plugin", ".libs", "portprobe.so")
PORTPROBE_TYPES_DB = os.path.join(REPO, "collectd-plugin", "types.db")


class PortprobeSource:
    """Values and notifications from portprobe.so, collectd's read plugin
    built here, checking TCP targets {name: port} on 127.0.0.1 every
    `interval` seconds; `labels` ("location=lab1", ...) go on every target."""

    def __init__(self, targets, down_after=1, labels=(), interval=None):
        self.plugins = [PORTPROBE_SO]
        self.targets = targets
        self.down_after = down_after
        self.labels = list(labels)
        self.interval = interval

    def config(self):
        labels = "".join('    Label "%s"\n' % l for l in self.labels)
        if self.interval:
            labels += '    Interval "%gs"\n' % self.interval
        blocks = "".join(
            '  <Target "%s">\n    URL "tcp://127.0.0.1:%d"\n%s  </Target>\n'
            % (name, port, labels) for name, port in self.targets.items())
        return ('TypesDB "/usr/share/collectd/types.db" "%s"\n'
                'LoadPlugin portprobe\n<Plugin portprobe>\n'
                '  Timeout "500ms"\n  DownAfter %d\n%s</Plugin>\n'
                % (os.path.abspath(PORTPROBE_TYPES_DB), self.down_after,
                   blocks))
