"""``wrap`` and ``explain`` over many files, directories and globs, through the console script: one
summary line, one exit code, per-file configuration, and --check/--diff findings as text, JSON,
GitHub annotations or SARIF (issue 28)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.cli import SAM_TEMPLATE, one_line_refusal, sfn_cache
from tests.support.paths import EXAMPLE

# a machine without the example's NotifyFailure state
SMALL = {"StartAt": "Load", "States": {
    "Load": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
             "Parameters": {"JobName": "load", "Arguments": {"--day.$": "$.day"}}, "Next": "Store"},
    "Store": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:store", "End": True}}}
SKIPPED = "1 skipped (neither a state machine definition nor a template)"


@pytest.fixture
def project(tmp_path):
    """machines/etl.asl.json (the example), machines/sub/small.json (SMALL), and files that are not ours."""
    machines = tmp_path / "machines"
    (machines / "sub").mkdir(parents=True)
    shutil.copy(EXAMPLE, machines / "etl.asl.json")
    (machines / "sub" / "small.json").write_text(json.dumps(SMALL, indent=2) + "\n")
    (machines / "package.json").write_text('{"name": "not-a-machine"}\n')  # JSON, not ours: skipped
    (machines / "README.md").write_text("# machines\n")  # not JSON/YAML: not even counted
    (machines / ".hidden").mkdir()
    (machines / ".hidden" / "x.asl.json").write_text("{broken")  # hidden folders are not walked
    return tmp_path


def wrapped_alone(project, name: str, *options: str) -> str:
    """What ``wrap FILE -o OUT`` (the single-file form, unchanged) writes for one file."""
    out = project / "alone.out"
    result = sfn_cache("wrap", name, "-o", out, "--no-config", *options, cwd=project)
    assert result.returncode == 0, result.stderr
    return out.read_text()


def test_a_directory_is_checked_diffed_and_wrapped_in_place_with_one_summary_line(project):
    etl, small = "machines/etl.asl.json", "machines/sub/small.json"
    expected = {etl: wrapped_alone(project, etl), small: wrapped_alone(project, small)}
    before = {name: (project / name).read_text() for name in expected}

    check = sfn_cache("wrap", "machines", "--check", "--no-config", cwd=project)
    assert check.returncode == 1, check.stderr
    assert check.stderr.splitlines() == [
        f"{etl}: out of date; run: sfn-cache wrap {etl} --in-place --no-config",
        f"{small}: out of date; run: sfn-cache wrap {small} --in-place --no-config",
        f"2 files checked: 2 out of date, 0 up to date; {SKIPPED}"]
    diff = sfn_cache("wrap", "machines", "--diff", "--no-config", cwd=project)
    assert diff.returncode == 1 and diff.stderr.splitlines() == [f"2 files: 2 would change, 0 unchanged; {SKIPPED}"]
    assert diff.stdout.startswith(f"--- {etl}\n+++ {etl}\n") and f"--- {small}\n+++ {small}\n" in diff.stdout
    assert {name: (project / name).read_text() for name in expected} == before, "--check/--diff write nothing"

    written = sfn_cache("wrap", "machines", "--in-place", "--no-config", cwd=project)
    assert written.returncode == 0, written.stderr
    assert written.stderr.splitlines() == [f"2 files: 2 wrapped, 0 unchanged; {SKIPPED}"]
    assert {name: (project / name).read_text() for name in expected} == expected, "as one file at a time"
    again = sfn_cache("wrap", "machines", "--check", "--no-config", cwd=project)
    assert again.returncode == 0 and again.stderr.splitlines() == [
        f"2 files checked: 0 out of date, 2 up to date; {SKIPPED}"]
    assert (project / "machines" / ".hidden" / "x.asl.json").read_text() == "{broken"


def test_files_and_quoted_globs_and_what_many_inputs_refuse(project):
    etl, small = "machines/etl.asl.json", "machines/sub/small.json"
    listed = sfn_cache("wrap", etl, small, "--check", "--no-config", cwd=project)
    assert listed.returncode == 1 and listed.stderr.splitlines()[-1] == "2 files checked: 2 out of date, 0 up to date"
    globbed = sfn_cache("wrap", "machines/**/*.asl.json", "--check", "--no-config", cwd=project)
    assert globbed.returncode == 1 and globbed.stderr.splitlines() == [
        f"{etl}: out of date; run: sfn-cache wrap {etl} --in-place --no-config",
        "1 file checked: 1 out of date, 0 up to date"]

    assert "-o takes one FILE" in one_line_refusal(sfn_cache("wrap", etl, small, "-o", "x.json", cwd=project))
    assert "add --in-place" in one_line_refusal(sfn_cache("wrap", "machines", cwd=project))
    assert one_line_refusal(sfn_cache("wrap", "nothing/*.json", "--check", cwd=project)) == \
        "error: nothing/*.json: the glob matches no file"


def test_one_bad_file_refuses_the_run_and_writes_nothing(project):
    (project / "machines" / "broken.asl.json").write_text('{"StartAt": "A"}\n')
    before = (project / "machines" / "etl.asl.json").read_text()
    result = sfn_cache("wrap", "machines", "--in-place", "--no-config", cwd=project)
    assert one_line_refusal(result) == "error: machines/broken.asl.json: the definition has no States object"
    assert (project / "machines" / "etl.asl.json").read_text() == before
    (project / "machines" / "sub" / "worse.json").write_text('{"StartAt": "A", "States": {}}\n')
    two = sfn_cache("wrap", "machines", "--in-place", "--no-config", cwd=project)
    assert two.returncode == 2 and two.stdout == ""
    lines = two.stderr.splitlines()
    assert [line.split(":")[1] for line in lines[:2]] == [" machines/broken.asl.json", " machines/sub/worse.json"]
    assert lines[2:] == ["2 errors, nothing written"]
    assert (project / "machines" / "etl.asl.json").read_text() == before


def test_a_shared_selector_need_not_match_in_every_file_only_in_some(project):
    """Issue 28: a shared pyproject with exclude = ["Notify*"] failed every file without such a state,
    and still failed a run of one such file: the top level's selectors are never an error."""
    (project / "pyproject.toml").write_text('[tool.sfn-cache]\nexclude = ["Notify*"]\n')
    run = sfn_cache("wrap", "machines", "--check", cwd=project)
    assert run.returncode == 1 and run.stderr.splitlines()[-1].startswith("2 files checked: 2 out of date")
    assert "warning" not in run.stderr, "the example has NotifyFailure: the shared exclude matched in the run"
    alone = sfn_cache("wrap", "machines/sub/small.json", "--check", cwd=project)
    assert alone.returncode == 1 and "out of date" in alone.stderr and "error" not in alone.stderr
    # not an error, but a run where no file has such a state says so once (a typo shows)
    assert [line for line in alone.stderr.splitlines() if line.startswith("warning:")] == [
        "warning: pyproject.toml: exclude Notify*: matches no state in the files of this run (the configuration's "
        "top level is shared by every file; a typo?)"]
    explained = sfn_cache("explain", "machines/sub/small.json", "--output-format", "json", cwd=project)
    assert explained.returncode == 0 and {row["state"] for row in json.loads(explained.stdout)} == {"Load", "Store"}
    flag = one_line_refusal(sfn_cache("wrap", "machines/sub/small.json", "machines/sub/small.json", "--check",
                                      "--no-config", "--exclude", "Nope*", cwd=project))
    assert flag.startswith("error: --exclude Nope*: matches no state in machines/sub/small.json")


