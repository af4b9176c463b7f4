"""The package's import rules, checked by reading every module's imports (ast, nothing is run):

- settings are resolved once at the top: only the composition root (cli, app, settings) imports
  voicecoach.config; every other part is handed typed values;
- imports point down: coach/, intents/ and content/ import nothing above them, and hearing/ and
  voice/ import neither history/ nor the composition root;
- no import cycle, counting imports made inside functions.

An import under `if TYPE_CHECKING:` names a type for annotations and is never run, so the
direction and cycle rules leave it out (a verb is handed the resolved `Settings` that way).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "voicecoach"
COMPOSITION_ROOT = {"voicecoach.cli", "voicecoach.app", "voicecoach.settings"}
# Small modules with no imports of their own from above: anyone may use them.
HELPERS = {"voicecoach", "voicecoach.words", "voicecoach.plan", "voicecoach.files", "voicecoach.limits",
           "voicecoach.printable", "voicecoach.yamlfile"}
# part -> the parts (and helpers) it may import
MAY_IMPORT = {
    "voicecoach.intents": {"voicecoach.intents"},
    "voicecoach.content": {"voicecoach.content"},
    "voicecoach.coach": {"voicecoach.coach", "voicecoach.content", "voicecoach.intents"},
}
# part -> the parts it must not import
MUST_NOT_IMPORT = {
    "voicecoach.hearing": {"voicecoach.history", "voicecoach.voice", *COMPOSITION_ROOT, "voicecoach.config"},
    "voicecoach.voice": {"voicecoach.history", "voicecoach.hearing", *COMPOSITION_ROOT, "voicecoach.config"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
           (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(source: str, name: str, is_package: bool, modules: set[str]) -> dict[str, bool]:
    """The voicecoach modules `source` imports, each with True when the import runs (False: only
    under `if TYPE_CHECKING:`). `from voicecoach import words` counts as voicecoach.words."""
    found: dict[str, bool] = {}
    here = name if is_package else name.rpartition(".")[0]

    def note(module: str, runs: bool) -> None:
        if module == "voicecoach" or module.startswith("voicecoach."):
            found[module] = found.get(module, False) or runs

    def visit(node: ast.AST, runs: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, runs)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                note(alias.name, runs)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                note(submodule if submodule in modules else base, runs)
        for child in ast.iter_child_nodes(node):
            visit(child, runs)

    visit(ast.parse(source), True)
    return found


def import_graph() -> dict[str, dict[str, bool]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", set(files))
            for name, path in files.items()}


def in_part(module: str, part: str) -> bool:
    return module == part or module.startswith(part + ".")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that starts and ends at the same module, or None."""
    done: set[str] = set()
    for start in sorted(graph):
        path, on_path = [start], {start}
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                done.add(on_path_module := path.pop())
                on_path.discard(on_path_module)
            elif following in on_path:
                return path[path.index(following):] + [following]
            elif following not in done:
                path.append(following)
                on_path.add(following)
                stack.append(iter(sorted(graph.get(following, ()))))
    return None


GRAPH = import_graph()


def test_the_walker_sees_imports_at_the_top_inside_functions_and_for_types_only():
    found = imports_of("from voicecoach import words\nfrom . import b\n"
                       "def f():\n    import voicecoach.config\n"
                       "if TYPE_CHECKING:\n    from voicecoach.settings import Settings\n",
                       "voicecoach.x.a", False, {"voicecoach.words", "voicecoach.x.b"})
    assert found == {"voicecoach.words": True, "voicecoach.x.b": True, "voicecoach.config": True,
                     "voicecoach.settings": False}
    assert GRAPH["voicecoach.cli"]["voicecoach.settings"]     # the real package is read


def test_the_cycle_finder_finds_a_cycle_and_none_where_there_is_none():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_only_the_composition_root_reads_the_config_file():
    readers = sorted(name for name, imported in GRAPH.items()
                     if "voicecoach.config" in imported and name not in COMPOSITION_ROOT)
    assert readers == [], f"{readers} import voicecoach.config: take the value from Settings instead"


def environment_reads(source: str) -> list[int]:
    """The lines of `source` that read the environment: os.environ[...] / .get(...) or os.getenv.
    Setting a variable for a library (os.environ.setdefault) is not a read."""
    import ast

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "getenv":
            lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "environ":
            lines.append(node.lineno)
    return lines


def test_the_environment_reader_finds_reads_and_not_writes():
    assert environment_reads("import os\na = os.environ.get('X')\nb = os.environ['Y']\nc = os.getenv('Z')\n") == [2, 3, 4]
    assert environment_reads("import os\nos.environ.setdefault('X', '1')\n") == []


def test_only_the_composition_root_reads_the_environment():
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        if name in COMPOSITION_ROOT or name == "voicecoach.config":     # config finds its own file
            continue
        readers += [f"{name}:{line}" for line in environment_reads(path.read_text())]
    assert readers == [], f"{readers} read the environment: resolve it in settings.py and pass it down"


def test_there_is_no_import_cycle():
    running = {name: {m for m, runs in imported.items() if runs and m != name}
               for name, imported in GRAPH.items()}
    assert find_cycle(running) is None


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_a_lower_part_imports_nothing_above_it(part):
    allowed = MAY_IMPORT[part]
    wrong = sorted(f"{name} -> {imported}" for name, imports in GRAPH.items() if in_part(name, part)
                   for imported, runs in imports.items()
                   if runs and imported not in HELPERS and not any(in_part(imported, p) for p in allowed))
    assert wrong == []


@pytest.mark.parametrize("part", sorted(MUST_NOT_IMPORT))
def test_hearing_and_voice_do_not_reach_history_or_the_top(part):
    wrong = sorted(f"{name} -> {imported}" for name, imports in GRAPH.items() if in_part(name, part)
                   for imported, runs in imports.items()
                   if runs and any(in_part(imported, p) for p in MUST_NOT_IMPORT[part]))
    assert wrong == []


def test_nothing_imports_rich():
    """rich (and pygments under it, 11 MB) is not a dependency: no module imports it, not even
    inside a function, and pyproject.toml does not ask for it."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{path.relative_to(REPO)}:{node.lineno}" for n in names if n.split(".")[0] == "rich"]
    assert found == []
    import tomllib

    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert not [d for d in dependencies if d.split(">")[0].split("=")[0].strip().lower() == "rich"]


def test_the_terminal_view_and_the_history_table_run_where_rich_cannot_be_imported(tmp_path):
    """With `sys.modules['rich'] = None` any import of rich fails: the live view and the
    history table are drawn on a (pretend) terminal all the same."""
    import subprocess
    import sys

    script = """
import io, sys
sys.modules['rich'] = None
import voicecoach.view, voicecoach.history.commands
from voicecoach.coach.replies import Reply
from voicecoach.history.commands import show
from voicecoach.history.store import open_history
from voicecoach.view import LiveView, ViewState

class Tty(io.StringIO):
    encoding = 'utf-8'
    def isatty(self):
        return True

out = Tty()
view = LiveView(out, snapshot=lambda: ViewState('work', 'the IT band stretch', 'left', remaining=20.0))
view.speak(Reply('Hold it there.'))
view.heard('how long is left -> time_left')
view.close()
assert 'coach: Hold it there.' in out.getvalue() and '20 s left' in out.getvalue()
recorder, reason = open_history(sys.argv[1])
table = Tty()
show(recorder.sessions(), table)
assert 'Progress over the last 0 sessions' in table.getvalue()
assert 'rich' not in [name.split('.')[0] for name, module in sys.modules.items() if module is not None]
print('drawn without rich')
"""
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "h.db")], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "drawn without rich"
