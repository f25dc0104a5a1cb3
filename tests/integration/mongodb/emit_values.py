#!/usr/bin/python3
"""Deterministic values and notifications for collectd's exec plugin.

Writes PUTVAL (and PUTNOTIF) lines on stdout, one step every --interval
seconds, then sleeps until collectd stops it (exec restarts a program that
exits, which would repeat the sequence). Step i carries the value i on
HOST/portprobe-smtp_example/gauge-seq, so a test can tell which values
reached MongoDB, and in which order.

Modes:
  seq   only the gauge-seq value
  full  one value of each data source type, a multi-value type with an
        unknown (NaN) gauge, and a notification at the steps --notify-at
"""

import argparse
import sys
import time

IDENT = "{host}/portprobe-smtp_example/{type}"


def putval(host, type_, t, values, interval):
    ident = IDENT.format(host=host, type=type_)
    print('PUTVAL "%s" interval=%g %.3f:%s' % (ident, interval, t, values))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="testhost")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--mode", choices=("seq", "full"), default="full")
    p.add_argument("--notify-at", default="")
    p.add_argument("--done-file", help="created once every step is out")
    p.add_argument("--other-plugin", action="store_true",
                   help="also emit a value from plugin 'other'")
    a = p.parse_args()
    notify_at = {int(x) for x in a.notify_at.split(",") if x}

    start = time.time()
    for i in range(1, a.steps + 1):
        t = round(start + i * a.interval, 3)
        putval(a.host, "gauge-seq", t, "%d" % i, 10)
        if a.mode == "full":
            putval(a.host, "derive-d", t, "%d" % (i * 10), 10)
            putval(a.host, "counter-c", t, "%d" % (i * 100), 10)
            putval(a.host, "absolute-a", t, "%d" % i, 10)
            putval(a.host, "if_octets", t, "%d:%d" % (i * 1000, i * 2000), 10)
            putval(a.host, "load", t, "0.5:U:1.5", 10)
        if a.other_plugin:
            print('PUTVAL "%s/other-x/gauge-seq" interval=10 %.3f:%d'
                  % (a.host, t, i))
        if i in notify_at:
            print('PUTNOTIF severity=failure time=%.3f host=%s '
                  'plugin=portprobe plugin_instance=smtp_example type=bool '
                  'type_instance=up s:failure=refused s:step=%d '
                  'message="SMTP down: connection refused (step %d)"'
                  % (t, a.host, i, i))
        sys.stdout.flush()
        delay = start + (i + 1) * a.interval - time.time()
        if delay > 0:
            time.sleep(delay)
    if a.done_file:
        with open(a.done_file, "w") as f:
            f.write("%d\n" % a.steps)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
