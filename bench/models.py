"""Benchmark: MixSpeech training-step overhead, and FastSpeech vs Transformer-TTS synthesis speed.

Usage: python bench/models.py --work_dir /tmp/bench_models [--db_root ../shared/data/sw]

Two measurements, each side by side in one run on the same data (tests/data by default: the
Swahili and AN4 clips; or the `train`/`val` rows of a corpus folder with a metadata.tsv):

1. ASR: seconds per training step (forward, backward, Adam step) of ESPnet's hybrid
   CTC/attention model (conf/asr/transformer_tiny.yaml) and of the same model with
   `model: mixspeech` (part 1's lrspeech/models/mixspeech.py), at its default mix share and
   with every utterance mixed. The models start from the same weights and see the same
   batches of real audio; their steps alternate (which goes first alternates too), so a
   change in the machine's load hits all of them alike. Data loading is not timed.
   Target: MixSpeech costs at most 20% more per step.
2. TTS: real-time factor (compute seconds per second of speech) of the autoregressive
   Transformer-TTS teacher (conf/tts/transformer_tiny.yaml) and the FastSpeech student
   (conf/tts/fastspeech_tiny.yaml) on the same sentences. Both are trained here at tiny scale
   the way the recipe's stage 7 does it: the teacher on the clips, then its teacher-forced
   attention durations (lrspeech.models.synthesis) train the student. Both are packed and
   loaded with lrspeech.models.packing. So that each sentence costs the same amount of
   speech, the teacher runs for as many frames as the student produced (its stop token is
   ignored). RTF is reported for the acoustic model alone and with Griffin-Lim.
   Target: FastSpeech at least 10x faster (acoustic model).
Results go to stdout and to `work_dir/results.json`; trained models stay in work_dir and
are reused when rerun.
"""

import argparse
import csv
import json
import logging
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrspeech.runtime import limit_threads  # noqa: E402

logger = logging.getLogger("bench.models")
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
TEACHER_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"
STUDENT_CONFIG = REPO / "conf" / "tts" / "fastspeech_tiny.yaml"
TEST_DATA = [REPO / "tests" / "data" / "sw", REPO / "tests" / "data" / "en" / "an4"]
QUIET = ["--num_att_plot", "0", "--use_tensorboard", "false", "--seed", "0"]


# ---------------------------------------------------------------- data


