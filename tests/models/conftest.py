"""Session fixtures: micro ASR and micro multi-speaker Transformer-TTS trained on tests/data.

Both train a few steps with the tiny configs on the real clips shipped in tests/data (Swahili
and AN4: 9 speakers), through lrspeech.models.train_lists and espnet_train, once per test
session; the results live under the session's tmp dir. They are not meant to be good models,
only real ones: ESPnet exp dirs with config.yaml, a checkpoint, token list and feature stats.

Tests elsewhere can reuse the builders without the fixtures:
    build_micro_asr(root, rows_train, rows_valid) / build_micro_tts(...) -> MicroModel
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import pytest

from lrspeech.models.espnet_train import TrainedExp, collect_stats, train
from lrspeech.models.train_lists import write_token_list, write_train_lists

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
TTS_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"
# A few optimizer steps; no plots, no tensorboard: the point is a real checkpoint, fast.
MICRO_ARGS = [
    "--max_epoch", "2",
    "--num_iters_per_epoch", "2",
    "--num_att_plot", "0",
    "--use_tensorboard", "false",
    "--seed", "0",
]


@dataclass(frozen=True)
class MicroModel:
    """A trained micro model and the data it was trained on."""

    task: str
    exp_dir: Path
    config: Path  # exp_dir/config.yaml
    checkpoint: Path
    token_list: Path  # tokens.txt (ESPnet format)
    token_type: str
    stats_file: Path  # feats_stats.npz
    data_dir: Path  # Kaldi-style train dir (wav.scp, text, utt2spk, spk2utt)
    train_dir: Path  # ESPnet lists
    valid_dir: Path
    spk2sid: Optional[Path]  # TTS only


def normalize(text: str) -> str:
    """Lower case, letters/digits/apostrophes only, single spaces (enough for the fixtures)."""
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def char_tokens(text: str) -> str:
    """Pre-tokenized text as lrspeech.text writes it: space-split tokens, <space> between words."""
    return " <space> ".join(" ".join(word) for word in normalize(text).split())


def write_data_dir(rows: Iterable[Dict[str, str]], out: Path) -> Path:
    """A Kaldi-style data dir from tests/data metadata rows."""
    rows = sorted(rows, key=lambda r: r["id"])
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "wav.scp": [f"{r['id']} {r['audio']}" for r in rows],
        "text": [f"{r['id']} {normalize(r['text'])}" for r in rows],
        "utt2spk": [f"{r['id']} {r['speaker']}" for r in rows],
    }
    spk2utt: Dict[str, List[str]] = {}
    for r in rows:
        spk2utt.setdefault(r["speaker"], []).append(r["id"])
    files["spk2utt"] = [f"{s} {' '.join(u)}" for s, u in sorted(spk2utt.items())]
    for name, lines in files.items():
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def write_tokenized_text(data_dir: Path, out: Path) -> Path:
    lines = []
    for line in (data_dir / "text").read_text(encoding="utf-8").splitlines():
        utt, _, text = line.partition(" ")
        lines.append(f"{utt} {char_tokens(text)}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def split_rows(*corpora: List[Dict[str, str]]) -> Dict[str, List[Dict[str, str]]]:
    rows = [r for corpus in corpora for r in corpus]
    return {
        "train": [r for r in rows if r["split"] == "train"],
        "valid": [r for r in rows if r["split"] != "train"],
    }


def build_micro_asr(root: Path, train_rows: List[Dict], valid_rows: List[Dict],
                    config: Path = ASR_CONFIG, extra_args: Iterable[str] = ()) -> MicroModel:
    """Train the micro ASR (char tokens) under `root`; reuse it if already there."""
    data = {s: write_data_dir(r, root / "data" / s) for s, r in
            (("train", train_rows), ("valid", valid_rows))}
    lists = {s: write_train_lists(d, root / "dump" / s) for s, d in data.items()}
    tokens = write_token_list(lists["train"] / "text", root / "tokens.txt", "char")
    stats = collect_stats("asr", config, lists["train"], lists["valid"],
                          root / "stats", tokens, "char")
    exp = train("asr", config, lists["train"], lists["valid"], stats, root / "exp",
                tokens, "char", extra_args=[*MICRO_ARGS, *extra_args])
    return _micro("asr", exp, tokens, "char", data["train"], lists, None)


def build_micro_tts(root: Path, train_rows: List[Dict], valid_rows: List[Dict],
                    config: Path = TTS_CONFIG, extra_args: Iterable[str] = ()) -> MicroModel:
    """Train the micro multi-speaker TTS (pre-tokenized chars, --token_type word) under `root`."""
    data = {s: write_data_dir(r, root / "data" / s) for s, r in
            (("train", train_rows), ("valid", valid_rows))}
    token_text = {s: write_tokenized_text(d, root / f"text_tokens.{s}") for s, d in data.items()}
    train_lists = write_train_lists(data["train"], root / "dump" / "train",
                                    text=token_text["train"], with_sids=True)
    valid_lists = write_train_lists(data["valid"], root / "dump" / "valid",
                                    text=token_text["valid"], with_sids=True,
                                    spk2sid=train_lists / "spk2sid")
    lists = {"train": train_lists, "valid": valid_lists}
    tokens = write_token_list(train_lists / "text", root / "tokens.txt", "word")
    stats = collect_stats("tts", config, train_lists, valid_lists, root / "stats",
                          tokens, "word")
    exp = train("tts", config, train_lists, valid_lists, stats, root / "exp", tokens,
                "word", extra_args=[*MICRO_ARGS, *extra_args])
    return _micro("tts", exp, tokens, "word", data["train"], lists, train_lists / "spk2sid")


def _micro(task: str, exp: Path, tokens: Path, token_type: str, data_dir: Path,
           lists: Dict[str, Path], spk2sid: Optional[Path]) -> MicroModel:
    trained = TrainedExp.load(exp)
    return MicroModel(
        task=task, exp_dir=exp, config=trained.config, checkpoint=trained.checkpoint,
        token_list=tokens, token_type=token_type, stats_file=trained.stats_file,
        data_dir=data_dir, train_dir=lists["train"], valid_dir=lists["valid"], spk2sid=spk2sid,
    )


@pytest.fixture(scope="session")
def micro_asr(tmp_path_factory, sw_rows, an4_rows) -> MicroModel:
    """Micro hybrid CTC/attention Transformer ASR (chars) on Swahili + AN4 (18 train clips)."""
    rows = split_rows(sw_rows, an4_rows)
    return build_micro_asr(tmp_path_factory.mktemp("micro_asr"), rows["train"], rows["valid"])


@pytest.fixture(scope="session")
def micro_tts(tmp_path_factory, sw_rows, an4_rows) -> MicroModel:
    """Micro multi-speaker Transformer-TTS (9 speakers + <unk>) on Swahili + AN4."""
    rows = split_rows(sw_rows, an4_rows)
    return build_micro_tts(tmp_path_factory.mktemp("micro_tts"), rows["train"], rows["valid"])


PACKED_TTS_LANG = ("language: test\niso: sw\nespeak_voice: none\ntoken_type: char\n"
                   "punctuation: strip\nnumber_normalizer: none\n")


@pytest.fixture(scope="session")
def packed_tts(micro_tts, tmp_path_factory) -> Path:
    """The micro TTS packed with a char lang.yaml and sw_35d as its target speaker."""
    from lrspeech.models.packing import pack_model
    from lrspeech.models.speakers import read_spk2sid

    root = tmp_path_factory.mktemp("inference_tts")
    (root / "lang.yaml").write_text(PACKED_TTS_LANG)
    meta = {"token_type": "char", "speakers": read_spk2sid(micro_tts.spk2sid),
            "target_speaker": "sw_35d"}
    return pack_model(micro_tts.exp_dir, None, root / "tts", lang_config=root / "lang.yaml",
                      meta=meta)
