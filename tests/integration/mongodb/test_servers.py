"""What each MongoDB-wire server of the tests really does, checked before the tests rely on it:
SecantusDB takes time-series collections and TTL indexes and has the $group accumulators;
FerretDB refuses both with NotImplemented (238), the case portprobe_mongodb falls back for."""

import datetime

import pymongo
import pytest

NOT_IMPLEMENTED = 238


def test_server_answers_and_stores(mongo_server):
    db = mongo_server.client().probe
    db.c.insert_one({"time": datetime.datetime.now(datetime.timezone.utc), "v": 1.5})
    assert [d["v"] for d in db.c.find({}, {"v": 1})] == [1.5]


def _create_timeseries(db):
    return db.command({"create": "ts", "expireAfterSeconds": 60,
                       "timeseries": {"timeField": "time", "metaField": "meta"}})


def test_time_series_and_ttl_as_documented(mongo_server):
    db = mongo_server.client().probe
    if mongo_server.timeseries:
        _create_timeseries(db)
        info = next(db.list_collections(filter={"name": "ts"}))
        assert info["options"]["timeseries"]["timeField"] == "time"
        db.command({"createIndexes": "plain", "indexes": [
            {"key": {"time": 1}, "name": "time_1", "expireAfterSeconds": 60}]})
        return
    with pytest.raises(pymongo.errors.OperationFailure) as refused:
        _create_timeseries(db)
    assert refused.value.code == NOT_IMPLEMENTED
    with pytest.raises(pymongo.errors.OperationFailure) as refused:
        db.command({"createIndexes": "plain", "indexes": [
            {"key": {"time": 1}, "name": "time_1", "expireAfterSeconds": 60}]})
    assert refused.value.code == NOT_IMPLEMENTED


def test_group_counts_work_everywhere_other_accumulators_not(mongo_server):
    db = mongo_server.client().probe
    db.c.insert_many([{"k": "a", "v": float(i)} for i in range(5)])
    counted = list(db.c.aggregate([{"$match": {"k": "a"}},
                                   {"$group": {"_id": "$k", "n": {"$sum": 1}}}]))
    assert counted == [{"_id": "a", "n": 5}]
    avg = [{"$group": {"_id": "$k", "m": {"$avg": "$v"}}}]
    if mongo_server.timeseries:
        assert list(db.c.aggregate(avg)) == [{"_id": "a", "m": 2.0}]
    else:
        with pytest.raises(pymongo.errors.OperationFailure) as refused:
            list(db.c.aggregate(avg))
        assert refused.value.code == NOT_IMPLEMENTED
