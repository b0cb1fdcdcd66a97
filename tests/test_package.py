"""`pip install .` gives a working package: the commands, the import from anywhere, every file.

The install goes into a fresh virtual environment that sees the project's environment (TensorFlow,
Keras, pip) through a .pth file, with `--no-deps --no-build-isolation`: no network, no TensorFlow
reinstall. It builds from a copy of the checkout, so no build/ or *.egg-info is left in the tree.
"""

import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["stylegan-train", "stylegan-dataset", "stylegan-generate", "stylegan-metrics", "stylegan-convert",
            "stylegan-project"]


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _requirements(name: str) -> list[str]:
    """The requirement lines of a requirements file, without comments and `-r` includes."""
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-r")]


def test_pyproject_dependencies_are_the_requirements_files():
    project = _pyproject()["project"]
    assert project["dependencies"] == _requirements("requirements-base.txt")
    extras = project["optional-dependencies"]
    assert extras["cpu"] == _requirements("requirements-cpu.txt")
    assert extras["gpu"] == _requirements("requirements.txt")
    assert extras["and-cuda"] == [re.sub(r"^tensorflow==", "tensorflow[and-cuda]==", r) for r in extras["gpu"]]
    assert extras["test"] == _requirements("requirements-test.txt")
    assert sorted(project["scripts"]) == sorted(COMMANDS)


def _source_files() -> set[str]:
    package = ROOT / "stylegan_tf"
    return {str(p.relative_to(ROOT)) for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the package installed from a copy of the checkout; returns (venv, env)."""
    tmp = tmp_path_factory.mktemp("package")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "stylegan_tf", source / "stylegan_tf", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # The project's environment (TensorFlow, Keras, pip, setuptools) behind the new one's own packages.
    (Path(purelib) / "project-env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")
    result = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                             str(source)], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return venv, env, Path(purelib), tmp


def test_pip_install_gives_the_commands_and_the_package(installed):
    venv, env, purelib, cwd = installed
    for command in COMMANDS:
        result = subprocess.run([str(venv / "bin" / command), "--help"], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{command} --help:\n{result.stderr[-3000:]}"
        assert "usage:" in result.stdout, command
    # Imported from outside the checkout, the installed copy is the one found; Keras finds its classes.
    code = ("import stylegan_tf, keras; from keras.saving import get_registered_object;"
            "print(stylegan_tf.__version__, stylegan_tf.__file__, get_registered_object('stylegan_tf>Generator').__name__)")
    result = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    version, path, registered = result.stdout.split()[-3:]
    sys.path.insert(0, str(ROOT))
    try:
        import stylegan_tf
    finally:
        sys.path.pop(0)
    assert version == stylegan_tf.__version__
    assert Path(path).resolve() == (purelib / "stylegan_tf" / "__init__.py").resolve()
    assert registered == "Generator"


def test_the_install_holds_every_package_file_and_nothing_else(installed):
    _, _, purelib, _ = installed
    installed_files = {str(p.relative_to(purelib)) for p in (purelib / "stylegan_tf").rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert installed_files == _source_files()
    top_level = {p.name for p in purelib.iterdir() if p.is_dir() and not p.name.endswith((".dist-info", "__pycache__"))}
    assert top_level == {"stylegan_tf"}  # no tests/, benchmarks/ or data_prep/ package
