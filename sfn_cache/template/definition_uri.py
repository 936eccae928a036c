"""A ``DefinitionUri`` that names a local file: where it is, and where its wrapped copy goes.

A template must not make sfn-cache read, or write a copy next to, files outside its directory tree.
A wrapped ``.cached.`` copy is tied to its source by the resource's ``Metadata`` (CloudFormation
ignores it), so the next wrap reads the source, not the copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap

from sfn_cache.errors import SfnCacheError
from sfn_cache.template.document import Template

SOURCE_MARKER = ("SfnCache", "DefinitionSource")  # Metadata.SfnCache.DefinitionSource: the unwrapped file


def is_local_uri(uri: Any) -> bool:
    """A DefinitionUri naming a file beside the template (SAM's ``s3://`` URIs and ``{Bucket, Key}``
    objects are already uploaded): the one rule both reading and wrapping a template apply."""
    return isinstance(uri, str) and not uri.startswith("s3://")


def cached_file_name(path: Path) -> Path:
    """``sm.asl.json`` -> ``sm.cached.asl.json``; a ``.cached.`` file is its own cached copy."""
    if ".cached." in path.name:
        return path
    stem, dot, rest = path.name.partition(".")
    return path.with_name(f"{stem}.cached{dot}{rest}" if dot else f"{stem}.cached")


def definition_source(resource: dict[str, Any], template_dir: Path) -> Any:
    """The file a state machine's definition is wrapped from: its ``DefinitionUri``, or, when that is a
    wrapped copy, the source the copy was made from (recorded by ``wrap`` in the resource's
    ``Metadata``; for copies made before that, the same name without ``.cached``, if it exists)."""
    uri = (resource.get("Properties") or {}).get("DefinitionUri")
    marked = ((resource.get("Metadata") or {}).get(SOURCE_MARKER[0]) or {}).get(SOURCE_MARKER[1])
    if isinstance(marked, str) and marked:
        return marked
    if isinstance(uri, str) and ".cached." in Path(uri).name:
        original = Path(uri).with_name(Path(uri).name.replace(".cached.", ".", 1)).as_posix()
        if (template_dir / original).is_file():
            return original
    return uri


def mark_source(template: Template, resource: Any, source_uri: str) -> None:
    """Record in ``Metadata`` which file the wrapped copy comes from, so the next wrap reads that one."""
    group, key = SOURCE_MARKER
    metadata = resource.get("Metadata")
    if metadata is None:
        resource["Metadata"] = metadata = {} if template.is_json else CommentedMap()
    if not isinstance(metadata, dict):
        return
    marker = metadata.get(group)
    if marker is None:
        metadata[group] = marker = {} if template.is_json else CommentedMap()
    if isinstance(marker, dict) and marker.get(key) != source_uri:
        marker[key] = source_uri


def unmark_source(resource: Any) -> None:
    """Undo mark_source (``unwrap``): the marker, and the Metadata objects it leaves empty."""
    group, key = SOURCE_MARKER
    metadata = resource.get("Metadata")
    marker = metadata.get(group) if isinstance(metadata, dict) else None
    if isinstance(marker, dict) and key in marker:
        del marker[key]
        if not marker:
            del metadata[group]
        if not metadata:
            del resource["Metadata"]


def template_dir(source: str) -> Path:
    """The directory relative ``DefinitionUri`` paths start from (for stdin, the current one)."""
    return Path(source).parent if source != "<stdin>" else Path.cwd()


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (symbolic links resolved) is ``root`` or below it."""
    resolved, base = path.resolve(), root.resolve()
    return resolved == base or base in resolved.parents


def local_definition_path(uri: str, template_dir: Path, where: str) -> Path:
    """The file a local ``DefinitionUri`` names, refused unless it lies in the template's directory tree
    (a template must not make sfn-cache read, or write a copy next to, files elsewhere)."""
    path = template_dir / uri
    if "\0" in uri or not inside(path, template_dir):
        raise SfnCacheError(f"{where}: DefinitionUri {uri!r} points outside the template's directory "
                            f"({template_dir.resolve()}): move the definition under it")
    return path
