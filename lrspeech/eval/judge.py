"""Judge ASRs that listen to synthesized speech for the intelligibility rate (IR).

Usage: python -c "from lrspeech.eval.judge import make_judge as j; print(j('pocketsphinx').name)"

A judge is anything with `transcribe(audio, sr) -> str`. Two kinds exist:
`EspnetJudge(model_dir)` wraps a packed ESPnet ASR dir (the pipeline's own ASR, or a judge
trained on real speech of the language), and `PocketsphinxJudge()` is an English judge that
owes nothing to this pipeline: its acoustic model ships inside the pocketsphinx wheel, so it
cannot have been tuned on our synthetic speech. pocketsphinx is an optional extra (`eval`)
and is imported only when that judge is built.
"""

import abc
import json
import logging
import os
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np

from lrspeech.data.audio import resample
from lrspeech.data.skips import EMPTY
from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

POCKETSPHINX = "pocketsphinx"
SPACE = "<space>"


class JudgeUnavailableError(LrspeechError, ImportError):
    """The judge's package is not installed; the message says what to install."""


class Judge(abc.ABC):
    """An ASR used as a listener; `name` is recorded in ir.json."""

    name: str = "judge"

    @abc.abstractmethod
    def transcribe(self, audio: np.ndarray, sr: int) -> str:
        """Text heard in mono float samples `audio` at `sr` Hz."""

    def cannot_hear(self, n_samples: int, sr: int) -> Optional[Tuple[str, str]]:
        """(reason, detail) when a clip of `n_samples` at `sr` cannot be transcribed, else None.

        Any judge refuses an empty clip; an ESPnet judge also one below its encoder's limit.
        """
        if n_samples <= 0:
            return EMPTY, "no audio"
        return None


class PocketsphinxJudge(Judge):
    """CMU pocketsphinx with its bundled US-English acoustic model, dictionary and LM."""

    sample_rate = 16000

    def __init__(self, **config: Any) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError as err:
            raise JudgeUnavailableError(
                "the pocketsphinx judge needs the `pocketsphinx` package; install the eval "
                "extra: pip install 'lrspeech[eval]'"
            ) from err
        config.setdefault("logfn", os.devnull)
        self._decoder = Decoder(samprate=self.sample_rate, **config)
        self.name = POCKETSPHINX

    def transcribe(self, audio: np.ndarray, sr: int) -> str:
        x = resample(np.asarray(audio, dtype=np.float32), sr, self.sample_rate)
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""


def _parse_rate(fs: Union[int, float, str]) -> int:
    """ESPnet writes rates as 16000 or '16k'."""
    if isinstance(fs, str):
        s = fs.strip().lower()
        return int(float(s[:-1]) * 1000) if s.endswith("k") else int(float(s))
    return int(fs)


def model_sample_rate(speech2text: Any, default: int = 16000) -> int:
    """The rate an ESPnet ASR was trained at (frontend_conf.fs), or `default`."""
    args = getattr(speech2text, "asr_train_args", None)
    conf = getattr(args, "frontend_conf", None) or {}
    return _parse_rate(conf.get("fs", default)) if isinstance(conf, dict) else default


def packed_sample_rate(model_dir: Path) -> Optional[int]:
    """`sample_rate` of a packed dir's meta.json, when the packer recorded it."""
    meta = Path(model_dir) / "meta.json"
    if not meta.is_file():
        return None
    try:
        rate = json.loads(meta.read_text(encoding="utf-8")).get("sample_rate")
    except (json.JSONDecodeError, AttributeError):
        return None
    return _parse_rate(rate) if rate else None


def detokenize(text: str) -> str:
    """Words from an ESPnet hypothesis; `word`-token models emit `a b <space> c` style text."""
    if SPACE not in text:
        return " ".join(text.split())
    return " ".join("".join(w.split()) for w in text.split(SPACE) if w.strip())


class EspnetJudge(Judge):
    """A packed ESPnet ASR model dir (see docs/CONTRACTS.md) as a judge."""

    def __init__(self, model_dir: Union[str, Path], use_lm: bool = False,
                 **load_kwargs: Any) -> None:
        """`use_lm`: decode with the ASR dir's packed LM. Off by default: a judge that fuses an
        LM of the expected text would "hear" words the speech does not carry."""
        self.model_dir = Path(model_dir)
        if not use_lm:
            load_kwargs["lm_weight"] = 0.0
            load_kwargs["length_bonus"] = 0.0
        if not self.model_dir.is_dir():
            raise FileNotFoundError(
                f"{self.model_dir}: judge model dir not found; give a packed ASR dir "
                "(config.yaml, model.pth, ...) or `pocketsphinx`"
            )
        from lrspeech.models.packing import load_asr  # imports ESPnet: slow, only when needed

        self.speech2text = load_asr(self.model_dir, **load_kwargs)
        self.sample_rate = packed_sample_rate(self.model_dir) or model_sample_rate(self.speech2text)
        self.name = str(self.model_dir)

    @classmethod
    def from_speech2text(
        cls, speech2text: Any, name: str = "espnet", sample_rate: Optional[int] = None
    ) -> "EspnetJudge":
        """Wrap an already loaded `Speech2Text` (e.g. the pipeline's ASR held in memory)."""
        judge = cls.__new__(cls)
        judge.model_dir = Path(name)
        judge.speech2text = speech2text
        judge.sample_rate = sample_rate or model_sample_rate(speech2text)
        judge.name = name
        return judge

    def cannot_hear(self, n_samples: int, sr: int) -> Optional[Tuple[str, str]]:
        from lrspeech.models.input_limits import measure_limit

        if n_samples <= 0:
            return EMPTY, "no audio"
        if getattr(self, "_limit", None) is None:
            self._limit = measure_limit(self.speech2text.asr_model, self.sample_rate)
        n = n_samples * self.sample_rate // sr  # after resampling to the judge's rate
        reason = self._limit.reason(n)
        return None if reason is None else (reason, self._limit.describe(n))

    def transcribe(self, audio: np.ndarray, sr: int) -> str:
        import torch

        x = resample(np.asarray(audio, dtype=np.float32), sr, self.sample_rate)
        with torch.no_grad():
            results = self.speech2text(torch.from_numpy(np.ascontiguousarray(x)))
        if not results:
            return ""
        return detokenize(results[0][0] or "")


def make_judge(spec: Union[str, Path], **kwargs: Any) -> Judge:
    """`pocketsphinx` or the path of a packed ESPnet ASR dir."""
    if str(spec) == POCKETSPHINX:
        return PocketsphinxJudge(**kwargs)
    return EspnetJudge(spec, **kwargs)
