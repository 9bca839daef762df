"""ESPnet extensions: MixSpeech ASR model, task registration, transfer, ESPnet I/O.

Usage: python -c "import lrspeech.models; from espnet2.tasks.asr import model_choices; \
print(sorted(model_choices.classes))"

lrspeech's models are registered into ESPnet's registries when ESPnet's ASR task module is
imported (the hook `import lrspeech` installs; `register_models()` does it explicitly). The
package itself imports no ESPnet or torch: the light modules under it (speaker tables, file
formats) serve CLIs that print a value for lr.sh in a fraction of a second, where importing
ESPnet took 8-9 s.
"""

from lrspeech.models.tasks import register_models

__all__ = ["register_models"]
