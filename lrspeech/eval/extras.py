"""Optional dependencies of the evaluators: imported lazily, skipped with one clear message.

Usage: python -c "from lrspeech.eval.extras import optional_import as o; print(o('pesq', 'PESQ'))"

A recipe must never die at its last stage because a MOS proxy's package is missing: the
metric is skipped, the log says once which package to install, and the report shows it as
absent.
"""

import importlib
import logging
import warnings
from types import ModuleType
from typing import Optional

logger = logging.getLogger(__name__)

INSTALL_HINT = "install the eval extra: pip install 'lrspeech[eval]'"


def optional_import(
    module: str, metric: str, package: Optional[str] = None
) -> Optional[ModuleType]:
    """Import `module`, or log that `metric` is skipped and return None.

    Callers resolve their extras once per run, so the message appears once per run.
    """
    try:
        with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            return importlib.import_module(module)
    except ImportError as err:
        logger.warning(
            "%s skipped: the package %s is not installed (%s); %s",
            metric,
            package or module.split(".")[0],
            err,
            INSTALL_HINT,
        )
        return None
