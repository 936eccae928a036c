"""The one place that loads a file (a definition or a template), wraps it and writes the result.

The commands (wrap, explain, graph, verify, run) keep only their click layer and call this module.
It imports the rewriter and the template package inside the functions that use them, so that a
command's ``--help`` costs little more than click, and a JSON definition never imports ruamel.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfn_cache.asl.loader import is_template, load_text, read_source
from sfn_cache.errors import SfnCacheError

if TYPE_CHECKING:
    from sfn_cache.rewrite.options import WrapOptions
    from sfn_cache.rewrite.wrap import WrapResult
    from sfn_cache.template.update import Rewriter, TemplateResult

STDIN = "<stdin>"

Machine = tuple[str | None, Any]  # (resource, or None for a definition file; its definition, or why not)


def source_name(path: str) -> str:
    """How errors name ``path``: ``-`` is standard input."""
    return STDIN if path == "-" else path


@dataclass(frozen=True)
class Input:
    """A loaded file: a state machine definition or a CloudFormation/SAM template."""

    source: str  # the name errors give it
    text: str
    document: Any

    @property
    def is_template(self) -> bool:
        return is_template(self.document)


def load(path: str, source: str | None = None) -> Input:
    """Read and parse ``path`` (``-``: stdin); errors name it ``source`` (default: source_name)."""
    name = source_name(path) if source is None else source
    text = read_source(path)
    return Input(name, text, load_text(text, name))


def machines(loaded: Input, resource: str | None) -> list[Machine]:
    """A template's state machines, each a definition or the error that keeps it from being read;
    a definition file is one machine (the document as loaded), and refuses ``resource``."""
    if loaded.is_template:
        from sfn_cache.template.machines import machine_definitions  # ruamel: only for templates

        return list(machine_definitions(loaded.text, loaded.source, resource))
    if resource:
        raise SfnCacheError("--resource is for templates; this is a state machine definition", file=loaded.source)
    return [(None, loaded.document)]


def express_machines(loaded: Input, resource: str | None) -> dict[str, str]:
    """A template's machines declared Express, each with how (``Type: EXPRESS``); none for a definition file."""
    if not loaded.is_template:
        return {}
    from sfn_cache.template.machines import express_machines as declared

    return declared(loaded.text, loaded.source, resource)


def rewriter(options: WrapOptions) -> Rewriter[WrapResult]:
    """The rewriter as a template sees it: wrap one definition with ``options``, write it as JSON."""
    from dataclasses import replace

    from sfn_cache.rewrite.forms.common import express_refusal
    from sfn_cache.rewrite.options import DEFAULT_LAMBDA_ARN
    from sfn_cache.rewrite.wrap import wrap_definition, wrapped_json
    from sfn_cache.template.update import Rewriter

    express = replace(options, express=True)  # a machine the template declares Express: as with --express
    refusal = express_refusal(express)
    return Rewriter(wrap=lambda definition, where, is_express: wrap_definition(
                        definition, express if is_express else options, where),
                    to_json=wrapped_json, write_file=render_over, placeholder=DEFAULT_LAMBDA_ARN,
                    invokes_placeholder=options.lambda_arn == DEFAULT_LAMBDA_ARN,
                    express_refusal=None if refusal is None else f"{refusal[0]}: {refusal[1]}",
                    is_wrapped=is_wrapped)


def is_wrapped(definition: dict[str, Any]) -> bool:
    """Whether ``definition`` holds states a previous wrap generated."""
    from sfn_cache.asl.model import parse
    from sfn_cache.rewrite.recognise import generated_states

    return bool(generated_states(parse(definition)))


def render(document: dict[str, Any], fmt: str, compact: bool = False, loaded: Input | None = None) -> str:
    """A wrapped definition's text: JSON as wrap writes it, or YAML. ``loaded``, the input, gives the
    layout to keep: a JSON input's text wherever unchanged, a YAML input's comments, anchors and style."""
    from sfn_cache.asl.emit import dump_yaml
    from sfn_cache.asl.loader import looks_like_json
    from sfn_cache.rewrite.wrap import wrapped_json

    from_json = loaded is not None and looks_like_json(loaded.text)
    if fmt == "json":
        from sfn_cache.asl.json_source import JsonSource

        return wrapped_json(document, compact, JsonSource(loaded.text, loaded.document) if loaded and from_json
                            else None)
    if loaded is not None and not from_json:
        from sfn_cache.asl.yaml_roundtrip import dump_yaml_like

        return dump_yaml_like(document, loaded.text, dump_yaml)
    return dump_yaml(document)


def render_over(document: dict[str, Any], text: str, original: dict[str, Any]) -> str:
    """``document`` written over a definition file's ``text`` (which loads as ``original``), in its format and
    layout: what a template's DefinitionUri file becomes, as wrapping that file alone writes it."""
    from sfn_cache.asl.loader import looks_like_json

    return render(document, "json" if looks_like_json(text) else "yaml", loaded=Input("", text, original))


@dataclass
class Output:
    """What wrapping a file produced: the texts to write (``None``: the output, stdout when no path)
    and the result behind them, for the caller to report."""

    writes: dict[Path | None, str]
    definition: WrapResult | None = None  # a definition file's wrap
    template: TemplateResult[WrapResult] | None = None  # a template's wraps
    size_warnings: list[str] = field(default_factory=list)  # the definitions near Step Functions' quota


