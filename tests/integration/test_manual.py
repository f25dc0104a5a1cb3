"""The manual page (telegraf-exec/portprobe.1, made by configure) against the
command it documents: every target option and every command-line option is
described, and groff renders it without a warning."""
import re
import shutil
import subprocess

import pytest

from conftest import BUILDDIR

MANUAL = BUILDDIR / "telegraf-exec" / "portprobe.1"


def rendered():
    """The page as man shows it, as plain text (hyphenation off)."""
    roff = ".hy 0\n.nh\n" + MANUAL.read_text()
    out = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-rLL=200n"],
                         input=roff, capture_output=True, text=True, check=True)
    return out.stdout


def test_every_target_option_is_in_the_manual_with_its_default(portprobe):
    listing = portprobe("--list-options").stdout
    page = rendered()
    missing = []
    for line in listing.splitlines():
        key, rest = line.split(None, 1)  # the key column is as wide as the longest key
        default = rest[23:34].strip()
        entry = re.search(rf"^\s*{re.escape(key)}=.*\n((?:\s+\S.*\n)+)", page, re.M)
        if entry is None:
            missing.append(key)
        elif default != "-" and f"Default: {default}." not in " ".join(entry.group(1).split()):
            missing.append(f"{key} (default {default})")
    assert len(listing.splitlines()) > 40
    assert not missing, missing


def test_every_command_line_option_is_in_the_manual(portprobe):
    helptext = portprobe("--help").stdout
    options = re.findall(r"--[a-z][a-z-]+", helptext.split("exit status")[0])
    assert "--http-concurrency" in options and "--execd" in options
    page = rendered()
    assert not [o for o in set(options) if o not in page]


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_manual_renders_without_warnings():
    done = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(MANUAL)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "@VERSION@" not in MANUAL.read_text()
