"""Replay one task's cache calls, as a wrapped state machine makes them, against the caching Lambda's
handler in this process: no AWS account, no state machine, no hand-written Lambda events.

    python examples/replay_cache_calls.py cached.asl.json PrepareFeatures \
        --input '{"dataset": {"uri": "s3://data/day1", "snapshot": "d1"}}' --result '{"Id": "jr_1"}'

Reads the payloads that ``sfn-cache wrap`` wrote into ``cache_pull_STATE`` and ``cache_push_STATE``,
fills their ``.$`` fields (pull; a JSONPath task's push) and evaluates ``{% %}`` expressions (a JSONata push) the
way Step Functions would (the state input, the context object, the workflow variables), then calls
the handler: pull (a miss the first time), push of ``--result`` (the stand-in for the task's own
result), pull again (a hit). The cache is wherever the Lambda's
environment says (``SFN_CACHE_BUCKET``; ``AWS_ENDPOINT_URL`` for a local S3 such as moto.server).
JSONPath tasks only: a JSONata task's payload is an expression Step Functions evaluates.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jsonata
from jsonpath_ng import parse as jsonpath

from sfn_cache.rewrite.naming import FORCE_VARIABLE, PREFIXES
from sfn_cache.runtime.handler import lambda_handler

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:demo:replay-1"
STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:demo"


def states(scope: dict) -> dict:
    """Every state of every scope by name (names are unique machine-wide)."""
    found = dict(scope["States"])
    for state in scope["States"].values():
        for inner in state.get("Branches", []) + [state[k] for k in ("ItemProcessor", "Iterator") if k in state]:
            found.update(states(inner))
    return found


def resolve(template, data: dict, context: dict, variables: dict):
    """A Parameters template with its ``.$`` fields evaluated (paths, context object and variables)."""
    if isinstance(template, list):
        return [resolve(item, data, context, variables) for item in template]
    if not isinstance(template, dict):
        return template
    out = {}
    for key, value in template.items():
        if not key.endswith(".$"):
            out[key] = resolve(value, data, context, variables)
            continue
        if value.startswith("$$"):
            root, path = context, "$" + value[2:]
        elif value.startswith("$.") or value == "$":
            root, path = data, value
        else:  # $variable.rest
            name, _, rest = value[1:].partition(".")
            root, path = variables[name], "$." + rest if rest else "$"
        matches = [m.value for m in jsonpath(path).find(root)]
        if not matches:
            raise SystemExit(f"error: {value!r} is not in the input")
        out[key[:-2]] = matches[0]
    return out


def evaluate(template, bindings: dict):
    """An Arguments template with its ``{% %}`` expressions evaluated (variables and ``$states``)."""
    if isinstance(template, list):
        return [evaluate(item, bindings) for item in template]
    if isinstance(template, dict):
        return {key: evaluate(value, bindings) for key, value in template.items()}
    if isinstance(template, str) and template.startswith("{%") and template.endswith("%}"):
        return jsonata.Jsonata(template[2:-2]).evaluate(None, bindings)
    return template


def assigned(state: dict) -> list[str]:
    """The variables a generated state assigns its whole result to (``"name.$": "$"``)."""
    return [key[:-2] for key, value in (state.get("Assign") or {}).items() if value == "$"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("definition", type=Path)
    parser.add_argument("state")
    parser.add_argument("--input", default="{}", help="the state's input (JSON)")
    parser.add_argument("--result", default='{"ok": true}', help="the task's result on a miss (JSON)")
    args = parser.parse_args()
    found = states(json.loads(args.definition.read_text()))
    pull, push, task = (found.get(PREFIXES.pull + args.state), found.get(PREFIXES.push + args.state),
                        found.get(args.state))
    if not (pull and push and task):
        raise SystemExit(f"error: {args.definition}: state {args.state!r} is not wrapped (run sfn-cache wrap)")
    state_input = json.loads(args.input)
    data = resolve({"x.$": pull.get("InputPath", "$")}, state_input, {}, {})["x"]
    context = {"Execution": {"Id": EXECUTION, "Input": state_input}, "StateMachine": {"Id": STATE_MACHINE}}
    # what the machine's first state (cache_force_from_input) assigns: the input's sfn_cache.force
    request = state_input.get("sfn_cache") if isinstance(state_input, dict) else None
    variables: dict = {FORCE_VARIABLE: request.get("force") if isinstance(request, dict) else None}
    for attempt in ("first", "second"):
        answer = lambda_handler(resolve(pull["Parameters"], data, context, variables))
        if answer["hit"]:  # a hit carries the result only
            print(f"{attempt} pull: hit")
            print("cached result: " + json.dumps(answer["data"], sort_keys=True))
            return
        print(f"{attempt} pull: miss key={answer['key']}")
        variables.update(dict.fromkeys(assigned(pull), answer))
        variables.update(dict.fromkeys(assigned(task), json.loads(args.result)))
        states_variable = {"input": data, "context": context}
        if "Parameters" in push:  # a JSONPath task's push: JSONPath, its input T's output (the result here)
            stored = lambda_handler(resolve(push["Parameters"], json.loads(args.result), context, variables))
        else:
            stored = lambda_handler(evaluate(push["Arguments"], {**variables, "states": states_variable}))
        print(f"push: stored={stored['stored']} uuid={stored.get('uuid')}")
    raise SystemExit("error: the second pull missed")


if __name__ == "__main__":
    main()
