"""One named regression test per class of hostile input in issue 15 (the fuzz covers the variants).

Every refusal is checked for the whole contract: exit code 2, exactly one ``error:`` line naming the
file (and line or state), and nothing written.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sfn_cache.asl.limits import MAX_DEPTH, MAX_STATES
from sfn_cache.cli import cli
from sfn_cache.errors import SfnCacheError
from sfn_cache.rewrite.options import WrapOptions
from sfn_cache.rewrite.wrap import wrap_definition

ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
TASK_YAML = f"StartAt: Work\nStates:\n  Work:\n    Type: Task\n    Resource: {ARN}\n    End: true\n"


def definition(**parameters) -> dict:
    return {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ARN, "End": True,
                                                  **({"Parameters": parameters} if parameters else {})}}}


def run(*args) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def refused(tmp_path: Path, name: str, content: bytes | str, *extra) -> str:
    """Wrap ``content`` saved as ``name``; assert the one-line refusal and that nothing was written."""
    source = tmp_path / name
    source.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    out = tmp_path / "out" / "wrapped.json"
    code, stdout, stderr = run("wrap", source, "--no-config", "-o", out, *extra)
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {source}"), stderr
    assert not out.exists() and not (tmp_path / "out").exists()
    return stderr


# --- types JSON does not have ---------------------------------------------------------------------

def test_unhashable_yaml_key_is_refused_with_its_line(tmp_path):
    stderr = refused(tmp_path, "sm.yaml", TASK_YAML + "    Parameters:\n      ? [a, b]\n      : x\n")
    assert "sm.yaml:8: invalid YAML: key is a sequence; JSON keys are strings" in stderr


@pytest.mark.parametrize("key,reads", [("1", "an integer"), ("null", "null"), ("yes", "a boolean"),
                                       ("1.5", "a number")])
def test_integer_null_and_boolean_state_names_are_refused(tmp_path, key, reads):
    stderr = refused(tmp_path, "sm.yaml", f"StartAt: Work\nStates:\n  {key}:\n    Type: Pass\n    End: true\n")
    assert f"sm.yaml:3: invalid YAML: key '{key}' reads as {reads}; JSON keys are strings: quote it" in stderr


def test_dates_stay_the_text_written_and_binary_is_refused(tmp_path):
    source = tmp_path / "sm.yaml"
    source.write_text(TASK_YAML + "    Parameters:\n      day: 2020-01-02\n      at: 2001-12-14t21:59:43.10-05:00\n")
    code, stdout, stderr = run("wrap", source, "--no-config", "--format", "json")
    assert code == 0, stderr
    assert json.loads(stdout)["States"]["Work"]["Parameters"] == {"day": "2020-01-02",
                                                                   "at": "2001-12-14t21:59:43.10-05:00"}
    stderr = refused(tmp_path, "bin.yaml", TASK_YAML + "    Parameters:\n      b: !!binary aGVsbG8=\n")
    assert "bin.yaml:8: invalid YAML: a YAML !!binary value has no JSON form" in stderr


def test_choices_given_as_an_object_is_refused_naming_the_state(tmp_path):
    document = definition()
    document["States"]["Work"]["Next"] = "Pick"
    del document["States"]["Work"]["End"]
    document["States"]["Pick"] = {"Type": "Choice", "Choices": {"Next": "Work"}, "Default": "Work"}
    stderr = refused(tmp_path, "sm.json", json.dumps(document))
    assert "state 'Pick': Choices must be an array of objects, got an object" in stderr


@pytest.mark.parametrize("properties", ["    Properties: [a]\n", "    Properties: text\n", "    Properties: 5\n"])
def test_template_properties_that_are_not_an_object(tmp_path, properties):
    template = ("Resources:\n  Machine:\n    Type: AWS::Serverless::StateMachine\n" + properties)
    stderr = refused(tmp_path, "template.yaml", template)
    assert "resource 'Machine': has no Properties" in stderr


def test_function_properties_that_are_a_list_do_not_crash(tmp_path):
    template = ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: [a]\n"
                "  Machine:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Definition:\n"
                + "".join("        " + line + "\n" for line in TASK_YAML.splitlines()))
    source = tmp_path / "template.yaml"
    source.write_text(template)
    code, stdout, stderr = run("wrap", source, "--no-config", "--lambda-arn", ARN)
    assert code == 0, stderr
    assert "cache_pull_Work" in stdout and "Properties: [a]" in stdout


@pytest.mark.parametrize("sub", ["!Sub []", "!Sub ['{}']", "!Sub {a: b}", "!Sub ['{}', [x]]"])
def test_sub_shapes_are_refused(tmp_path, sub):
    template = f"Resources:\n  Machine:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n" \
               f"      DefinitionString: {sub}\n"
    stderr = refused(tmp_path, "template.yaml", template)
    assert "Fn::Sub takes a string or a list of a string and a variables object" in stderr


@pytest.mark.parametrize("encoding,message", [("utf-16", "UTF-16 text: save it as UTF-8"),
                                              ("utf-32", "UTF-32 text: save it as UTF-8"),
                                              ("utf-16-le", "not a text file (NUL byte at offset 1)")])
def test_utf16_and_utf32_files_are_named(tmp_path, encoding, message):
    stderr = refused(tmp_path, "sm.json", json.dumps(definition()).encode(encoding))
    assert stderr == f"error: {tmp_path / 'sm.json'}: {message}\n"


def test_lone_surrogate_in_a_state_name_is_refused(tmp_path):
    text = json.dumps(definition()).replace('"Work"', '"W\\ud800rk"')
    stderr = refused(tmp_path, "sm.json", text)
    assert "key 'W\\ud800rk' holds a lone surrogate \\ud800 at 1: not valid Unicode" in stderr


def test_integer_of_5000_digits_is_refused_and_of_1000_kept(tmp_path):
    stderr = refused(tmp_path, "sm.json", json.dumps(definition(n=1)).replace('"n": 1', '"n": ' + "9" * 5000))
    assert "an integer of more than 1000 digits (the limit)" in stderr
    stderr = refused(tmp_path, "sm.yaml", TASK_YAML + "    Parameters:\n      n: " + "9" * 5000 + "\n")
    assert "sm.yaml:8: invalid YAML: an integer of more than 1000 digits" in stderr
    source = tmp_path / "ok.json"
    source.write_text(json.dumps(definition(n=1)).replace('"n": 1', '"n": ' + "9" * 1000))
    code, stdout, _ = run("wrap", source, "--no-config")
    assert code == 0 and json.loads(stdout)["States"]["Work"]["Parameters"]["n"] == int("9" * 1000)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 10, 5000, 50000])
def test_nesting_deeper_than_the_limit_is_refused(tmp_path, depth):
    nested = "[" * depth + "]" * depth
    assert "nested deeper than 200 levels (the limit)" in refused(
        tmp_path, "sm.json", json.dumps(definition(n=1)).replace('"n": 1', '"n": ' + nested))
    assert "nested deeper than 200 levels (the limit)" in refused(
        tmp_path, "sm.yaml", TASK_YAML + "Comment: " + nested + "\n")


def test_nesting_within_the_limit_wraps(tmp_path):
    source = tmp_path / "sm.json"
    nested = "[" * (MAX_DEPTH - 10) + "]" * (MAX_DEPTH - 10)
    source.write_text(json.dumps(definition(n=1)).replace('"n": 1', '"n": ' + nested))
    code, stdout, stderr = run("wrap", source, "--no-config")
    assert code == 0, stderr


def test_api_callers_get_the_same_checks():
    with pytest.raises(SfnCacheError, match="state 'Work': Parameters.rate: NaN is not a JSON number"):
        wrap_definition(definition(rate=float("nan")), WrapOptions())
    with pytest.raises(SfnCacheError, match="key 1 is not a string \\(int\\); JSON keys are strings"):
        wrap_definition({"StartAt": "Work", "States": {1: {"Type": "Pass", "End": True}}}, WrapOptions())


# --- hangs: alias bombs and large inputs ----------------------------------------------------------

def billion_laughs(indent: str = "") -> str:
    lines = [f'{indent}a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, prev = chr(97 + level), chr(96 + level)
        lines.append(f"{indent}{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_in_a_definition_is_refused(tmp_path):
    stderr = refused(tmp_path, "sm.yaml", TASK_YAML + "Comment:\n" + billion_laughs("  "))
    assert "expands to more than 1,000,000 values through aliases (the limit; a YAML alias bomb?)" in stderr


def test_alias_bomb_in_a_template_is_refused(tmp_path):
    template = ("Resources:\n  Machine:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
                "      Definition:\n" + "".join("        " + line + "\n" for line in TASK_YAML.splitlines())
                + "Metadata:\n" + billion_laughs("  "))
    assert "a YAML alias bomb?" in refused(tmp_path, "template.yaml", template)


def test_quadratic_aliases_and_recursive_aliases_are_refused(tmp_path):
    quadratic = "  a: &a [" + ",".join(["x"] * 2000) + "]\n  b: [" + ",".join(["*a"] * 2000) + "]\n"
    assert "a YAML alias bomb?" in refused(tmp_path, "q.yaml", TASK_YAML + "Comment:\n" + quadratic)
    assert "an alias refers to a node that contains it" in refused(tmp_path, "r.yaml", TASK_YAML + "Comment: &r [*r]\n")


def test_small_aliases_still_load(tmp_path):
    source = tmp_path / "sm.yaml"
    source.write_text(TASK_YAML + "    Parameters:\n      a: &shared {x: 1}\n      b: *shared\n")
    code, stdout, stderr = run("wrap", source, "--no-config", "--format", "json")
    assert code == 0 and json.loads(stdout)["States"]["Work"]["Parameters"]["b"] == {"x": 1}


def test_more_states_than_the_limit_are_refused(tmp_path):
    states = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(MAX_STATES)}
    states[f"P{MAX_STATES}"] = {"Type": "Task", "Resource": ARN, "End": True}
    stderr = refused(tmp_path, "sm.json", json.dumps({"StartAt": "P0", "States": states}))
    assert f"{MAX_STATES + 1:,} states: more than {MAX_STATES:,} (the limit" in stderr


def test_a_choice_with_3000_branches_wraps(tmp_path):
    states = {"Work": {"Type": "Task", "Resource": ARN, "Next": "Pick"},
              "Pick": {"Type": "Choice", "Default": "P0",
                       "Choices": [{"Variable": "$.n", "NumericEquals": i, "Next": f"P{i}"} for i in range(3000)]},
              **{f"P{i}": {"Type": "Pass", "End": True} for i in range(3000)}}
    source = tmp_path / "sm.json"
    source.write_text(json.dumps({"StartAt": "Work", "States": states}))
    code, stdout, stderr = run("wrap", source, "--no-config")
    assert code == 0, stderr
    assert json.loads(stdout)["States"]["Pick"]["Choices"][2999]["Next"] == "P2999"


# --- silently wrong output: NaN and Infinity ------------------------------------------------------

@pytest.mark.parametrize("literal,shown", [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "Infinity"),
                                           ("1e999", "Infinity")])
def test_nan_and_infinity_in_json_are_refused_naming_the_state(tmp_path, literal, shown):
    stderr = refused(tmp_path, "sm.json", json.dumps(definition(rate=1)).replace('"rate": 1', f'"rate": {literal}'))
    assert f"state 'Work': Parameters.rate: {shown} is not a JSON number" in stderr


@pytest.mark.parametrize("literal", [".nan", ".inf", "-.inf", "1.0e+999"])
def test_nan_and_infinity_in_yaml_are_refused_naming_the_state(tmp_path, literal):
    stderr = refused(tmp_path, "sm.yaml", TASK_YAML + f"    Parameters:\n      rate: {literal}\n")
    assert "state 'Work': Parameters.rate:" in stderr and "is not a JSON number" in stderr


def test_nan_inside_a_definition_string_is_refused(tmp_path):
    body = json.dumps(definition(rate=1)).replace('"rate": 1', '"rate": NaN')
    template = ("Resources:\n  Machine:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
                f"      DefinitionString: '{body}'\n")
    stderr = refused(tmp_path, "template.yaml", template)
    assert "resource 'Machine' DefinitionString: state 'Work': Parameters.rate: NaN is not a JSON number" in stderr


# --- writes where they must not go ----------------------------------------------------------------

def uri_template(tmp_path: Path, uri: str) -> Path:
    (tmp_path / "project").mkdir(exist_ok=True)
    template = tmp_path / "project" / "template.yaml"
    template.write_text("Resources:\n  Machine:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
                        f"      DefinitionUri: {uri}\n")
    return template


@pytest.mark.parametrize("uri", ["../outside.asl.json", "{absolute}", "sub/../../outside.asl.json"])
def test_definition_uri_outside_the_template_tree_is_refused(tmp_path, uri):
    outside = tmp_path / "outside.asl.json"
    outside.write_text(json.dumps(definition()))
    template = uri_template(tmp_path, uri.replace("{absolute}", str(outside)))
    build = tmp_path / "project" / "build"
    code, _, stderr = run("wrap", template, "--no-config", "-o", build / "template.yaml")
    assert code == 2 and stderr.count("\n") == 1
    assert "points outside the template's directory" in stderr
    assert outside.read_text() == json.dumps(definition()) and not build.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["outside.asl.json", "project", "template.yaml"]


def test_definition_uri_copy_lands_inside_the_output_directory(tmp_path):
    template = uri_template(tmp_path, "{absolute}")
    inside = tmp_path / "project" / "machines" / "sm.asl.json"
    inside.parent.mkdir()
    inside.write_text(json.dumps(definition()))
    template.write_text(template.read_text().replace("{absolute}", str(inside)))
    build = tmp_path / "build"
    code, _, stderr = run("wrap", template, "--no-config", "--lambda-arn", ARN, "-o", build / "template.yaml")
    assert code == 0, stderr
    copy = build / "machines" / "sm.asl.json"
    assert "cache_pull_Work" in copy.read_text() and json.loads(inside.read_text()) == definition()
    assert yaml.safe_load((build / "template.yaml").read_text())["Resources"]["Machine"]["Properties"][
        "DefinitionUri"] == "machines/sm.asl.json"


def write_example(tmp_path: Path) -> Path:
    source = tmp_path / "sm.json"
    source.write_text(json.dumps(definition()))
    return source


def test_output_through_a_symlink_is_refused_and_its_target_kept(tmp_path):
    source = write_example(tmp_path)
    real = tmp_path / "real.json"
    real.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    code, _, stderr = run("wrap", source, "--no-config", "-o", link)
    assert code == 2 and stderr == f"error: {link}: is a symbolic link: sfn-cache replaces the file it writes, " \
                                   f"so give the path the link points to\n"
    assert link.is_symlink() and real.read_text() == "keep"


def test_output_onto_a_fifo_is_refused(tmp_path):
    source = write_example(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, stderr = run("wrap", source, "--no-config", "-o", fifo)
    assert code == 2 and stderr == (
        f"error: {fifo}: is a FIFO, not a regular file: sfn-cache writes only regular files\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    link = tmp_path / "to-fifo"
    link.symlink_to(fifo)
    code, _, stderr = run("graph", source, "--no-config", "-o", link)
    assert code == 2 and "is a symbolic link" in stderr and link.is_symlink()


def test_output_onto_a_character_device_is_refused(tmp_path):
    """A private device node in the temp dir (never the system's /dev/null); needs CAP_MKNOD."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        pytest.skip("cannot create a device node here (not root)")
    code, _, stderr = run("wrap", write_example(tmp_path), "--no-config", "-o", device)
    assert code == 2 and "is a character device, not a regular file" in stderr
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_output_onto_a_directory_or_under_a_file_is_one_line(tmp_path):
    source = write_example(tmp_path)
    code, _, stderr = run("wrap", source, "--no-config", "-o", tmp_path)
    assert code == 2 and stderr == f"error: {tmp_path}: is a directory, not a regular file: sfn-cache writes only " \
                                   f"regular files\n"
    code, _, stderr = run("wrap", source, "--no-config", "-o", source / "x.json")
    assert code == 2 and stderr.count("\n") == 1 and "cannot write here" in stderr


def test_a_template_whose_copy_cannot_be_written_writes_nothing(tmp_path):
    template = uri_template(tmp_path, "sm.asl.json")
    (tmp_path / "project" / "sm.asl.json").write_text(json.dumps(definition()))
    build = tmp_path / "build"
    build.mkdir()
    os.mkfifo(build / "sm.asl.json")
    code, _, stderr = run("wrap", template, "--no-config", "--lambda-arn", ARN, "-o", build / "template.yaml")
    assert code == 2 and stderr == f"error: {build / 'sm.asl.json'}: is a FIFO, not a regular file: sfn-cache " \
                                   f"writes only regular files\n"
    assert sorted(p.name for p in build.iterdir()) == ["sm.asl.json"], "the template was not written either"


# --- unclear messages -----------------------------------------------------------------------------

def test_binary_json_file_says_not_a_text_file(tmp_path):
    stderr = refused(tmp_path, "sm.json", b"\x00" + json.dumps(definition()).encode())
    assert stderr == f"error: {tmp_path / 'sm.json'}: not a text file (NUL byte at offset 0)\n"


def test_json_file_that_is_not_json_says_so(tmp_path):
    stderr = refused(tmp_path, "sm.json", "StartAt: [unclosed\n")
    assert "not JSON (no { or [ at the start) and invalid YAML" in stderr


def test_state_name_with_a_newline_keeps_the_error_on_one_line(tmp_path):
    document = definition()
    document["States"]["bad\nname"] = {"Type": "Pass", "Next": "Nowhere"}
    stderr = refused(tmp_path, "sm.json", json.dumps(document))
    assert "state 'bad\\nname': Next names a state that does not exist here: 'Nowhere'" in stderr
