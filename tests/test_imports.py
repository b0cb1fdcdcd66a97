"""The package's import graph (every `import`, also those inside functions) has no circle, and no
module imports one of a higher layer (docs/architecture.md): networks -> training / data / metrics
-> exports -> commands."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "stylegan_tf"
COMMANDS = {"stylegan_tf.generate", "stylegan_tf.project", "stylegan_tf.convert", "stylegan_tf.train",
            "stylegan_tf.metrics.__main__", "stylegan_tf.data.tool", "stylegan_tf.metrics.convert_lpips"}


def _module_name(path: pathlib.Path) -> str:
    parts = ("stylegan_tf",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports (`from a import b` counts as a.b when that is a module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack, path = [(start, iter(sorted(graph[start])))], [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "stylegan_tf.export" in graph["stylegan_tf.generate"] or "stylegan_tf.export" in graph["stylegan_tf.cli"]
    assert "stylegan_tf.data.layout" in graph["stylegan_tf.data.dataset"]


def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def _layer(module: str) -> int:
    if module in COMMANDS:
        return 4
    if module == "stylegan_tf.export":
        return 3
    if module.startswith(("stylegan_tf.networks.", "stylegan_tf.official")):   # networks and their official weights
        return 1
    if module.startswith(("stylegan_tf.training", "stylegan_tf.data", "stylegan_tf.metrics", "stylegan_tf.augment",
                          "stylegan_tf.sampling", "stylegan_tf.projection", "stylegan_tf.input_transform",
                          "stylegan_tf.figures", "stylegan_tf.saving")):
        return 2
    return 0   # the shared base: errors, media, cli, config, families, presets, ...


# The registry resolves classes by name at run time (no import), so `official` (the published weights
# of every family) sits with the networks; `saving` (the writers, which the training loop uses) is a
# library module; `export` opens every format (checkpoints and runs too), above the training code.
@pytest.mark.parametrize("layer_name, layer", [("networks", 1), ("training/data/metrics/sampling", 2),
                                               ("exports", 3)])
def test_no_import_from_a_higher_layer(layer_name, layer):
    graph = import_graph()
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() if _layer(m) == layer
                    for d in deps if _layer(d) > layer)
    assert not upward, f"{layer_name} modules import a higher layer: {upward}"


def test_the_layers_place_the_writers_below_training_and_the_loaders_above():
    assert _layer("stylegan_tf.saving") == _layer("stylegan_tf.training.loop") == 2
    assert _layer("stylegan_tf.export") == 3
    graph = import_graph()
    assert "stylegan_tf.saving" in graph["stylegan_tf.training.loop"]
    assert "stylegan_tf.export" not in graph["stylegan_tf.training.loop"]


def test_library_modules_never_import_a_command():
    graph = import_graph()
    bad = sorted(f"{m} -> {d}" for m, deps in graph.items() if m not in COMMANDS for d in deps if d in COMMANDS)
    assert not bad, bad
