"""The Python snippets of README.md and docs/*.md: every `stylegan_tf` import they make works, and
every attribute they use of an imported stylegan_tf module (`gen.generate_images`) exists."""

import ast
import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, source) of each fenced python block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


def _snippets() -> list:
    return [pytest.param(path, line, source, id=f"{path.name}:{line}")
            for path in DOCUMENTS for line, source in python_blocks(path) if "stylegan_tf" in source]


def test_the_documents_have_snippets_to_check():
    assert len(_snippets()) >= 5
    assert python_blocks(ROOT / "docs" / "generation.md")


@pytest.mark.parametrize("path, line, source", _snippets())
def test_snippet_imports_and_attributes_exist(path, line, source):
    tree = ast.parse(source)   # a snippet that is not Python fails here, named by file and line
    modules = {}               # local name -> the stylegan_tf module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "stylegan_tf":
                    module = importlib.import_module(alias.name)
                    modules[alias.asname or alias.name.split(".")[0]] = module if alias.asname else \
                        importlib.import_module("stylegan_tf")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stylegan_tf":
            parent = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(parent, alias.name):   # a submodule (`from stylegan_tf import sampling`)
                    importlib.import_module(f"{node.module}.{alias.name}")
                value = getattr(parent, alias.name)
                if isinstance(value, type(parent)):
                    modules[alias.asname or alias.name] = value
    missing = [f"{ast.unparse(node)} (line {line + node.lineno - 1})" for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
               and node.value.id in modules and not _has(modules[node.value.id], node.attr)]
    assert not missing, f"{path.name}: {missing}"


def _has(module, name: str) -> bool:
    if hasattr(module, name):
        return True
    try:   # a submodule not imported yet (`stylegan_tf.data.synthetic`)
        importlib.import_module(f"{module.__name__}.{name}")
        return True
    except ModuleNotFoundError:
        return False
