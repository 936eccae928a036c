"""The Python API reads its arguments as users mean them (one glob or a list, durations as strings) and
rejects anything else with a clear error."""

from __future__ import annotations

import json

import pytest

from sfn_cache import Caching, PipelineCaching
from sfn_cache.errors import SfnCacheError
from tests.support.paths import EXAMPLE


def wrapped_tasks(caching: Caching) -> set[str]:
    definition = PipelineCaching(json.loads(EXAMPLE.read_text()), caching).cache()
    return {name[len("cache_pull_"):] for name in json.dumps(definition).split('"') if name.startswith("cache_pull_")}


def test_api_takes_one_glob_or_a_list_and_durations_as_strings():
    every = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c"))
    assert "TrainModel" in every and "NotifyFailure" not in every  # an sns:publish is cached only when named
    one = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c", exclude="Write*"))
    assert one == every - {"WriteReport"}
    listed = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c", exclude=["Write*", "Train*"]))
    assert listed == every - {"WriteReport", "TrainModel"}
    named = wrapped_tasks(Caching("arn:aws:lambda:us-east-1:1:function:c", include=["*", "NotifyFailure"]))
    assert named == every | {"NotifyFailure"}
    assert Caching("arn:aws:lambda:us-east-1:1:function:c", ttl="7d").options.ttl == 7 * 86400
    assert Caching("arn:aws:lambda:us-east-1:1:function:c", cache_version=3).options.cache_version == "3"


@pytest.mark.parametrize("keywords, message", [
    ({"exclude": 5}, "Caching(exclude=...): expected a glob string or a list of them"),
    ({"include": ["A", 1]}, "Caching(include=...): expected a glob string or a list of them"),
    ({"ttl": "soon"}, "Caching(ttl=...): not a duration"),
    ({"ttl": 0}, "Caching(ttl=...): a TTL of 0 would never serve"),
    ({"ttl": 1.5}, "Caching(ttl=...): expected seconds or a duration"),
    ({"bucket": "ml-cache"}, "Caching(bucket=...): expected s3://bucket[/prefix]"),
    ({"force_rerun": "yes"}, "Caching(force_rerun=...): expected bool"),
    ({"pattern": "fancy"}, "Caching(pattern=...): expected one of variables, classic"),
])
def test_api_rejects_anything_else_with_a_clear_error(keywords, message):
    with pytest.raises(SfnCacheError) as caught:
        Caching("arn:aws:lambda:us-east-1:1:function:c", **keywords)
    assert str(caught.value).startswith(message), str(caught.value)
