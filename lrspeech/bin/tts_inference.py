"""Synthesize a text-only data dir with a packed TTS model, in one speaker's voice.

Usage: python -m lrspeech.bin.tts_inference --model_dir exp/packed/tts --text_dir data/text \
    --out_dir exp/synth --speaker target --nj 2

Writes a data dir: `wav/<utt>.wav`, `wav.scp`, `text` (the input text), `utt2spk` (the
speaker's name; `target` is resolved through the model's meta.json). The waveform comes from
`--vocoder`: `auto` (the default: the universal HiFi-GAN for a TTS trained on its features,
conf/tts/fastspeech2_hifigan.yaml, else, for a model dir with the speaker's WORLD source model
world.pt, `world_gl` or what its meta.json's world_vocoder says, else Griffin-Lim),
`griffin_lim` (from a fixed initial phase: the same text gives the same audio),
`hifigan_universal` (an error for a TTS on other features), `world` / `world_gl` (WORLD, or
WORLD's harmonics above 500 Hz in voiced frames and Griffin-Lim elsewhere;
lrspeech.models.world_vocoder), or `--vocoder_file` with an ESPnet GAN-TTS checkpoint
(joint_text2wav, with `--vocoder_config`) or a ParallelWaveGAN .pkl. `--postfilter` (default
auto: `gv` when the model dir has `gv.npz`) gives the features the vocoder reads the speaker's
global variance (lrspeech.models.postfilter); the features written are the TTS's own.
For distillation: `--write_attention` (`att_ws/<utt>.npy`, decoder steps x (tokens + <eos>)),
`--write_durations` (`durations`, ESPnet format, in feature frames, summing to each
utterance's frame count), `--write_feats` (`feats/<utt>.npy` + `feats.scp`);
`--teacher_forcing --speech_dir D` aligns the real audio of D instead of free running;
`--no_vocoder` skips the waveform (much faster: only features and durations).
`--attention_scores` also writes `attention.json` (mean WCR, ADR and focus rate). Empty texts
are skipped and unknown characters read as <unk>, each reported once. A clip that comes out
empty or near-empty (`--min_seconds`) is not written: it is listed with its text in `failed`
and with the reason in `skipped.json`.
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads

EOS = "<sos/eos>"


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", type=Path, required=True, help="packed TTS model dir")
    p.add_argument("--text_dir", type=Path, required=True, help="data dir with a text file")
    p.add_argument("--out_dir", type=Path, required=True, help="output data dir")
    p.add_argument("--speaker", default="target", help="a training speaker's name, or target")
    p.add_argument("--nj", type=int, default=1, help="worker processes (one thread each)")
    p.add_argument("--job_index", type=int, default=1, help="this job (1-based), for run.pl")
    p.add_argument("--num_jobs", type=int, default=1, help="number of jobs, for run.pl")
    p.add_argument("--vocoder", default="auto",
                   help="auto | griffin_lim | hifigan_universal[:<generator .pth.tar>] | "
                   "world | world_gl (both need the model dir's world.pt: "
                   "lrspeech.bin.world_source)")
    p.add_argument("--vocoder_config", type=Path, default=None, help="GAN vocoder config.yaml")
    p.add_argument("--vocoder_file", type=Path, default=None,
                   help="GAN vocoder checkpoint (.pth from ESPnet GAN-TTS, or .pkl)")
    p.add_argument("--postfilter", default="auto",
                   help="auto (gv when the model dir has gv.npz) | gv[:STRENGTH] | none: the "
                        "global-variance post-filter on the features the vocoder reads")
    p.add_argument("--no_vocoder", action="store_true", help="write features only")
    p.add_argument("--write_attention", action="store_true", help="att_ws/<utt>.npy")
    p.add_argument("--write_durations", action="store_true", help="durations file")
    p.add_argument("--write_feats", action="store_true", help="feats/<utt>.npy + feats.scp")
    p.add_argument("--attention_scores", action="store_true",
                   help="attention maps plus attention.json (mean WCR/ADR/focus rate)")
    p.add_argument("--teacher_forcing", action="store_true",
                   help="align the real audio of --speech_dir instead of free running")
    p.add_argument("--speech_dir", type=Path, default=None, help="data dir with the real audio")
    p.add_argument("--tokenized", action="store_true",
                   help="the text is already the model's tokens (space separated)")
    p.add_argument("--threshold", type=float, default=0.5, help="stop-token threshold")
    p.add_argument("--minlenratio", type=float, default=0.0)
    p.add_argument("--maxlenratio", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=777, help="fixed per utterance (prenet dropout)")
    p.add_argument("--min_seconds", type=float, default=0.1,
                   help="a clip shorter than this is near-empty: recorded as failed in "
                        "`failed`, not written (empty clips always are)")
    p.add_argument("--device", default="cpu")
    return p


def attention_summary(out_dir: Path, records: List[Any]) -> Dict[str, Optional[float]]:
    """Mean WCR, ADR and focus rate over the utterances' attention maps (None without maps:
    a non-autoregressive TTS such as FastSpeech2 has no attention)."""
    from lrspeech.eval.attention import attention_scores

    scores = [attention_scores(np.load(out_dir / "att_ws" / f"{r.utt}.npy"), r.tokens + [EOS])
              for r in records if r.att_ws]
    summary: Dict[str, Optional[float]] = {"utterances": len(scores)}
    for key in ("wcr", "adr", "focus_rate"):
        summary[key] = float(np.mean([s[key] for s in scores])) if scores else None
    return summary


def _options(a: argparse.Namespace) -> Any:
    from lrspeech.models.synthesis import TtsOptions

    return TtsOptions(
        speaker=a.speaker, vocoder=None if a.no_vocoder else a.vocoder,
        vocoder_config=str(a.vocoder_config) if a.vocoder_config else None,
        vocoder_file=str(a.vocoder_file) if a.vocoder_file else None,
        postfilter=a.postfilter, write_attention=a.write_attention or a.attention_scores,
        write_durations=a.write_durations, write_feats=a.write_feats,
        teacher_forcing=a.teacher_forcing,
        speech_dir=str(a.speech_dir) if a.speech_dir else None, tokenized=a.tokenized,
        threshold=a.threshold, minlenratio=a.minlenratio, maxlenratio=a.maxlenratio,
        seed=a.seed, device=a.device, min_seconds=a.min_seconds)


def _check_args(a: argparse.Namespace) -> Optional[str]:
    if a.nj < 1:
        return "--nj must be >= 1"
    if a.min_seconds < 0:
        return "--min_seconds must be >= 0"
    if a.teacher_forcing and a.speech_dir is None:
        return "--teacher_forcing needs --speech_dir (the real audio to align)"
    if a.no_vocoder and a.vocoder_file is not None:
        return "--no_vocoder and --vocoder_file exclude each other"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("lrspeech").setLevel(logging.INFO)  # ESPnet logs whole models at INFO
    a = get_parser().parse_args(argv)
    problem = _check_args(a)
    if problem:
        print(f"tts_inference: error: {problem}", file=sys.stderr)
        return 1
    from lrspeech.models.synthesis import synthesize_text_dir

    def finalize(tmp: Path, records: List[Any]) -> None:
        if a.attention_scores:
            summary = attention_summary(tmp, records)
            (tmp / "attention.json").write_text(json.dumps(summary, indent=2) + "\n",
                                                encoding="utf-8")

    try:
        result = synthesize_text_dir(a.model_dir, a.text_dir, a.out_dir, _options(a),
                                     a.job_index, a.num_jobs, a.nj, finalize=finalize)
    except (LrspeechError, OSError) as err:
        print(f"tts_inference: error: {err}", file=sys.stderr)
        return 1
    failed = f"; {len(result.failed)} failed (see {a.out_dir}/failed)" if result.failed else ""
    print(f"synthesized ({result.speaker}) {result.throughput.summary()}{failed} -> {a.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
