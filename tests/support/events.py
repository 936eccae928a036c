"""Events of the caching Lambda as the wrapped machine sends them, with overridable fields."""

from __future__ import annotations


def pull_event(**fields):
    event = {"sfn_cache": "pull", "protocol": 5, "state": "Train", "bundle": "model", "ttl": None,
             "resource": "arn:aws:lambda:us-east-1:123456789012:function:train", "cache_version": "",
             "force": False, "input": {"x": 1}, "execution": "arn:exec:1", "state_machine": "arn:sm"}
    event.update(fields)
    return event


def push_event(answer, result, **fields):
    event = {"sfn_cache": "push", "protocol": 5, "state": "Train", "bundle": "model", "ttl": None,
             "key": answer["key"], "base": answer.get("base"), "result": result,
             "execution": "arn:exec:1", "state_machine": "arn:sm"}
    event.update(fields)
    return event
