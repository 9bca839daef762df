"""Process-wide runtime settings shared by every lrspeech entry point.

Usage: python -c "from lrspeech.runtime import limit_threads; limit_threads()"

Why: on small VMs torch's OpenMP pool spins on idle cores and makes training 3-13x slower
and erratic. One thread per process (the recipe runs several processes) is the fast setting;
a user who exports OMP_NUM_THREADS keeps their own value.

`defer_import` keeps ESPnet's import cheap: `espnet2.tasks.tts` imports g2p_en at the top
(inflect, nltk: ~6 s per process on this VM) for an English G2P that lrspeech never uses;
`import lrspeech` defers it until something reads one of its attributes.
"""

import importlib.util
import os
import sys
import types
from typing import Any

DEFAULT_THREADS = 1


def limit_threads(default: int = DEFAULT_THREADS) -> int:
    """Set OMP/MKL thread counts (unless the user set them) and torch's pools; return the count."""
    n = int(os.environ.setdefault("OMP_NUM_THREADS", str(default)))
    os.environ.setdefault("MKL_NUM_THREADS", str(n))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:  # the data and text layers work without torch
        return n
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


class _DeferredModule(types.ModuleType):
    """A module whose code runs when one of its public attributes is first used.

    Unlike importlib.util.LazyLoader, reading dunder attributes (``__file__``, ``__spec__``, as
    inspect and torch do when they scan sys.modules) does not run it.
    """

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        spec = self.__spec__
        self.__class__ = types.ModuleType  # from now on a plain module
        spec.loader.exec_module(self)
        return getattr(self, attr)


def defer_import(name: str) -> bool:
    """Make `import NAME` cheap until NAME's attributes are used; False if already imported
    or not installed. For modules that ESPnet imports at the top but lrspeech never calls."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return False
    module = _DeferredModule(name)
    module.__spec__, module.__loader__ = spec, spec.loader
    module.__file__, module.__package__ = spec.origin, spec.parent
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = module
    return True
