"""Every exception class lrspeech defines derives from LrspeechError (so CLIs can catch it)."""

import importlib
import inspect
import pkgutil
from typing import List, Type

import pytest

import lrspeech
from lrspeech.errors import InputError, LrspeechError


def project_exceptions() -> List[Type[BaseException]]:
    """The exception classes defined in lrspeech's modules (imported, not only referenced)."""
    found = []
    for info in pkgutil.walk_packages(lrspeech.__path__, "lrspeech."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__ and issubclass(cls, BaseException)
                    and not issubclass(cls, Warning)):
                found.append(cls)
    return found


def test_every_project_error_is_an_lrspeech_error() -> None:
    classes = project_exceptions()
    names = {c.__name__ for c in classes}
    assert {"DataDirError", "TokenMapError", "EncoderNotFound", "AudioError", "ReportError",
            "EvalInputError", "InputError"} <= names
    outside = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, LrspeechError)]
    assert outside == []


@pytest.mark.parametrize("path,builtin", [
    ("lrspeech.text.token_map.TokenMapError", ValueError),
    ("lrspeech.models.speech_encoder.EncoderNotFound", FileNotFoundError),
    ("lrspeech.data.errors.NoAudioError", KeyError),
    ("lrspeech.models.tasks.TrainingFailedError", RuntimeError),
    ("lrspeech.eval.judge.JudgeUnavailableError", ImportError),
])
def test_errors_keep_their_builtin_base(path: str, builtin: Type[BaseException]) -> None:
    module, name = path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, LrspeechError) and issubclass(cls, builtin)


def test_no_audio_error_reads_as_a_sentence() -> None:
    from lrspeech.data.errors import NoAudioError

    assert str(NoAudioError("d: utterance 'u' is not in wav.scp")) == (
        "d: utterance 'u' is not in wav.scp")  # a plain KeyError would quote it
    assert isinstance(InputError("x"), ValueError)
