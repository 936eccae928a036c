"""The hit state's rewrite of $states.result, found by JSONata's own tokenizer (never a regex over text)."""

from __future__ import annotations

import pytest

from sfn_cache.asl.expressions import replace_states_result

CASES = [
    ("{% $states.result.a %}", "{% $V.data.a %}"),
    ("{% 'x $states.result' & $states.result %}", "{% 'x $states.result' & $V.data %}"),
    ('{% "$states.result" & $states.result %}', '{% "$states.result" & $V.data %}'),
    ("{% $states.results %}", "{% $states.results %}"),
    ("{% $states.input.result %}", "{% $states.input.result %}"),
    ("{%$states . result%}", "{%$V.data%}"),
    ("{% /* $states.result */ $states.result %}", "{% /* $states.result */ $V.data %}"),
    ('{% $replace($states.result, /$states.result/, "a") %}', '{% $replace($V.data, /$states.result/, "a") %}'),
    ("{% $states.result[0] / $states.result %}", "{% $V.data[0] / $V.data %}"),
    ("{% $states.`result` %}", "{% $V.data %}"),
    ("plain text $states.result", "plain text $states.result"),
]


@pytest.mark.parametrize("expression,expected", CASES)
def test_only_the_path_is_rewritten(expression, expected):
    assert replace_states_result(expression, "$V.data") == expected


def test_nested_values_are_rewritten_and_the_input_is_not_changed():
    value = {"a": ["{% $states.result %}", {"b": "'$states.result'"}], "n": 1}
    assert replace_states_result(value, "$V.data") == {"a": ["{% $V.data %}", {"b": "'$states.result'"}], "n": 1}
    assert value["a"][0] == "{% $states.result %}"
