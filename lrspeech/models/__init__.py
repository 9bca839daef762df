"""ESPnet extensions: MixSpeech ASR model, task registration, transfer, ESPnet I/O.

Usage: python -c "import lrspeech.models; from espnet2.tasks.asr import model_choices; \
print(sorted(model_choices.classes))"

Importing this package registers lrspeech's models into ESPnet's registries.
"""

import contextlib
import sys

# ESPnet prints a notice to stdout when flash_attn is missing (always, on CPU); the CLIs' stdout
# is their output (`transcribe ... > hyps.txt`), so the import that prints it sends it to stderr.
with contextlib.redirect_stdout(sys.stderr):
    import espnet.nets.pytorch_backend.transformer.attention  # noqa: F401

from lrspeech.models.tasks import register_models  # noqa: E402

register_models()

__all__ = ["register_models"]