def test_a_symbolic_link_in_a_directory_is_skipped_not_refused(project):
    """An in-place run refuses to write over a symbolic link: the walk skips it, counts it, names it with -v."""
    (project / "machines" / "link.asl.json").symlink_to("etl.asl.json")
    checked = sfn_cache("wrap", "machines", "--check", "--no-config", cwd=project)
    assert checked.returncode == 1 and "error" not in checked.stderr, checked.stderr
    assert checked.stderr.splitlines()[-1] == (f"2 files checked: 2 out of date, 0 up to date; {SKIPPED}; "
                                               "1 skipped (symbolic link)")
    written = sfn_cache("wrap", "machines", "--in-place", "-v", "--no-config", cwd=project)
    assert written.returncode == 0, written.stderr
    assert "note: skipped machines/link.asl.json (a symbolic link)" in written.stderr.splitlines()
    assert (project / "machines" / "link.asl.json").is_symlink()
    assert "cache_pull_TrainModel" in (project / "machines" / "etl.asl.json").read_text()


def test_files_sections_apply_to_the_files_their_glob_matches(project):
    (project / "sfn-cache.yaml").write_text(
        "ttl: 2h\n"
        "files:\n"
        "  machines/sub/*:\n"          # a path glob, from the configuration's folder
        "    ttl: 1d\n"
        "    states:\n"
        "      Store: {exclude: true}\n"
        "  etl.asl.json:\n"            # no /: the file's name
        "    exclude: [Notify*]\n")
    result = sfn_cache("wrap", "machines", "--in-place", cwd=project)
    assert result.returncode == 0, result.stderr
    small = json.loads((project / "machines" / "sub" / "small.json").read_text())["States"]
    etl = json.dumps(json.loads((project / "machines" / "etl.asl.json").read_text()))
    assert small["cache_pull_Load"]["Parameters"]["ttl"] == 86400 and "cache_pull_Store" not in small
    assert '"ttl": 7200' in etl and "cache_pull_NotifyFailure" not in etl and "cache_pull_TrainModel" in etl

    explained = sfn_cache("explain", "machines", "--output-format", "json", cwd=project)
    rows = {(row["file"], row["state"]): row for row in json.loads(explained.stdout)}
    assert rows[("machines/sub/small.json", "Store")]["reason"] == \
        "excluded by files.machines/sub/*.states.Store in sfn-cache.yaml"
    assert rows[("machines/etl.asl.json", "NotifyFailure")]["reason"] == \
        "excluded by files.etl.asl.json.exclude Notify* in sfn-cache.yaml"

    (project / "sfn-cache.yaml").write_text("files:\n  machines/sub/*:\n    states:\n      Nope: {ttl: 1h}\n")
    refused = one_line_refusal(sfn_cache("wrap", "machines", "--check", cwd=project))
    assert refused.startswith("error: sfn-cache.yaml: files.machines/sub/*.states.Nope: matches no state in "
                              "machines/sub/small.json (closest state name: ")


