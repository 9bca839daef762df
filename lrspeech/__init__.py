"""lrspeech: bootstrap TTS and ASR for low-resource languages on ESPnet2.

Usage: python -c "import lrspeech; print(lrspeech.__version__)"

`import lrspeech` stays light (no torch): it only installs an import hook so that, whenever
ESPnet's ASR task module is imported, lrspeech's models (e.g. `mixspeech`) are registered in
its model registry; `Speech2Text` then rebuilds a MixSpeech checkpoint with no extra flags.
The same hook imports ESPnet's attention module with stdout sent to stderr: it prints a notice
when flash_attn is missing (always, on a CPU), and a CLI's stdout is its output
(`transcribe ... > hyps.txt`, the values lr.sh reads from `dual_transformation voices`).
It also defers g2p_en and tacotron_cleaner, English text tools that ESPnet imports at the top
of its task modules and lrspeech never calls (see lrspeech.runtime.defer_import).
"""

import contextlib
import importlib.abc
import importlib.util
import sys

from lrspeech.runtime import defer_import

__version__ = "0.1.0"

_REGISTRY_MODULE = "espnet2.tasks.asr"
_NOISY_MODULE = "espnet.nets.pytorch_backend.transformer.attention"  # prints on import


class _RegisterAfterExec(importlib.abc.Loader):
    """Wraps ESPnet's loader: execute the module, then register lrspeech's models."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec):  # noqa: ANN001 - importlib protocol
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: ANN001 - importlib protocol
        self.loader.exec_module(module)
        from lrspeech.models.tasks import register_models

        register_models()


class _StdoutToStderr(_RegisterAfterExec):
    """Wraps ESPnet's loader: execute the module with its prints sent to stderr."""

    def exec_module(self, module) -> None:  # noqa: ANN001 - importlib protocol
        with contextlib.redirect_stdout(sys.stderr):
            self.loader.exec_module(module)


_WRAPPERS = {_REGISTRY_MODULE: _RegisterAfterExec, _NOISY_MODULE: _StdoutToStderr}


class _EspnetRegistryFinder(importlib.abc.MetaPathFinder):
    """Finds the ESPnet modules of _WRAPPERS through the other finders and wraps their
    loaders."""

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001 - importlib protocol
        wrapper = _WRAPPERS.get(fullname)
        if wrapper is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = wrapper(spec.loader)
                return spec
        return None


def _install_registry_hook() -> None:
    if _REGISTRY_MODULE in sys.modules:
        from lrspeech.models.tasks import register_models

        register_models()
    elif not any(isinstance(f, _EspnetRegistryFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _EspnetRegistryFinder())


_install_registry_hook()
# Imported at the top of ESPnet's task modules, used only by English G2P and the "tacotron"
# text cleaner, which lrspeech never selects: ~4 s per process (inflect, nltk) saved.
for _name in ("g2p_en", "tacotron_cleaner", "tacotron_cleaner.cleaners"):
    defer_import(_name)
