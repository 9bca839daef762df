"""ESPnet extensions: MixSpeech ASR model, task registration, transfer, ESPnet I/O.

Usage: python -c "import lrspeech.models; from espnet2.tasks.asr import model_choices; \
print(sorted(model_choices.classes))"

Importing this package registers lrspeech's models into ESPnet's registries.
"""

from lrspeech.models.tasks import register_models

register_models()

__all__ = ["register_models"]
