"""Stage 3 of the recipe in one process: token lists, cross-lingual token maps, speaker ids.

Usage: python -m lrspeech.bin.text_frontend --lang_config conf/lang.yaml \
    --rich_lang_config conf/lang/en.yaml --tts_token_type phn \
    --text dump/raw/paired_hq dump/raw/unpaired_text dump/raw/dev --rich_text dump/raw/rich_synth \
    --speakers dump/raw/paired_hq dump/raw/unpaired_speech \
    --target_speaker_from dump/raw/paired_hq \
    --out_dir dump/token

Writes into --out_dir: text/{target,rich}.{tts,asr} (tokenized texts), {target,rich}_{tts,asr}
_tokens.txt (token lists: the target's vocabulary is every text the recipe trains on or is
measured on), token_map_{tts,asr}.tsv (rich-resource token -> target token, lrspeech.text.
token_map), spk2sid (`<unk> 0`, then every speaker of --speakers by name) and target_speaker
(the speaker with the most utterances in --target_speaker_from; a tie goes to the first name).

`--part rich` writes only the rich-resource files (RICH_FILES: what pretraining reads);
`--part target` only the others (TARGET_FILES), from the rich token lists already there. The
recipe runs them as two steps, so that a changed target text does not redo pretraining.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from lrspeech.bin import make_token_list, make_token_map, tokenize_text
from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.data.datadir import DataDir
from lrspeech.errors import InputError


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("all", "rich", "target"), default="all",
                   help="write every file, or only the rich-resource or the target side's")
    p.add_argument("--lang_config", type=Path, help="the target's lang.yaml")
    p.add_argument("--rich_lang_config", type=Path, required=True)
    p.add_argument("--tts_token_type", required=True, choices=("phn", "char"))
    p.add_argument("--text", type=Path, nargs="+",
                   help="data dirs whose text makes the target vocabulary")
    p.add_argument("--rich_text", type=Path, help="the rich-resource data dir")
    p.add_argument("--speakers", type=Path, nargs="+",
                   help="data dirs whose speakers the TTS knows (utt2spk)")
    p.add_argument("--target_speaker_from", type=Path)
    p.add_argument("--out_dir", type=Path, required=True)
    return p


RICH_FILES = ("text/rich.tts", "text/rich.asr", "rich_tts_tokens.txt", "rich_asr_tokens.txt")
TARGET_FILES = ("text/target", "text/target.tts", "text/target.asr", "target_tts_tokens.txt",
                "target_asr_tokens.txt", "token_map_tts.tsv", "token_map_asr.tsv", "spk2sid",
                "target_speaker")
NEEDS = {"rich": ("rich_text",),
         "target": ("lang_config", "text", "speakers", "target_speaker_from")}


def check_args(a: argparse.Namespace) -> None:
    """Each part's options are there (all: both parts')."""
    parts = ("rich", "target") if a.part == "all" else (a.part,)
    missing = [f"--{o}" for part in parts for o in NEEDS[part] if getattr(a, o) is None]
    if missing:
        raise InputError(f"--part {a.part} needs {' '.join(missing)}")
    if a.part == "target":
        absent = [f for f in RICH_FILES[2:] if not (a.out_dir / f).is_file()]
        if absent:
            raise InputError(f"{a.out_dir}/{absent[0]}: missing; the target's token maps need "
                             "the rich token lists: run --part rich first")


def _run(name: str, main: Callable[[List[str]], int], argv: List[str]) -> None:
    if main(argv) not in (0, None):
        raise InputError(f"{name} {' '.join(argv)} failed; its error is printed above")


def target_text(dirs: Sequence[Path], out: Path) -> None:
    """The texts of `dirs`, one after the other, as one Kaldi text file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for d in dirs:
            text = d / "text"
            if not text.is_file():
                raise InputError(f"{text}: missing; rerun stage 2 (formatting) for {d}")
            f.write(text.read_text(encoding="utf-8"))


def speaker_ids(dirs: Sequence[Path]) -> Dict[str, str]:
    """`<unk>` -> 0, then every speaker of `dirs` (utt2spk) by name -> 1, 2, ..."""
    speakers = sorted({s for d in dirs for s in DataDir.load(d).utt2spk.values()})
    return {"<unk>": "0", **{s: str(i) for i, s in enumerate(speakers, 1)}}


def target_speaker(data_dir: Path) -> str:
    """The speaker with the most utterances in `data_dir` (a tie: the first by name)."""
    counts = Counter(DataDir.load(data_dir).utt2spk.values())
    if not counts:
        raise InputError(f"{data_dir}/utt2spk: no speaker; the paired data needs utt2spk")
    return min(counts, key=lambda s: (-counts[s], s))


def tokenize_side(a: argparse.Namespace, side: str, lang_config: Path, src: Path) -> None:
    """text/<side>.{tts,asr} and <side>_{tts,asr}_tokens.txt of one side's text."""
    for task, opts in (("tts", ["--token_type", a.tts_token_type]),
                       ("asr", ["--token_type", "char", "--punctuation", "strip"])):
        tokenized = a.out_dir / "text" / f"{side}.{task}"
        _run("tokenize_text", tokenize_text.main, ["--lang_config", str(lang_config), "--in",
             str(src), "--out", str(tokenized), *opts])
        _run("make_token_list", make_token_list.main,
             ["--out", str(a.out_dir / f"{side}_{task}_tokens.txt"), str(tokenized)])


def build_target(a: argparse.Namespace) -> None:
    """The target side: its token lists, the token maps from the rich lists, speaker ids."""
    out = a.out_dir
    target_text(a.text, out / "text" / "target")
    tokenize_side(a, "target", a.lang_config, out / "text" / "target")
    for task, ttype in (("tts", a.tts_token_type), ("asr", "char")):
        _run("make_token_map", make_token_map.main, [
            "--target_token_list", str(out / f"target_{task}_tokens.txt"),
            "--source_token_list", str(out / f"rich_{task}_tokens.txt"), "--token_type", ttype,
            "--target_lang_config", str(a.lang_config),
            "--source_lang_config", str(a.rich_lang_config),
            "--out", str(out / f"token_map_{task}.tsv")])
    ids = speaker_ids(a.speakers)  # in id order, `<unk> 0` first
    (out / "spk2sid").write_text("".join(f"{s} {i}\n" for s, i in ids.items()), encoding="utf-8")
    (out / "target_speaker").write_text(target_speaker(a.target_speaker_from) + "\n",
                                        encoding="utf-8")


def build(a: argparse.Namespace) -> None:
    check_args(a)
    if a.part in ("all", "rich"):
        tokenize_side(a, "rich", a.rich_lang_config, a.rich_text / "text")
    if a.part in ("all", "target"):
        build_target(a)


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    setup_logging()

    def body() -> int:
        build(a)
        what = {"all": "token lists, token maps, spk2sid, target_speaker",
                "rich": "rich-resource token lists",
                "target": "target token lists, token maps, spk2sid, target_speaker"}[a.part]
        print(f"{a.out_dir}: {what}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
