"""Issue 27 point 1: a pull never reads a context field its own resource lacks.

AWS docs (Step Functions developer guide, "Accessing execution data from the Context object"):
``Task.Token`` is in the context of a callback task only (``.waitForTaskToken``); the pull is a plain
Lambda invoke, whose context has no ``Task``. A JSONPath reference to a field that is not there fails the
state with ``States.Runtime``, which no Catch handles (LocalStack's recording of AWS,
tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json,
``test_catch_states_runtime``: the Catch on States.ALL does not handle it, the execution fails).
"""

from __future__ import annotations

import json
import re

import pytest

from sfn_cache.local.engine import CACHE_ARN
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

# a .sync task reading the token, as the users do (a .waitForTaskToken task is left uncached:
# its result comes from outside the task)
SYNC = "arn:aws:states:::states:startExecution.sync:2"
CHILD = "arn:aws:states:us-east-1:123456789012:stateMachine:child"


def evaluated_strings(value, language):
    """The strings of a payload that Step Functions evaluates (JSONPath ``.$`` values, JSONata ``{% %}``)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if language == "JSONPath" and key.endswith(".$"):
                yield inner
            else:
                yield from evaluated_strings(inner, language)
    elif isinstance(value, list):
        for inner in value:
            yield from evaluated_strings(inner, language)
    elif isinstance(value, str) and language == "JSONata" and "{%" in value:
        yield value


JSONPATH = {"StartAt": "Ask", "States": {"Ask": {
    "Type": "Task", "Resource": SYNC,
    "Parameters": {"StateMachineArn": CHILD, "Input": {"token.$": "$$.Task.Token", "doc.$": "$.doc",
                                                           "note.$": "States.Format('{}/{}', $.doc, $$.Task.Token)"}},
    "End": True}}}
JSONATA = {"QueryLanguage": "JSONata", "StartAt": "Ask", "States": {"Ask": {
    "Type": "Task", "Resource": SYNC,
    "Arguments": {"StateMachineArn": CHILD, "Input": {"token": "{% $states.context.Task.Token %}",
                                                          "doc": "{% $states.input.doc %}"}},
    "End": True}}}


@pytest.mark.parametrize("pattern", ["variables", "classic"])
@pytest.mark.parametrize("definition,language", [(JSONPATH, "JSONPath"), (JSONATA, "JSONata")],
                         ids=["jsonpath", "jsonata"])
def test_the_pull_does_not_read_the_task_token(definition, language, pattern):
    if pattern == "classic" and language == "JSONata":
        pytest.skip("the classic pattern caches JSONPath tasks only")
    result = wrap_definition(definition, WrapOptions(lambda_arn=CACHE_ARN, pattern=pattern))
    assert [t.action for t in result.tasks] == ["wrapped"]
    pull = result.definition["States"]["cache_pull_Ask"]
    payload = pull.get("Parameters", pull.get("Arguments"))
    reads = " ".join(evaluated_strings(payload, pull.get("QueryLanguage", definition.get("QueryLanguage",
                                                                                          "JSONPath"))))
    code = re.sub(r'"[^"]*"|\'[^\']*\'', "''", reads)  # what JSONata evaluates, string literals aside
    assert not re.search(r"\$\$\.Task|\$states\.context\.Task", code), reads
    assert reads.count("$.doc") + reads.count("$states.input.doc") == (2 if language == "JSONPath" else 1), \
        "the rest of T's input is still read into the key"
    task = result.definition["States"]["Ask"]
    assert "Task.Token" in json.dumps(task), "T itself still reads its token"
