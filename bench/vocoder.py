"""Benchmark: the universal HiFi-GAN vocoder against Griffin-Lim on real speech, quality and speed.

Usage: python bench/vocoder.py --db_root ../shared/data/sw --out_dir /tmp/bench_vocoder \
    [--n_clips 8] [--threads 2] [--gl_iters 8 32] [--world_train_clips 40]

Copy-synthesis: the first --n_clips dev clips (metadata.tsv split `val`, sorted by id) are
analysed into the vocoder's log-mel features (lrspeech.models.vocoder.mel_analysis: 22,050 Hz,
80 bins 0-8 kHz, hop 256) and turned back into audio by each vocoder: HiFi-GAN run by
onnxruntime (the default backend), HiFi-GAN in PyTorch (inference mode), and Griffin-Lim with
--gl_iters iterations (ESPnet's Spectrogram2Waveform on the same features in log10), and WORLD
(lrspeech.models.world_vocoder, on the same features in log10) with a source model trained on
the first --world_train_clips train clips (by id) of the dev clips' speakers. Each
output is scored by DNSMOS P.835 OVRL (lrspeech.eval.dnsmos) next to the recordings, and by
its log-mel distance to the input features (mean absolute natural-log difference: 0 is a
perfect copy). Speed: wall time / audio time (RTF) of each vocoder on the same clips, in one
process, one after the other, --threads threads each, after one warm-up clip.
Results: results.json and results.md in --out_dir.
"""

import argparse
import json
import logging
import math
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

logger = logging.getLogger("bench.vocoder")


def dev_clips(db_root: Path, n: int, fs: int) -> Tuple[Dict[str, np.ndarray], List[str]]:
    """The first `n` dev clips (by id) at `fs`, and their speakers."""
    from lrspeech.data.audio import load_audio
    from lrspeech.data.corpus import datadir_from_metadata

    dd = datadir_from_metadata(db_root / "metadata.tsv", split="val")
    utts = sorted(dd.audio_utt_ids)[:n]
    if not utts:
        raise SystemExit(f"{db_root}/metadata.tsv: no `val` clips")
    return ({u: load_audio(dd.audio_of(u)[0], fs)[0] for u in utts},
            sorted({dd.utt2spk[u] for u in utts}))


# The universal generator's features as an ESPnet fbank config (log10 of the same mel).
FBANK = {"feats_extract": "fbank",
         "feats_extract_conf": {"fs": 22050, "n_fft": 1024, "hop_length": 256, "win_length": 1024,
                                "n_mels": 80, "fmin": 0, "fmax": 8000}}


def world_vocoder(db_root: Path, n_train: int, speakers: Sequence[str]) -> Callable[..., Any]:
    """WORLD with a source model trained on the first `n_train` train clips of `speakers`."""
    from lrspeech.data.audio import load_audio
    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.models.postfilter import feature_extractor, feature_settings
    from lrspeech.models.vocoder import UNIVERSAL_FEATURES, mel_analysis
    from lrspeech.models.world_vocoder import MelSettings, WorldVocoder, train_source

    dd = datadir_from_metadata(db_root / "metadata.tsv", split="train")
    utts = sorted(u for u in dd.audio_utt_ids if dd.utt2spk.get(u) in speakers)[:n_train]
    fs = UNIVERSAL_FEATURES.fs

    def recordings() -> Any:
        for u in utts:
            x = load_audio(dd.audio_of(u)[0], fs)[0]
            yield x, mel_analysis(x, UNIVERSAL_FEATURES) / math.log(10.0)

    mel = MelSettings.from_tts_config(FBANK, "bench")
    source = train_source(recordings(), mel, feature_settings(FBANK))
    logger.info("WORLD source model: %d train clips, voicing accuracy %.3f", source.n_utts,
                source.train_accuracy)
    world = WorldVocoder(source, mel, feature_extractor(FBANK)[0])
    return lambda m: world(m / math.log(10.0))