def test_check_findings_as_json_github_and_sarif(project):
    etl = "machines/etl.asl.json"
    source, wrapped = (project / etl).read_text().splitlines(), wrapped_alone(project, etl).splitlines()
    line = next(n for n, (a, b) in enumerate(zip(source, wrapped), start=1) if a != b)
    command = f"sfn-cache wrap {etl} --in-place --no-config"

    github = sfn_cache("wrap", etl, "--check", "--no-config", "--output-format", "github", cwd=project)
    assert github.returncode == 1
    assert github.stdout == (f"::error file={etl},line={line},title=sfn-cache out-of-date::"
                             f"out of date; run: {command}\n")
    as_json = sfn_cache("wrap", "machines", "--diff", "--no-config", "--output-format", "json", cwd=project)
    assert as_json.returncode == 1
    found = json.loads(as_json.stdout)
    assert [(f["file"], f["level"], f["rule"]) for f in found] == [
        (etl, "error", "out-of-date"), ("machines/sub/small.json", "error", "out-of-date")]
    assert found[0]["line"] == line and found[0]["message"] == f"out of date; run: {command}"

    sarif = json.loads(sfn_cache("wrap", "machines", "--check", "--no-config", "--output-format", "sarif",
                                 cwd=project).stdout)
    # SARIF 2.1.0 (OASIS): sarifLog requires version and runs (3.13), a run its tool (3.14), the tool's
    # driver a name (3.19), a result its message with text (3.27, 3.11), a region's startLine >= 1 (3.30)
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["name"] == "sfn-cache"
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["out-of-date"]
    result = run["results"][0]
    assert result["ruleId"] == "out-of-date" and result["level"] == "error"
    assert result["message"]["text"] == f"out of date; run: {command}"
    location = result["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": etl}, "region": {"startLine": line}}
    up_to_date = sfn_cache("wrap", "machines", "--check", "--no-config", "--output-format", "github", "--ttl", "1h",
                           "--in-place", cwd=project)
    assert up_to_date.returncode == 1 and "--ttl 1h" in up_to_date.stdout, "the fix command has the options"


def test_explain_many_files_and_its_findings(project):
    (project / "machines" / "sub" / "cb.json").write_text(json.dumps({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"t.$": "$$.Task.Token"}}, "End": True}}}, indent=2))
    table = sfn_cache("explain", "machines", "--no-config", cwd=project)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["FILE", "STATE", "SCOPE"]
    github = sfn_cache("explain", "machines", "--no-config", "--output-format", "github", cwd=project)
    annotations = [line for line in github.stdout.splitlines() if "not-cached" in line]
    assert annotations == ["::warning file=machines/sub/cb.json,line=4,title=sfn-cache not-cached::state 'Ask': "
                           "not cached: callback task (.waitForTaskToken): its result comes from outside the task"]


def test_a_sam_project_folder_leaves_the_definition_uri_files_to_the_template(tmp_path):
    """The template wraps statemachine/pipeline.asl.json into pipeline.cached.asl.json: wrapped on their
    own as well, the source would be rewritten and the old copy written over the template's new one."""
    (tmp_path / "statemachine").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "statemachine" / "pipeline.asl.json")
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)
    check = sfn_cache("wrap", ".", "--check", "--no-config", cwd=tmp_path)
    assert check.returncode == 1
    assert check.stderr.splitlines()[-3:] == [
        "template.yaml: out of date; run: sfn-cache wrap template.yaml --in-place --no-config",
        "statemachine/pipeline.cached.asl.json: missing; run: sfn-cache wrap template.yaml --in-place --no-config",
        "1 file checked: 1 out of date, 0 up to date; 1 DefinitionUri file left to a template"]
    assert sfn_cache("wrap", ".", "--in-place", "--no-config", cwd=tmp_path).returncode == 0
    assert (tmp_path / "statemachine" / "pipeline.asl.json").read_bytes() == EXAMPLE.read_bytes()
    alone = sfn_cache("wrap", "statemachine/pipeline.asl.json", "-o", "alone.json", "--no-config", cwd=tmp_path)
    assert alone.returncode == 0
    assert (tmp_path / "statemachine" / "pipeline.cached.asl.json").read_text() == (tmp_path / "alone.json").read_text()
    (tmp_path / "alone.json").unlink()
    again = sfn_cache("wrap", ".", "--check", "--no-config", cwd=tmp_path)
    assert again.returncode == 0 and again.stderr.splitlines()[-1] == \
        "1 file checked: 0 out of date, 1 up to date; 2 DefinitionUri files left to a template"
