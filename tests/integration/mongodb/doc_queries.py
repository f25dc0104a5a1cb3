"""The example queries of the documentation, run as written against a real server.

A query in a Markdown page is a ```js block after `<!-- query NAME -->`, one mongosh statement:
`db.COLL.aggregate([...])` or `db.COLL.find(FILTER[, PROJECTION])[.sort({...})][.limit(N)]`,
written with quoted keys (valid mongosh and JSON alike), and the variables `from` and `to` for
the window. load() reads them; run() executes one with pymongo and returns the documents.
"""

import json
import re
from datetime import datetime, timezone

from bson import json_util

BLOCK = re.compile(r"<!-- query ([\w-]+) -->\s*```js\n(.*?)```", re.S)
WINDOW_VARIABLE = re.compile(r'(?<![\w"$.])(from|to)(?![\w"])')
AGGREGATE = re.compile(r"db\.(\w+)\.aggregate\((\[.*\])\)\s*$", re.S)
FIND = re.compile(r"db\.(\w+)\.find\((.*?)\)(?:\.sort\((\{.*?\})\))?(?:\.limit\((\d+)\))?\s*$",
                  re.S)


def load(path):
    """{name: statement} of every query block in the page at `path`."""
    text = path.read_text()
    queries = {}
    for name, body in BLOCK.findall(text):
        lines = [line.split("//")[0] for line in body.splitlines()]
        statement = "\n".join(line for line in lines if line.strip())
        assert statement.count("db.") == 1, f"query {name}: one statement per block"
        queries[name] = statement
    assert queries, f"no <!-- query NAME --> blocks in {path}"
    return queries


def _json(text, start, end):
    """JSON text of the page with the window's variables as extended-JSON dates."""
    def date(match):
        t = start if match.group(1) == "from" else end
        iso = datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")
        return json.dumps({"$date": iso})
    return json_util.loads(WINDOW_VARIABLE.sub(date, text))


def run(db, statement, start, end):
    """The documents `statement` returns from pymongo database `db` for [start, end)."""
    if m := AGGREGATE.match(statement):
        return list(db[m.group(1)].aggregate(_json(m.group(2), start, end)))
    m = FIND.match(statement)
    assert m, f"not a query this harness runs: {statement}"
    args = _json("[" + m.group(2) + "]", start, end)
    cursor = db[m.group(1)].find(*args)
    if m.group(3):
        cursor = cursor.sort(list(_json(m.group(3), start, end).items()))
    if m.group(4):
        cursor = cursor.limit(int(m.group(4)))
    return list(cursor)


def outages(events, state, start, end):
    """Durations of outages from state events in time order: each "down" paired with the next
    "up", clipped to [start, end); `state(event)` gives "down" or "up", event["time"] its
    time (a datetime), or event["timestamp"]."""
    out, opened = [], None
    for event in events:
        t = (event.get("time") or event["timestamp"]).timestamp()
        if state(event) == "down" and opened is None:
            opened = t
        elif state(event) == "up" and opened is not None:
            if t > start:
                out.append(min(t, end) - max(opened, start))
            opened = None
    if opened is not None:
        out.append(end - max(opened, start))
    return out