def read_rows(folders: Sequence[Path], max_s: float) -> List[Dict[str, str]]:
    """metadata.tsv rows (absolute audio paths) of clips no longer than `max_s`."""
    rows = []
    for folder in folders:
        with open(folder / "metadata.tsv", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                row["audio"] = str((folder / row["audio"]).resolve())
                if float(row.get("duration_s") or 0) <= max_s:
                    rows.append(row)
    return sorted(rows, key=lambda r: r["id"])


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def char_tokens(text: str) -> List[str]:
    """lrspeech's pre-tokenized characters: `<space>` between words."""
    return " <space> ".join(" ".join(w) for w in normalize(text).split()).split()


def write_dir(rows: Sequence[Dict[str, str]], out: Path, tokenized: bool = True) -> Path:
    """A data dir (wav.scp, text as tokens or normalized words, utt2spk)."""
    from lrspeech.data.datadir import DataDir

    text = {r["id"]: " ".join(char_tokens(r["text"])) if tokenized else normalize(r["text"])
            for r in rows}
    DataDir(wav_scp={r["id"]: r["audio"] for r in rows}, text=text,
            utt2spk={r["id"]: r["speaker"] for r in rows}).save(out)
    return out


# ---------------------------------------------------------------- ASR: step time


def asr_batches(rows: Sequence[Dict[str, str]], token_ids: Dict[str, int], batch_size: int,
                n: int) -> List[Dict[str, Any]]:
    """`n` batches of real audio and char targets, cycling through the rows in order."""
    import torch

    from lrspeech.data.audio import load_audio

    clips = [(load_audio(r["audio"], target_sr=16000)[0], r["text"]) for r in rows]
    batches = []
    for b in range(n):
        chosen = [clips[(b * batch_size + i) % len(clips)] for i in range(batch_size)]
        speech = [torch.from_numpy(x) for x, _ in chosen]
        text = [torch.tensor([token_ids.get("<space>" if c == " " else c, 1)
                              for c in normalize(t)]) for _, t in chosen]
        batches.append(dict(
            speech=torch.nn.utils.rnn.pad_sequence(speech, batch_first=True),
            speech_lengths=torch.tensor([len(x) for x in speech]),
            text=torch.nn.utils.rnn.pad_sequence(text, batch_first=True, padding_value=-1),
            text_lengths=torch.tensor([len(t) for t in text])))
    return batches


def asr_models(token_list: List[str]) -> Dict[str, Any]:
    """ESPnet's model and MixSpeech (default share, and all utterances mixed), same weights."""
    import torch

    from lrspeech.models.tasks import build_model

    torch.manual_seed(0)
    models = {"espnet": build_model("asr", ASR_CONFIG, token_list)}
    for name, overrides in (("mixspeech", {"model": "mixspeech"}),
                            ("mixspeech_all", {"model": "mixspeech",
                                               "model_conf.mix_share": 1.0})):
        models[name] = build_model("asr", ASR_CONFIG, token_list, overrides=overrides)
        models[name].load_state_dict(models["espnet"].state_dict())
    return models


def train_step(model: Any, optimizer: Any, batch: Dict[str, Any]) -> float:
    start = time.perf_counter()
    loss, _, _ = model(**batch)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return time.perf_counter() - start


def bench_asr(rows: Sequence[Dict[str, str]], steps: int, batch_size: int) -> Dict[str, Any]:
    """Seconds per training step, interleaved; overhead of MixSpeech over ESPnet's model."""
    import torch

    chars = sorted({c for r in rows for c in normalize(r["text"]) if c != " "})
    token_list = ["<blank>", "<unk>", "<space>", *chars, "<sos/eos>"]
    models = asr_models(token_list)
    optims = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    batches = asr_batches(rows, {t: i for i, t in enumerate(token_list)}, batch_size,
                          steps + 3)
    times: Dict[str, List[float]] = {k: [] for k in models}
    order = list(models)
    for i, batch in enumerate(batches):
        for name in order[i % len(order):] + order[:i % len(order)]:
            torch.manual_seed(i)  # the same mixing draw for every MixSpeech model
            took = train_step(models[name].train(), optims[name], batch)
            if i >= 3:  # warm-up steps are not counted
                times[name].append(took)
    out: Dict[str, Any] = {"steps": steps, "batch_size": batch_size,
                           "audio_s_per_batch": round(float(np.mean(
                               [b["speech_lengths"].sum().item() / 16000 for b in batches])), 2)}
    for name, values in times.items():
        out[name] = {"mean_s": statistics.mean(values), "median_s": statistics.median(values)}
    for name in ("mixspeech", "mixspeech_all"):
        out[name]["overhead"] = out[name]["median_s"] / out["espnet"]["median_s"] - 1.0
    return out


# ---------------------------------------------------------------- TTS: teacher and student


def train_tts(config: Path, train: Path, valid: Path, root: Path, epochs: int,
              tokens: Path) -> Path:
    """collect_stats + training through lrspeech.models.espnet_train; the packed model dir."""
    from lrspeech.models import espnet_train, train_lists
    from lrspeech.models.packing import pack_model

    packed = root / "model"
    if (packed / "meta.json").is_file():
        return packed
    lists = {s: train_lists.write_train_lists(d, root / "dump" / s, text=d / "text")
             for s, d in (("train", train), ("valid", valid))}
    stats = espnet_train.collect_stats("tts", config, lists["train"], lists["valid"],
                                       root / "stats", tokens, "word",
                                       log_file=root / "log" / "stats.log")
    exp = espnet_train.train("tts", config, lists["train"], lists["valid"], stats, root / "exp",
                             tokens, "word", extra_args=["--max_epoch", str(epochs), *QUIET],
                             log_file=root / "log" / "train.log")
    return pack_model(exp, None, packed, meta={"token_type": "char"})


def teacher_durations(teacher: Path, data: Path, out: Path) -> Path:
    """The student's training dir: the clips plus the teacher's teacher-forced durations."""
    import shutil

    from lrspeech.models.synthesis import TtsOptions, synthesize_text_dir

    if (out / "durations").is_file():
        return out
    opts = TtsOptions(speaker="target", vocoder=None, write_durations=True,
                      teacher_forcing=True, speech_dir=str(data), tokenized=True)
    result = synthesize_text_dir(teacher, data, out.parent / "teacher_forced", opts)
    tmp = out.parent / (out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(data, tmp)
    shutil.copyfile(result.out_dir / "durations", tmp / "durations")
    tmp.rename(out)
    return out


def timed(t2s: Any, ids: np.ndarray, **kw: Any) -> Tuple[float, int]:
    start = time.perf_counter()
    out = t2s(ids, **kw)
    return time.perf_counter() - start, int(out["feat_gen"].shape[0])


def bench_tts(teacher: Path, student: Path, sentences: List[List[str]], repeats: int,
              vocoder: Any) -> Dict[str, Any]:
    """RTF of both models on the same sentences, the teacher generating the student's length."""
    from lrspeech.models.packing import load_tts

    models = {"transformer": load_tts(teacher, vocoder=vocoder),
              "fastspeech": load_tts(student, vocoder=vocoder)}
    ids = [np.array([models["fastspeech"].train_args.token_list.index(t) for t in s])
           for s in sentences]
    hop, fs = 256, 16000
    compute = {k: 0.0 for k in models}
    frames = {k: 0 for k in models}
    for x in ids[:2]:  # warm-up (first calls import and allocate), not timed
        timed(models["fastspeech"], x)
        timed(models["transformer"], x, decode_conf=dict(threshold=1.01, maxlenratio=2.0))
    for _ in range(repeats):
        for x in ids:
            s_time, s_frames = timed(models["fastspeech"], x)
            ratio = s_frames / (len(x) + 1)  # the teacher's maxlen counts text + <eos>
            t_time, t_frames = timed(models["transformer"], x, decode_conf=dict(
                threshold=1.01, minlenratio=0.0, maxlenratio=ratio))
            compute["fastspeech"] += s_time
            compute["transformer"] += t_time
            frames["fastspeech"] += s_frames
            frames["transformer"] += t_frames
    out: Dict[str, Any] = {}
    for k in models:
        audio = frames[k] * hop / fs
        out[k] = {"rtf": compute[k] / audio, "audio_s": audio / repeats,
                  "compute_s": compute[k] / repeats}
    out["speedup"] = out["transformer"]["rtf"] / out["fastspeech"]["rtf"]
    return out


# ---------------------------------------------------------------- main


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work_dir", type=Path, required=True, help="models and results go here")
    p.add_argument("--db_root", type=Path, default=None,
                   help="corpus folder with metadata.tsv (default: tests/data sw + an4)")
    p.add_argument("--max_clip_s", type=float, default=8.0, help="use clips up to this long")
    p.add_argument("--asr_steps", type=int, default=30, help="timed steps per ASR model")
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--teacher_epochs", type=int, default=30)
    p.add_argument("--student_epochs", type=int, default=30)
    p.add_argument("--sentences", type=int, default=8, help="sentences to synthesize")
    p.add_argument("--repeats", type=int, default=3, help="passes over the sentences")
    return p


def tts_data(rows: List[Dict[str, str]], work: Path
             ) -> Tuple[Path, Path, Path, List[Dict[str, str]]]:
    """One speaker's clips: (train dir, valid dir, token list, the speaker's rows)."""
    from lrspeech.models import train_lists

    counts = {s: sum(r["speaker"] == s for r in rows) for s in {r["speaker"] for r in rows}}
    speaker = max(sorted(counts), key=lambda s: counts[s])
    mine = [r for r in rows if r["speaker"] == speaker]
    train = [r for r in mine if r["split"] == "train"] or mine
    valid = [r for r in mine if r["split"] != "train"] or train[-2:]
    train_dir, valid_dir = write_dir(train, work / "train"), write_dir(valid, work / "valid")
    tokens = train_lists.write_token_list(train_dir / "text", work / "tokens.txt", "word")
    return train_dir, valid_dir, tokens, valid + train


def main(argv: List[str] = None) -> int:
    limit_threads()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)
    a = get_parser().parse_args(argv)
    folders = [a.db_root] if a.db_root else TEST_DATA
    rows = read_rows(folders, a.max_clip_s)
    a.work_dir.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {"data": [str(f) for f in folders], "clips": len(rows)}

    logger.info("ASR: %d timed steps per model, batch %d", a.asr_steps, a.batch_size)
    results["asr"] = bench_asr([r for r in rows if r["split"] == "train"], a.asr_steps,
                               a.batch_size)
    train_dir, valid_dir, tokens, tts_rows = tts_data(rows, a.work_dir / "tts_data")
    logger.info("TTS: teacher (%d epochs), durations, student (%d epochs)", a.teacher_epochs,
                a.student_epochs)
    teacher = train_tts(TEACHER_CONFIG, train_dir, valid_dir, a.work_dir / "teacher",
                        a.teacher_epochs, tokens)
    student_data = teacher_durations(teacher, train_dir, a.work_dir / "student_data")
    student = train_tts(STUDENT_CONFIG, student_data, student_data, a.work_dir / "student",
                        a.student_epochs, tokens)
    known = set(tokens.read_text(encoding="utf-8").split())
    texts = [char_tokens(r["text"]) for r in tts_rows][: a.sentences]
    sentences = [[t if t in known else "<unk>" for t in s] for s in texts]
    results["tts_sentences"] = len(sentences)
    results["tts"] = bench_tts(teacher, student, sentences, a.repeats, None)
    results["tts_griffin_lim"] = bench_tts(teacher, student, sentences, 1, "griffin_lim")
    (a.work_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_results(results)
    return 0


def print_results(r: Dict[str, Any]) -> None:
    asr = r["asr"]
    print(f"ASR training step (batch {asr['batch_size']}, {asr['audio_s_per_batch']} s of audio "
          f"per batch, {asr['steps']} steps each, median):")
    for name in ("espnet", "mixspeech", "mixspeech_all"):
        extra = f"  overhead {asr[name]['overhead']:+.1%}" if "overhead" in asr[name] else ""
        print(f"  {name:14s} {asr[name]['median_s']:.3f} s/step (mean "
              f"{asr[name]['mean_s']:.3f}){extra}")
    for key, label in (("tts", "acoustic model"), ("tts_griffin_lim", "with Griffin-Lim")):
        t = r[key]
        print(f"TTS synthesis, {label} ({r['tts_sentences']} sentences):")
        for name in ("transformer", "fastspeech"):
            print(f"  {name:14s} RTF {t[name]['rtf']:.4f} ({t[name]['compute_s']:.2f} s for "
                  f"{t[name]['audio_s']:.1f} s of speech)")
        print(f"  FastSpeech is {t['speedup']:.1f}x faster")


if __name__ == "__main__":
    sys.exit(main())