def wrap(loaded: Input, options: WrapOptions, *, output: str | None, resource: str | None = None,
         definition_uri: str = "copy", fmt: str | None = None, compact: bool = False,
         add_function: dict[str, Any] | None = None) -> Output:
    """Wrap a loaded definition or template; nothing is written. ``add_function``: the caching
    function's resource, for a template that invokes one it does not define."""
    target = Path(output) if output else None
    if loaded.is_template:
        return _wrap_template(loaded, options, target, output, resource, definition_uri, add_function)
    from sfn_cache.asl.loader import looks_like_json
    from sfn_cache.rewrite.quotas import check_definition_size
    from sfn_cache.rewrite.wrap import wrap_definition, wrapped_json

    wrapped = wrap_definition(loaded.document, options, loaded.source)
    out_format = fmt or ("json" if looks_like_json(loaded.text) else "yaml")
    rendered = render(wrapped.definition, out_format, compact, loaded)
    size_warnings = check_definition_size(
        rendered if out_format == "json" else wrapped_json(wrapped.definition, compact), loaded.source,
        compact_hint=not compact) if wrapped.changed else []
    return Output({target: rendered}, definition=wrapped, size_warnings=size_warnings)


def _wrap_template(loaded: Input, options: WrapOptions, target: Path | None, output: str | None,
                   resource: str | None, definition_uri: str, add_function: dict[str, Any] | None) -> Output:
    from sfn_cache.rewrite.quotas import check_definition_size
    from sfn_cache.rewrite.wrap import wrapped_json
    from sfn_cache.template.update import wrap_template  # ruamel: only for templates

    result = wrap_template(loaded.text, loaded.source, rewriter(options), resource=resource,
                           definition_uri=definition_uri, output=output, add_function=add_function)
    writes: dict[Path | None, str] = {target: result.text}
    for path, text in result.definition_files.items():  # after the template: the order they are listed in
        writes[path] = text
    size_warnings = []
    for machine in result.machines:
        if machine.result is not None and machine.result.changed:
            size_warnings += check_definition_size(wrapped_json(machine.result.definition),
                                                   f"{loaded.source}: resource '{machine.resource}'",
                                                   compact_hint=False)
    return Output(writes, template=result, size_warnings=size_warnings)


def unwrap(loaded: Input, *, output: str | None, resource: str | None = None) -> Output:
    """Give back the definition(s) a previous wrap was given; nothing is written. A template's state
    machines are unwrapped in place (a DefinitionUri file too), everything else left as written."""
    from sfn_cache.rewrite.options import DEFAULT_LAMBDA_ARN
    from sfn_cache.rewrite.unwrap import unwrap_definition
    from sfn_cache.rewrite.wrap import WrapResult, wrapped_json

    def unwrapped(definition: dict[str, Any], where: str, express: bool = False) -> WrapResult:
        found = unwrap_definition(definition, where)
        return WrapResult(found.definition, unwrapped=found.tasks)

    target = Path(output) if output else None
    if loaded.is_template:
        from sfn_cache.template.update import Rewriter, wrap_template

        result = wrap_template(loaded.text, loaded.source,
                               Rewriter(wrap=unwrapped, to_json=wrapped_json, write_file=render_over,
                                        placeholder=DEFAULT_LAMBDA_ARN, invokes_placeholder=False, unwraps=True),
                               resource=resource, definition_uri="in-place", output=output)
        writes: dict[Path | None, str] = {target: result.text}
        for path, text in result.definition_files.items():
            writes[path] = text
        return Output(writes, template=result)
    if resource:
        raise SfnCacheError("--resource is for templates; this is a state machine definition", file=loaded.source)
    from sfn_cache.asl.loader import looks_like_json

    found = unwrapped(loaded.document, loaded.source)
    return Output({target: render(found.definition, "json" if looks_like_json(loaded.text) else "yaml")},
                  definition=found)


def check_targets(writes: dict[Path | None, str]) -> None:
    """Refuse any target before the first write, so a refusal leaves nothing half done."""
    from sfn_cache.asl.emit import check_output_path

    for path in writes:
        if path is not None:
            check_output_path(path)


def current_text(path: Path) -> str | None:
    """What is at ``path`` now; None when nothing is."""
    return path.read_text(encoding="utf-8") if path.exists() else None


def stale(writes: dict[Path | None, str]) -> list[Path]:
    """``--check``: the files to write that are missing or differ from what is there."""
    return [path for path, text in writes.items() if path is not None and current_text(path) != text]


def diffs(writes: dict[Path | None, str], input_path: Path | None) -> list[str]:
    """Unified diffs of each file to be written against what is there now; the output without a path
    (stdout) is compared with the input file."""
    found = []
    for path, text in sorted(writes.items(), key=lambda item: str(item[0])):
        compare_to = path if path is not None else input_path
        before = current_text(compare_to) if compare_to else None
        if before == text:
            continue
        name = str(compare_to) if compare_to else "<stdout>"
        found.append("".join(difflib.unified_diff((before or "").splitlines(keepends=True),
                                                  text.splitlines(keepends=True),
                                                  fromfile=name if before is not None else "/dev/null",
                                                  tofile=str(path) if path else name)))
    return found


def write(writes: dict[Path | None, str], output: str) -> None:
    """Write every file atomically, the output last: a wrapped DefinitionUri copy exists before the
    template that names it. With an output path, every entry has a path."""
    from sfn_cache.asl.emit import atomic_write

    files = [(path, text) for path, text in writes.items() if path is not None]
    for path, text in sorted(files, key=lambda item: str(item[0]) == output):
        atomic_write(path, text)
