"""The files a command's FILE arguments name: files, directories and globs, in a deterministic order.

A file named on the command line is always an input (a wrong one is an error naming it). In a
directory (walked in sorted order, skipping hidden folders and ``node_modules``) the inputs are the
``*.asl.json``/``*.asl.yaml``/``*.asl.yml`` files and the ``*.json``/``*.yaml``/``*.yml``/``*.template``
files that read as a state machine definition (a ``States`` table) or a CloudFormation/SAM template;
the other JSON/YAML files, and symbolic links (which in-place writes refuse), are skipped and counted
in the summary. A glob (quoted, so the shell leaves
it alone; ``**`` crosses folders) expands like the shell would, sorted; one that matches nothing is
an error.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from sfn_cache.errors import SfnCacheError

ASL_SUFFIXES = (".asl.json", ".asl.yaml", ".asl.yml")
CANDIDATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
SKIPPED_FOLDERS = ("node_modules", "__pycache__")
GLOB_CHARACTERS = set("*?[")


@dataclass
class Inputs:
    """The files to process, and the files of the directories given that were not inputs."""

    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # symbolic links of the directories given: not inputs
    many: bool = False  # several arguments, or a directory or a glob: the run takes many files


def expand(arguments: tuple[str, ...] | list[str]) -> Inputs:
    """Every input file of ``arguments`` (``-`` is stdin), each once, in the order given."""
    inputs = Inputs(many=len(arguments) > 1)
    for argument in arguments:
        path = Path(argument)
        if argument != "-" and path.is_dir():
            inputs.many = True
            _walk(path, inputs)
        elif argument != "-" and not path.exists() and GLOB_CHARACTERS & set(argument):
            inputs.many = True
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise SfnCacheError("the glob matches no file", file=argument)
            for match in matches:
                if Path(match).is_dir():
                    _walk(Path(match), inputs)
                else:
                    inputs.files.append(match)
        else:
            inputs.files.append(argument)
    inputs.files = list(dict.fromkeys(inputs.files))
    return inputs



def _walk(folder: Path, inputs: Inputs) -> None:
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name not in SKIPPED_FOLDERS)
        for name in sorted(names):
            path = os.path.normpath(os.path.join(root, name))  # "." walks to "template.yaml", not "./template.yaml"
            if name.endswith(CANDIDATE_SUFFIXES) and not name.startswith(".") and os.path.islink(path):
                inputs.links.append(path)  # written over, it would be refused: counted, named with -v
            elif name.endswith(ASL_SUFFIXES) or (name.endswith(CANDIDATE_SUFFIXES) and _is_machine_or_template(path)):
                inputs.files.append(path)
            elif name.endswith(CANDIDATE_SUFFIXES) and not name.startswith("."):
                inputs.skipped.append(path)  # JSON or YAML, but not ours: counted (other files are not)


def _is_machine_or_template(path: str) -> bool:
    """Whether a JSON/YAML file found in a directory is one wrap reads; unreadable ones are not."""
    from sfn_cache import pipeline

    try:
        loaded = pipeline.load(path)
    except SfnCacheError:
        return False
    document = loaded.document
    return loaded.is_template or (isinstance(document, dict) and isinstance(document.get("States"), dict))
