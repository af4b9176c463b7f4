"""YAML loading that remembers where each value came from, for `file:line: message` errors."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from voicecoach.files import read_text
from voicecoach.limits import MAX_TEXT_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES


class LocatedStr(str):
    line: int = 0


class LocatedDict(dict):
    line: int = 0


class LocatedList(list):
    line: int = 0


# libyaml's parser when PyYAML was built with it (about five times faster); the same safe
# constructors. PyYAML has CSafeLoader only when built with libyaml, hence the look-up.
if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):
    def construct_object(self, node, deep=False):
        # PyYAML's own constructors raise plain Python errors on some values (a 13th month,
        # an int of 5000 digits, "!!float x"); each becomes an error at the value's line.
        try:
            return super().construct_object(node, deep)
        except (ValueError, ArithmeticError, TypeError, LookupError, AttributeError) as exc:
            shown = node.value if isinstance(node.value, str) else node.tag
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            reason = str(exc).split(";")[0] or type(exc).__name__
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {shown!r}: {reason}", node.start_mark) from None

    def construct_yaml_str(self, node):
        value = LocatedStr(super().construct_scalar(node))
        value.line = node.start_mark.line + 1
        return value

    def construct_yaml_map(self, node):
        data = LocatedDict()
        data.line = node.start_mark.line + 1
        yield data
        data.update(self.construct_mapping(node))

    def construct_yaml_seq(self, node):
        data = LocatedList()
        data.line = node.start_mark.line + 1
        yield data
        data.extend(self.construct_sequence(node))


_LineLoader.add_constructor("tag:yaml.org,2002:str", _LineLoader.construct_yaml_str)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_yaml_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_yaml_seq)


class YamlError(ValueError):
    """A file that is not valid YAML; the message is `file:line: what is wrong`."""


def load_yaml(path: Path) -> Any:
    """Load `path`; strings, dicts and lists carry a `.line` attribute."""
    try:
        text = read_text(path, MAX_TEXT_FILE_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(f"{path}: cannot read: {exc}") from None
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_shape(path, node)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlError(f"{path}: invalid YAML: nested too deeply (at most {MAX_YAML_DEPTH} levels)") from None
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote or bracket is reported at the end of the file; where it
        # started (the context mark) is the line a person needs.
        scanning = exc.context_mark is not None and "scanning" in (exc.context or "")
        mark = exc.context_mark if scanning else (exc.problem_mark or exc.context_mark)
        line = mark.line + 1 if mark else 0
        what = f"{exc.context}: {exc.problem}" if scanning else (exc.problem or exc.context)
        raise YamlError(f"{path}:{line}: invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _check_shape(path: Path, root: yaml.Node) -> None:
    """Refuse, before anything is built, what would silently lose data or exhaust memory:
    a key written twice in one mapping (the second would replace the first), collections
    nested too deeply, a value that contains itself, and aliases that expand past
    MAX_YAML_NODES values (a "billion laughs" file is a few lines long)."""
    sizes: dict[int, int] = {}
    problems: list[tuple[int, str]] = []

    def size(node: yaml.Node, depth: int, open_nodes: set[int]) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        line = node.start_mark.line + 1
        if depth > MAX_YAML_DEPTH:
            raise YamlError(f"{path}:{line}: invalid YAML: nested too deeply (at most {MAX_YAML_DEPTH} levels)")
        if id(node) in open_nodes:
            raise YamlError(f"{path}:{line}: invalid YAML: a value contains itself (through an alias)")
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            open_nodes.add(id(node))
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            for child in children:
                total += size(child, depth + 1, open_nodes)
                if total > MAX_YAML_NODES:
                    raise YamlError(f"{path}:{line}: invalid YAML: more than {MAX_YAML_NODES} values "
                                    "once aliases are expanded")
            open_nodes.discard(id(node))
        if isinstance(node, yaml.MappingNode):
            _duplicate_keys(path, node, problems)
        sizes[id(node)] = total
        return total

    size(root, 0, set())
    if problems:
        raise YamlError("\n".join(message for _, message in sorted(problems)))


def _duplicate_keys(path: Path, node: yaml.MappingNode, problems: list[tuple[int, str]]) -> None:
    first: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        line = key.start_mark.line + 1
        earlier = first.setdefault((key.tag, key.value), line)
        if earlier != line:
            problems.append((line, f"{path}:{line}: key {key.value!r} is already set at line {earlier} of this mapping"))


def line_of(value: Any, default: int = 0) -> int:
    return getattr(value, "line", default)


def load_yaml_mappings(directory: Path, what: str) -> tuple[list[tuple[Path, dict]], list[str]]:
    """Every *.yaml in `directory` whose top level is a mapping, and the problems of the rest.

    `what` names the files in messages ("content", "intent").
    """
    files = sorted(directory.glob("*.yaml"))
    if not files:
        return [], [f"{directory}: no {what} files (*.yaml)"]
    docs: list[tuple[Path, dict]] = []
    problems: list[str] = []
    for path in files:
        try:
            doc = load_yaml(path)
        except YamlError as exc:
            problems.append(str(exc))
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}:{line_of(doc, 1)}: expected a mapping of sections")
            continue
        docs.append((path, doc))
    return docs, problems
