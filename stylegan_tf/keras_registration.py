"""`import stylegan_tf` is all `keras.models.load_model` needs, for every family's `.keras` files.

Keras finds a saved class only if its module was imported ("registered"). keras_hub does it by
importing everything on the package import; here that would cost the Keras + TensorFlow import
(3-5 s on 2 cores, against 0.01 s for `import stylegan_tf`) to every user of `stylegan_tf.config`,
the presets or a command's `--help`. So the registration waits for Keras instead:

- Keras already imported when `stylegan_tf` is: the families' network modules are imported now.
- Otherwise a `sys.meta_path` finder watches for `import keras` (by anyone: the user, TensorFlow,
  a `stylegan_tf` module) and registers once that import has finished and no `stylegan_tf` module
  is half-way through its own import (registering then would meet half-initialised modules: the
  registration waits for the outermost one to finish). After that the finder removes itself.

`stylegan_tf.families.register_keras_classes` does the work: it skips a family whose modules do not
exist yet. A registration that fails otherwise (a broken network module) warns instead of breaking
`import keras`; using that family then raises the real error.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
import warnings

PACKAGE = "stylegan_tf"

_lock = threading.Lock()
_thread = threading.local()  # .depth: stylegan_tf modules being executed by this thread.
_finder = None
_done = False


def install() -> None:
    """Registers now if Keras is imported, else once it is (called by `stylegan_tf/__init__`)."""
    global _finder
    with _lock:
        if _done or _finder is not None:
            return
        if "keras" not in sys.modules:
            _finder = _KerasImportFinder()
            sys.meta_path.insert(0, _finder)
            return
    register()


def registered() -> bool:
    return _done


def register() -> None:
    """Imports every family's generator and discriminator modules (once)."""
    global _done, _finder
    with _lock:
        if _done:
            return
        _done = True
        if _finder is not None:
            sys.meta_path[:] = [f for f in sys.meta_path if f is not _finder]
            _finder = None
    from stylegan_tf import families

    try:
        families.register_keras_classes()
    except Exception as error:  # noqa: BLE001 - `import keras` must keep working; the family's use re-raises it.
        warnings.warn(f"stylegan_tf could not register the Keras classes of every network family, so some "
                      f".keras files will not load: {type(error).__name__}: {error}", RuntimeWarning, stacklevel=2)


def _register_when_idle() -> None:
    if not _done and getattr(_thread, "depth", 0) == 0 and "keras" in sys.modules:
        register()


class _KerasImportFinder(importlib.abc.MetaPathFinder):
    """Finds `keras` and `stylegan_tf.*` through the other finders and wraps their loaders."""

    def find_spec(self, name, path, target=None):
        if name != "keras" and not name.startswith(PACKAGE + "."):
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """Runs the real loader, then registers if Keras is in and no stylegan_tf import is under way."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        # The module keeps its real loader (inspect, importlib.resources, reload): the wrapper only
        # lives through this import.
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        _thread.depth = getattr(_thread, "depth", 0) + 1
        try:
            self._loader.exec_module(module)
        finally:
            _thread.depth -= 1
        _register_when_idle()
