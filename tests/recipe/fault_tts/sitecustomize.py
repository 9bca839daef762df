"""Test-only fault injection: a TTS whose output for chosen utterances is cut short.

Usage: PYTHONPATH=tests/recipe/fault_tts LRSPEECH_TEST_TTS_FAULTS="utt_a=0,utt_b=480" \
    egs/swahili/lr1/run.sh --stage 7 --stop_stage 7

Python imports `sitecustomize` from PYTHONPATH at start-up, so every process of the recipe
gets this hook; nothing in lrspeech knows about it. When `lrspeech.models.synthesis` is
imported, its Synthesizer is wrapped so that each listed utterance's waveform keeps only the
given number of samples (and its features the frames those samples cover): 0 gives an empty
clip, a few hundred samples a clip too short for an ASR encoder's subsampling.
"""

import importlib.abc
import importlib.util
import os
import sys

TARGET = "lrspeech.models.synthesis"


def _faults():
    spec = os.environ.get("LRSPEECH_TEST_TTS_FAULTS", "")
    return {u: int(n) for u, n in (item.split("=") for item in spec.split(",") if item)}


class _CutShort:
    """Text2Speech stand-in: the real one's output, cut to `samples`."""

    def __init__(self, t2s, samples, hop):
        self._t2s, self._samples, self._hop = t2s, samples, hop

    def __getattr__(self, name):
        return getattr(self._t2s, name)

    def __call__(self, *args, **kwargs):
        out = dict(self._t2s(*args, **kwargs))
        if out.get("wav") is not None:
            out["wav"] = out["wav"][: self._samples]
        # a clip with samples keeps at least one frame (no frame at all is an empty clip)
        frames = 0 if self._samples == 0 else max(1, self._samples // self._hop)
        for key in ("feat_gen", "feat_gen_denorm"):
            if out.get(key) is not None:
                out[key] = out[key][:frames]
        return out


def _patch(module):
    faults = _faults()
    real = module.Synthesizer.synthesize

    def synthesize(self, item, cond, out, final):
        if item.utt not in faults:
            return real(self, item, cond, out, final)
        t2s = self.t2s
        self.t2s = _CutShort(t2s, faults[item.utt], self.hop)
        try:
            return real(self, item, cond, out, final)
        finally:
            self.t2s = t2s

    module.Synthesizer.synthesize = synthesize


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader_exec = spec.loader.exec_module

        def exec_module(module):
            loader_exec(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


if _faults():
    sys.meta_path.insert(0, _Hook())
