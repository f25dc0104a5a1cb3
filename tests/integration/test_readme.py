"""The README's option table (written by scripts/readme-options) against the
command it documents: every target option of `portprobe --list-options` is a
row, in the listing's order, with its type, default and help text, and the
table has no row the command does not list."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def listed(portprobe):
    """(key, type, default, help) per option, from the command's columns."""
    lines = portprobe("--list-options").stdout.splitlines()
    w = max([16] + [len(line.split(" ", 1)[0]) for line in lines])  # the key column
    return [(line[:w].strip(), line[w + 1:w + 23].strip(), line[w + 24:w + 34].strip(),
             line[w + 35:].strip()) for line in lines]


def documented():
    """The same four cells per row of the README's Options table."""
    section = README.read_text().split("\n### Options\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [c.strip().replace("\\|", "|")
                     for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append((cells[0].strip("`"), *cells[1:]))
    return rows


def test_readme_option_table_is_the_option_table(portprobe):
    listing, table = listed(portprobe), documented()
    assert len(listing) > 40
    missing = [row for row in listing if row not in table]
    unknown = [row for row in table if row not in listing]
    assert not missing and not unknown, (
        f"README.md disagrees with portprobe --list-options (run "
        f"scripts/readme-options): missing or different {missing}, "
        f"not in the listing {unknown}")
    assert [row[0] for row in table] == [row[0] for row in listing]
