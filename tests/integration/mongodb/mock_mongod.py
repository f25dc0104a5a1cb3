#!/usr/bin/python3
"""A recording MongoDB stand-in for portprobe_mongodb's tests.

Built on Debian's python3-mockupdb: it speaks the wire protocol well enough
for mongo-c-driver (handshake, OP_MSG commands with document sequences) and
answers create, createIndexes and insert the way a mongod would. Every
request it receives is appended to a JSON-lines file together with the BSON
type of every field, so a test can assert on what the driver really sent.

It is not a database: nothing is stored, queried or indexed. To simulate an
outage, stop the process (SIGTERM) and start it again on the same port with
the same --record file; records are appended.

Run with /usr/bin/python3 (Debian's mockupdb and bson live there).
"""

import argparse
import base64
import calendar
import datetime
import json
import math
import os
import signal
import sys
import threading
import time

from bson.int64 import Int64
from bson.objectid import ObjectId
import mockupdb

NAMESPACE_EXISTS = 48
DOCUMENT_VALIDATION_FAILURE = 121
DUPLICATE_KEY = 11000


def bson_type(value):
    """The BSON type name of a value decoded by python-bson."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Int64):
        return "int64"
    if isinstance(value, int):
        return "int32"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime.datetime):
        return "date"
    if isinstance(value, ObjectId):
        return "objectId"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, bytes):
        return "binData"
    return type(value).__name__


def plain(value):
    """A JSON-friendly copy of a decoded BSON value."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        # python-bson gives naive UTC datetimes: milliseconds since the epoch
        return calendar.timegm(value.utctimetuple()) * 1000 + \
            value.microsecond // 1000
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value if not isinstance(value, Int64) else int(value)
    return repr(value)


def types(value):
    """The same shape as plain(value), with type names in place of values."""
    if isinstance(value, dict):
        return {k: types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [types(v) for v in value]
    return bson_type(value)


class Recorder:
    def __init__(self, path, existing, refuse, lose_reply):
        self.path = path
        self.existing = existing
        self.refuse = refuse
        self.lose_reply = lose_reply
        self.ids = {}  # collection -> _ids stored (not for metrics)
        self.lock = threading.Lock()
        # one write(2) per record on an O_APPEND descriptor: a record is in
        # the file whole or not at all, even if the process is stopped while
        # a handler thread records (the test's outage does that)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(self, request, documents, accepted):
        body = dict(request.doc)
        name = request.command_name or ""
        entry = {
            "ts": time.time(),
            "pid": os.getpid(),
            "opcode": type(request).__name__,
            "command": name,
            "db": body.get("$db", request.namespace),
            "collection": body.get(name) if isinstance(body.get(name), str)
            else None,
        }
        body.pop("documents", None)
        entry["body"] = plain(body)
        entry["body_types"] = types(body)
        if documents is not None:
            entry["documents"] = [plain(d) for d in documents]
            entry["document_types"] = [types(d) for d in documents]
            # how many of them a mongod would have stored (ordered insert)
            entry["accepted"] = accepted
        line = json.dumps(entry, sort_keys=True)
        data = (line + "\n").encode("utf-8")
        with self.lock:
            while data:
                data = data[os.write(self.fd, data):]

    def duplicate_index(self, collection, documents):
        """Like a collection with a unique _id index: the first document of
        an ordered insert whose _id is already stored, or None. Time-series
        collections have no such index, so metrics are never checked."""
        if collection == "metrics":
            return None
        seen = self.ids.setdefault(collection, set())
        for i, doc in enumerate(documents):
            if doc.get("_id") in seen:
                return i
        return None

    def refused_index(self, documents):
        if self.refuse is None:
            return None
        for i, doc in enumerate(documents):
            if doc.get("value") == self.refuse:
                return i
        return None

    def handle(self, request):
        name = request.command_name or ""
        lname = name.lower()
        documents = request.doc.get("documents")
        collection = request.doc.get(name)
        lose_reply = False
        if lname == "insert":
            documents = documents or []
            duplicate = self.duplicate_index(collection, documents)
            refused = self.refused_index(documents)
            if duplicate is not None and (refused is None or
                                          duplicate < refused):
                refused, code, errmsg = duplicate, DUPLICATE_KEY, \
                    "E11000 duplicate key error collection: %s.%s index: " \
                    "_id_" % (request.doc.get("$db"), collection)
            else:
                code, errmsg = DOCUMENT_VALIDATION_FAILURE, \
                    "Document failed validation"
            accepted = len(documents) if refused is None else refused
            if collection != "metrics":
                self.ids.setdefault(collection, set()).update(
                    d.get("_id") for d in documents[:accepted])
            if self.lose_reply == collection:
                self.lose_reply = None
                lose_reply = True
        else:
            refused, accepted = None, None
        self.record(request, documents, accepted)
        if lose_reply:
            # stored, but the client never hears so: it must retry
            return request.hangup()

        if lname in ("ismaster", "hello"):
            return request.replies(
                ismaster=True, isWritablePrimary=True, helloOk=False,
                minWireVersion=0, maxWireVersion=self.max_wire_version,
                maxBsonObjectSize=16 * 1024 * 1024,
                maxMessageSizeBytes=48000000, maxWriteBatchSize=100000,
                localTime=datetime.datetime.utcnow())
        if lname == "create" and self.existing:
            return request.command_err(
                code=NAMESPACE_EXISTS, codeName="NamespaceExists",
                errmsg="Collection %s.%s already exists."
                % (request.doc.get("$db"), request.doc.get(name)))
        if lname == "createindexes":
            n = len(request.doc.get("indexes", []))
            return request.replies(numIndexesBefore=1, numIndexesAfter=1 + n,
                                   createdCollectionAutomatically=False)
        if lname == "insert":
            if refused is not None:
                # what a mongod answers when document i of an ordered insert
                # fails validation: 0..i-1 are stored, the rest not tried
                return request.replies(n=refused, writeErrors=[{
                    "index": refused, "code": code, "errmsg": errmsg}])
            return request.replies(n=len(documents))
        return request.replies()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True,
                        help="JSON-lines file every request is appended to")
    parser.add_argument("--max-wire-version", type=int, default=17)
    parser.add_argument("--existing", action="store_true",
                        help="answer create with NamespaceExists (code 48)")
    parser.add_argument("--refuse", type=float,
                        help="refuse documents whose value is this number "
                        "(code 121, DocumentValidationFailure)")
    parser.add_argument("--lose-reply", metavar="COLLECTION",
                        help="store the first insert into COLLECTION, then "
                        "hang up instead of replying")
    args = parser.parse_args()

    recorder = Recorder(args.record, args.existing, args.refuse,
                        args.lose_reply)
    recorder.max_wire_version = args.max_wire_version
    server = mockupdb.MockupDB(port=args.port, request_timeout=3600)
    # Our handler answers the handshake too, so that it is recorded.
    server.autoresponds(recorder.handle)
    server.run()

    done = threading.Event()

    def stop(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY %d" % server.port, flush=True)
    while not done.wait(0.2):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
