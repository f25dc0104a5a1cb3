"""The manual page of portprobe-report (report/portprobe-report.1, made by configure) against
the command: every option of --help is described, every option described exists, every format
and schema is named, and groff renders it without a warning."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILDDIR

MANUAL = BUILDDIR / "report" / "portprobe-report.1"
REPORT = BUILDDIR / "report" / "portprobe-report"
OPTION = re.compile(r"--[a-z][a-z-]+")


def rendered():
    """The page as man shows it, as plain text (hyphenation off)."""
    roff = ".hy 0\n.nh\n" + MANUAL.read_text()
    return subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", "-rLL=200n"], input=roff,
                          capture_output=True, text=True, check=True).stdout


def section(page, name):
    """The text of one section of the rendered page."""
    return re.search(rf"^{name}\n(.*?)(?=^[A-Z][A-Z ]+\n)", page, re.M | re.S).group(1)


def defined_terms():
    """The terms every report defines in its header: pr_definitions of report/format.c."""
    source = (Path(__file__).resolve().parents[2] / "report" / "format.c").read_text()
    table = source.split("pr_definitions[][2] = {", 1)[1].split("};", 1)[0]
    return re.findall(r'^\s*\{"(\w+)",', table, re.M)


def helptext():
    done = subprocess.run([str(REPORT), "--help"], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0
    return done.stdout


def test_every_option_of_the_help_is_described():
    described = set(re.findall(r"^ {7}(--[a-z-]+)", section(rendered(), "OPTIONS"), re.M))
    offered = set(OPTION.findall(helptext()))
    assert {"--uri", "--by-location", "--interval", "--help"} <= offered
    assert not offered - described, f"not in the manual: {offered - described}"


def test_every_option_described_exists():
    described = set(re.findall(r"^ {7}(--[a-z-]+)", section(rendered(), "OPTIONS"), re.M))
    assert len(described) >= 12
    for option in described:
        done = subprocess.run([str(REPORT), option, "x", "--help"], capture_output=True,
                              text=True, timeout=10)
        assert "unrecognized option" not in done.stderr, option


def test_formats_schemas_and_definitions_are_named():
    page = rendered()
    for word in re.search(r"--format (\S+)\]", helptext()).group(1).split("|") + \
            re.search(r"--schema (\S+)\]", helptext()).group(1).split("|"):
        assert re.search(rf"^ {{7}}{word}\b| {word} ", page, re.M), word
    definitions = section(page, "DEFINITIONS")
    names = defined_terms()
    assert len(names) >= 9 and "locations" in names
    for name in names:
        assert re.search(rf"^ {{7}}{name}(\s|$)", definitions, re.M), name


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_manual_renders_without_warnings():
    done = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(MANUAL)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "@VERSION@" not in MANUAL.read_text()
