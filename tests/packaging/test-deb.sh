#!/bin/bash
# Builds the Debian packages, checks them with lintian, installs them,
# starts collectd from the system plugin directory with portprobe loaded,
# reads a portprobe value back, and purges the packages. Run as root; it
# leaves the system as it found it (it refuses to run if the packages are
# already installed).
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in portprobe collectd-portprobe; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    echo "test-deb: $p is already installed; not touching it" >&2
    exit 1
  fi
done
work=$(mktemp -d)
collectd_pid= listener_pid=
# stop by PID: TERM, then KILL after a bounded wait
stop_pid() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  [ -n "$collectd_pid" ] && stop_pid "$collectd_pid"
  [ -n "$listener_pid" ] && stop_pid "$listener_pid"
  dpkg --purge collectd-portprobe portprobe >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# getval IDENT TRIES: the value collectd holds for IDENT, polled every 0.1 s
getval() {
  local value=
  for _ in $(seq "$2"); do
    value=$( (collectdctl -s "$work/collectd.sock" getval "$1" 2>/dev/null || true) | sed -n 's/^value=//p')
    [ -n "$value" ] && break
    sleep 0.1
  done
  echo "$value"
}

echo "-- build"
./scripts/build-deb "$work/dist" >/dev/null
echo "-- lintian (errors fail)"
lintian --fail-on error "$work"/dist/*.changes 2>&1 | grep -v "running with root" || true
lintian --fail-on error "$work"/dist/*.changes >/dev/null 2>&1

# the listing is read whole: grep -q stopping early would kill dpkg-deb
# with SIGPIPE, and pipefail would call that a missing page
dpkg-deb -c "$work"/dist/portprobe_*.deb >"$work/contents"
grep -q ' ./usr/share/man/man1/portprobe.1.gz$' "$work/contents" ||
  { echo "the portprobe package has no manual page" >&2; exit 1; }
dpkg-deb -c "$work"/dist/collectd-portprobe_*.deb >"$work/contents"
grep -q ' ./usr/share/man/man1/portprobe-report.1.gz$' "$work/contents" ||
  { echo "the collectd-portprobe package has no portprobe-report manual page" >&2; exit 1; }
grep -q ' ./usr/share/doc/collectd-portprobe/README.report.md' "$work/contents" ||
  { echo "the collectd-portprobe package has no README.report.md" >&2; exit 1; }
echo "-- install"
apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$work"/dist/portprobe_*.deb "$work"/dist/collectd-portprobe_*.deb >/dev/null
getcap /usr/bin/portprobe | grep -q cap_net_raw || { echo "no cap_net_raw on /usr/bin/portprobe" >&2; exit 1; }
[ ! -u /usr/bin/portprobe ] || { echo "portprobe is setuid" >&2; exit 1; }
test -f /usr/share/doc/collectd-portprobe/examples/portprobe.conf.example
# the Grafana dashboards: InfluxDB's with the command, Prometheus' and MongoDB's with the plugins
for pkg_flavour in portprobe:influxdb collectd-portprobe:prometheus collectd-portprobe:mongodb; do
  pkg=${pkg_flavour%:*} dir=/usr/share/portprobe/dashboards/${pkg_flavour#*:}
  dpkg -L "$pkg" >"$work/files"
  for f in portprobe-overview.json portprobe-target.json README.md \
           provisioning/dashboards.yaml provisioning/datasource.yaml; do
    grep -qx "$dir/$f" "$work/files" || { echo "$pkg has no $dir/$f" >&2; exit 1; }
  done
  /usr/bin/python3 -m json.tool "$dir/portprobe-overview.json" >/dev/null
done
# the target list the Telegraf examples name: a conffile, a commented template
# that checks nothing and says so
dpkg-query -W -f='${Conffiles}\n' portprobe | grep -q '^ /etc/portprobe/portprobe.conf ' ||
  { echo "/etc/portprobe/portprobe.conf is not a conffile of portprobe" >&2; exit 1; }
template_rc=0
template_out=$(/usr/bin/portprobe --config /etc/portprobe/portprobe.conf 2>&1) || template_rc=$?
if [ "$template_rc" != 2 ] || ! echo "$template_out" | grep -q "portprobe.conf: no targets"; then
  echo "the shipped /etc/portprobe/portprobe.conf: status $template_rc: $template_out" >&2; exit 1
fi

/usr/bin/python3 -c "
import socket,sys
s=socket.socket();s.bind(('127.0.0.1',0));s.listen(16)
print(s.getsockname()[1],flush=True)
while True: s.accept()[0].close()" >"$work/port" &
listener_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
/usr/bin/portprobe "tcp://127.0.0.1:$port" name=web | grep -q "^UP"

echo "-- collectd with the system plugin directory"
cat >"$work/collectd.conf" <<CONF
Hostname "pkgtest"
BaseDir "$work"
PIDFile "$work/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db" "/usr/share/collectd/portprobe-types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  File "$work/collectd.log"
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$work/collectd.sock"
</Plugin>
LoadPlugin portprobe
<Plugin portprobe>
  <Target "web">
    URL "tcp://127.0.0.1:$port"
    Timeout "2s"
  </Target>
</Plugin>
CONF
collectd -f -C "$work/collectd.conf" >/dev/null 2>&1 &
collectd_pid=$!
value=$(getval pkgtest/portprobe-web/bool-up 100)
if [ "$value" != "1.000000e+00" ]; then
  echo "no portprobe value from collectd (got '$value')" >&2
  cat "$work/collectd.log" >&2
  exit 1
fi
echo "collectd: pkgtest/portprobe-web/bool-up = $value"
stop_pid "$collectd_pid"; collectd_pid=
echo "-- collectd with the installed example configuration"
# the example as the package installs it, with one change: its hosts are
# placeholders, so names go to a resolver that does not answer (a closed
# loopback port) and fail at once instead of leaving this machine
example=/usr/share/doc/collectd-portprobe/examples/portprobe.conf.example
grep -q '^ *#Resolver ' "$example"
sed 's|^\( *\)#Resolver .*|\1Resolver "127.0.0.1:9"|' "$example" >"$work/example.conf"
sed -e '/^LoadPlugin portprobe$/,$d' -e '/^TypesDB /d' -e 's|^Interval 1$|Interval 10|' \
  -e 's|^\( *File .*collectd.log"\)$|\1\n  PrintSeverity true|' \
  "$work/collectd.conf" >"$work/collectd-example.conf"
echo "Include \"$work/example.conf\"" >>"$work/collectd-example.conf"
: >"$work/collectd.log"
collectd -f -C "$work/collectd-example.conf" >/dev/null 2>&1 &
collectd_pid=$!
value=$(getval pkgtest/portprobe-www/bool-up 200)
if [ "$value" != "0.000000e+00" ] || ! grep -q "\[info\] portprobe: " "$work/collectd.log" ||
   grep -Eq "\[(error|warning)\] portprobe" "$work/collectd.log"; then
  echo "the example configuration gave no portprobe value (got '$value')" >&2
  cat "$work/collectd.log" >&2
  exit 1
fi
echo "collectd (example): pkgtest/portprobe-www/bool-up = $value (its hosts do not resolve here)"
stop_pid "$collectd_pid"; collectd_pid=

echo "-- purge"
dpkg --purge collectd-portprobe portprobe >/dev/null
for f in /usr/bin/portprobe /usr/lib/collectd/portprobe.so /usr/lib/collectd/portprobe_mongodb.so \
         /usr/share/collectd/portprobe-types.db /usr/share/doc/portprobe /usr/share/doc/collectd-portprobe \
         /etc/portprobe; do
  [ ! -e "$f" ] || { echo "left behind after purge: $f" >&2; exit 1; }
done
if dpkg-query -W -f='${Status}\n' portprobe collectd-portprobe 2>/dev/null | grep -q "ok installed"; then
  echo "still installed after purge" >&2; exit 1
fi
echo "debian packages: 1 passed, 0 failed"
