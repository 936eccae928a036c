"""Issue 26 in executions: deployment-shaped definitions, wrapped by the console script, deployed (their
intrinsics and ``${...}`` resolved as CloudFormation, DefinitionSubstitutions and Terraform do), then run
in the local engine against moto's Lambda.

A redeployed function (new CodeSha256) is a miss however its ARN was written; a side-effect task (SQS
sendMessage, DynamoDB putItem, SNS publish) runs on every execution, hit or miss.
"""

from __future__ import annotations

import json

import pytest

from sfn_cache.asl.loader import load_text
from sfn_cache.local.engine import ACCOUNT, CACHE_ARN, REGION, function_arn
from sfn_cache.local.seams import install_service_seams
from sfn_cache.runtime import resolve
from tests.support.cli import wrap
from tests.support.deploy_shapes import CDK, HERE, SAM, TERRAFORM, substitute
from tests.support.deploy_shapes import resolve as cloudformation


@pytest.fixture(autouse=True)
def forget_resolutions(monkeypatch):
    monkeypatch.setattr(resolve, "_memo", {})


@pytest.fixture
def services(monkeypatch):
    """Every call of a service integration (sqs, sns, dynamodb), answered as a stub and counted."""
    calls: list[str] = []

    def answer(resource: str, parameters):
        calls.append(resource.rsplit(":::", 1)[-1])
        return {"MessageId": "m"}

    install_service_seams(monkeypatch, answer)
    return calls


def redeployed(engine, name: str) -> None:
    engine.redeploy(name, f"# {name}, new code")
    resolve._memo.clear()  # a new warm container, or SFN_CACHE_RESOLVE_TTL later


def test_terraform_templatefile(make_engine, services, tmp_path):
    result = wrap(TERRAFORM, "--no-config", "--lambda-arn", "${cache_fn_arn}")
    assert result.exit_code == 0, result.stderr
    deployed = json.loads(substitute(result.stdout, {  # terraform's templatefile(...)
        "score_fn_arn": function_arn("score"), "rank_fn_arn": function_arn("rank"), "queue_url": "q",
        "cache_fn_arn": CACHE_ARN}))
    engine = make_engine({"score": lambda event: {"score": event["x"] * 2}, "rank": lambda event: {"rank": 1}})
    for run in range(2):
        assert engine.run(deployed, {"x": 3}).status == "SUCCEEDED"
    assert (engine.calls["score"], engine.calls["rank"], services) == (1, 1, ["sqs:sendMessage"] * 2)
    redeployed(engine, "score")
    engine.run(deployed, {"x": 3})
    assert (engine.calls["score"], engine.calls["rank"]) == (2, 1), "new code behind ${score_fn_arn}: a miss"
    redeployed(engine, "rank")
    engine.run(deployed, {"x": 3})
    assert (engine.calls["score"], engine.calls["rank"]) == (2, 2), "new code behind Resource ${rank_fn_arn}"
    assert len(services) == 4, "the queue message is sent on every run"


def test_cdk_synth_output(make_engine, services, tmp_path):
    out = tmp_path / "cdk.out.json"
    # a cdk.out template defines no caching function: name the engine's (wrap refuses otherwise)
    assert wrap(CDK, "--no-config", "--lambda-arn", CACHE_ARN, "-o", out).exit_code == 0
    machine = json.loads(out.read_text())["Resources"]["Pipeline9C1E4B2A"]["Properties"]
    text = cloudformation(machine["DefinitionString"], {
        "AWS::Partition": "aws", "AlertsTopic4C2F1B9D": f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"},
        {"ScoreFn5E1A2B7C.Arn": function_arn("score")})
    assert "DefinitionSubstitutions" not in machine
    deployed = json.loads(text)
    engine = make_engine({"score": lambda event: {"score": event["x"] * 2}})
    for run in range(2):
        assert engine.run(deployed, {"x": 3}).status == "SUCCEEDED"
    assert engine.calls["score"] == 1 and services == ["sns:publish"] * 2
    redeployed(engine, "score")
    engine.run(deployed, {"x": 3})
    assert engine.calls["score"] == 2, "CDK's Fn::GetAtt function redeployed: a miss"


def test_sam_definition_substitutions(make_engine, services, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "statemachine").mkdir()
    for name in (SAM.name, "statemachine/pipeline.asl.json"):
        (project / name).write_text((HERE / name).read_text())
    assert wrap(project / SAM.name, "--no-config", "-o", project / SAM.name).exit_code == 0
    properties = load_text((project / SAM.name).read_text(), SAM.name)["Resources"]["Pipeline"]["Properties"]
    deployed = json.loads(substitute((project / properties["DefinitionUri"]).read_text(), {
        "ScoreFunctionArn": function_arn("score"), "DDBPutItem": "arn:aws:states:::dynamodb:putItem",
        "ResultsTableName": "results", "SfnCacheFunctionArn": CACHE_ARN}))
    engine = make_engine({"score": lambda event: {"score": event["x"] * 2}})
    for run in range(2):
        assert engine.run(deployed, {"id": "a", "x": 3}).status == "SUCCEEDED"
    assert engine.calls["score"] == 1 and services == ["dynamodb:putItem"] * 2
    redeployed(engine, "score")
    engine.run(deployed, {"id": "a", "x": 3})
    assert engine.calls["score"] == 2, "the function behind ${ScoreFunctionArn} redeployed: a miss"
