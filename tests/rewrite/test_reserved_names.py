"""The ``sfncache_`` variable prefix is sfn-cache's: refused wherever a user could assign it."""

from __future__ import annotations

import pytest

from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

TASK = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f"}


@pytest.mark.parametrize("where,state", [
    ("", {**TASK, "Assign": {"sfncache_x": 1}, "End": True}),
    ("Catch[0] ", {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"sfncache_x.$": "$"},
                                       "Next": "Done"}], "End": True}),
])
def test_the_reserved_prefix_is_refused_in_assign_and_in_a_catcher_assign(where, state):
    definition = {"StartAt": "Work", "States": {"Work": state, "Done": {"Type": "Succeed"}}}
    with pytest.raises(SfnCacheError) as error:
        wrap_definition(definition, WrapOptions(), "m.json")
    assert str(error.value) == (f"m.json: state 'Work': {where}variable name "
                                f"'{next(iter((state.get('Assign') or state['Catch'][0]['Assign'])))}' uses the "
                                "prefix 'sfncache_', which sfn-cache reserves")


def test_the_reserved_prefix_is_refused_in_a_choice_rule_assign():
    definition = {"StartAt": "Pick", "States": {
        "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": True, "Assign": {"sfncache_a": 1},
                                                "Next": "Work"}], "Default": "Work"},
        "Work": {**TASK, "End": True}}}
    with pytest.raises(SfnCacheError, match=r"state 'Pick': Choices\[0\] variable name 'sfncache_a'"):
        wrap_definition(definition, WrapOptions(), "m.json")


def test_other_names_in_a_catcher_assign_are_fine_and_rewrapping_stays_a_no_op():
    definition = {"StartAt": "Work", "States": {
        "Work": {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"why.$": "$.Error"},
                                    "Next": "Done"}], "End": True},
        "Done": {"Type": "Succeed"}}}
    wrapped = wrap_definition(definition, WrapOptions()).definition
    assert wrap_definition(wrapped, WrapOptions()).definition == wrapped


@pytest.mark.parametrize("language,payload", [
    ("JSONata", "{% {'sfn_cache': 'pull', 'protocol': 3, 'state': $states.input.s} %}"),
    ("JSONata", "{% {'sfn_cache': 'push', 'protocol': 3, 'state': 'T'} %}"),
    ("JSONPath", {"sfn_cache": "pull", "protocol": 3, "state.$": "$.s"}),
])
def test_a_user_task_that_quotes_the_cache_protocol_is_still_the_users(language, payload):
    """Only what wrap writes is a cache state: a user's Task whose Arguments happen to hold the marker
    (without a literal state name, or not as wrap's push expression begins) is cached like any other."""
    field = "Arguments" if language == "JSONata" else "Parameters"
    definition = {"QueryLanguage": language, "StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", field: payload,
        "End": True}}}
    result = wrap_definition(definition, WrapOptions(lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:c"))
    assert "cache_pull_T" in result.definition["States"]
    assert [report.state for report in result.tasks if report.generated] == ["T"]