def vocoders(threads: int, gl_iters: Sequence[int],
             world: Optional[Callable[..., Any]] = None) -> Dict[str, Callable[[np.ndarray], Any]]:
    """name -> function of natural-log mel frames (T, 80) -> waveform at 22,050 Hz."""
    import torch
    from espnet2.utils.griffin_lim import Spectrogram2Waveform

    from lrspeech.models.vocoder import UNIVERSAL_FEATURES as F
    from lrspeech.models.vocoder import load_hifigan

    out: Dict[str, Callable[[np.ndarray], Any]] = {}
    onnx = load_hifigan(backend="onnx", threads=threads)
    plain = load_hifigan(backend="torch")
    out["hifigan (onnxruntime)"] = lambda mel: onnx(torch.from_numpy(mel)).numpy()
    out["hifigan (pytorch)"] = lambda mel: plain(torch.from_numpy(mel)).numpy()
    for n_iter in gl_iters:
        gl = Spectrogram2Waveform(n_fft=F.n_fft, n_shift=F.n_shift, fs=F.fs, n_mels=F.n_mels,
                                  win_length=F.win_length, fmin=int(F.fmin), fmax=int(F.fmax),
                                  griffin_lim_iters=n_iter)
        out[f"griffin-lim {n_iter} it"] = (
            lambda mel, gl=gl: gl(torch.from_numpy(mel / math.log(10.0))).numpy())
    if world is not None:
        out["world (speaker source model)"] = world
    return out


def mel_distance(mel: np.ndarray, wav: np.ndarray) -> float:
    from lrspeech.models.vocoder import UNIVERSAL_FEATURES, mel_analysis

    back = mel_analysis(wav, UNIVERSAL_FEATURES)
    n = min(len(mel), len(back))
    return float(np.abs(mel[:n] - back[:n]).mean())


def run(args: argparse.Namespace) -> Dict[str, Any]:
    import soundfile as sf
    import torch

    from lrspeech.eval.dnsmos import Dnsmos
    from lrspeech.models.vocoder import UNIVERSAL_FEATURES, mel_analysis

    torch.set_num_threads(args.threads)
    clips, speakers = dev_clips(args.db_root, args.n_clips, UNIVERSAL_FEATURES.fs)
    mels = {u: mel_analysis(x, UNIVERSAL_FEATURES) for u, x in clips.items()}
    seconds = sum(len(x) for x in clips.values()) / UNIVERSAL_FEATURES.fs
    dnsmos = Dnsmos(threads=args.threads)
    rows: Dict[str, Dict[str, float]] = {
        "recordings": {"dnsmos_ovrl": statistics.mean(
            dnsmos(x, UNIVERSAL_FEATURES.fs)["dnsmos_ovrl"] for x in clips.values())}}
    world = (world_vocoder(args.db_root, args.world_train_clips, speakers)
             if args.world_train_clips else None)
    for name, vocode in vocoders(args.threads, args.gl_iters, world).items():
        vocode(next(iter(mels.values()))[:50])  # warm-up
        start = time.perf_counter()
        outs = {u: vocode(m) for u, m in mels.items()}
        took = time.perf_counter() - start
        wav_dir = args.out_dir / "wav" / re.sub(r"\W+", "_", name).strip("_")
        wav_dir.mkdir(parents=True, exist_ok=True)
        for u, y in outs.items():
            sf.write(wav_dir / f"{u}.wav", y, UNIVERSAL_FEATURES.fs)
        rows[name] = {
            "rtf": took / seconds,
            "dnsmos_ovrl": statistics.mean(dnsmos(y, UNIVERSAL_FEATURES.fs)["dnsmos_ovrl"]
                                           for y in outs.values()),
            "mel_l1": statistics.mean(mel_distance(mels[u], y) for u, y in outs.items())}
        logger.info("%s: %s", name, rows[name])
    return {"db_root": str(args.db_root), "clips": list(clips), "audio_s": round(seconds, 2),
            "threads": args.threads, "rows": rows}


def markdown(results: Dict[str, Any]) -> str:
    lines = [f"Copy-synthesis of {len(results['clips'])} dev clips ({results['audio_s']} s) of "
             f"{results['db_root']}, {results['threads']} threads", "",
             "| vocoder | DNSMOS OVRL | log-mel L1 to input | RTF |", "|---|---|---|---|"]
    for name, r in results["rows"].items():
        mel = f"{r['mel_l1']:.3f}" if "mel_l1" in r else "-"
        rtf = f"{r['rtf']:.3f}" if "rtf" in r else "-"
        lines.append(f"| {name} | {r['dnsmos_ovrl']:.2f} | {mel} | {rtf} |")
    return "\n".join(lines) + "\n"


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db_root", type=Path, required=True, help="corpus with metadata.tsv")
    p.add_argument("--out_dir", type=Path, required=True)
    p.add_argument("--n_clips", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gl_iters", type=int, nargs="+", default=[8, 32])
    p.add_argument("--world_train_clips", type=int, default=40,
                   help="train clips the WORLD source model learns from (0: no WORLD row)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = get_parser().parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    results = run(args)
    (args.out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n",
                                               encoding="utf-8")
    md = markdown(results)
    (args.out_dir / "results.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
