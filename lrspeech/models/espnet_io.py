"""ESPnet I/O: training lists from Kaldi-style data dirs, token lists, collect_stats, training.

Usage: python -c "from lrspeech.models import espnet_io as io; \
io.write_train_lists('data/train', 'dump/train', with_sids=True)"

A recipe stage calls, in order:

    tr = write_train_lists("data/train", "dump/train", text="dump/train.tok", with_sids=True)
    cv = write_train_lists("data/valid", "dump/valid", text="dump/valid.tok", with_sids=True,
                           spk2sid=tr / "spk2sid")
    write_token_list(tr / "text", "dump/tokens.txt", token_type="word")
    stats = collect_stats("tts", config, tr, cv, "exp/tts_stats", "dump/tokens.txt")
    exp = train("tts", config, tr, cv, stats, "exp/tts", "dump/tokens.txt")

Each step writes its output completely or not at all (temporary path, then rename) and returns
the dir it wrote; a finished step is skipped when called again. Training itself resumes
through ESPnet's `--resume true` and is marked finished by `exp_dir/.done` (its arguments).

Why the argument order matters (ESPnet pitfall): the first `--*_shape_file` is the key the
batch sampler sorts by, and `--fold_length` values pair with the shape files in order.
ASR sorts by speech (as ESPnet's asr.sh), TTS by text (as tts.sh).
"""

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import yaml

from lrspeech.data.atomic import atomic_dir, atomic_write_text
from lrspeech.errors import LrspeechError
from lrspeech.models.tasks import ConfigError, read_config, run_task
from lrspeech.text import token_list as tl

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
UNK_SPEAKER = "<unk>"  # sid 0, as in ESPnet's tts.sh: unknown speakers at inference
TOKEN_TYPES = ("word", "char", "bpe", "phn")
# Fold lengths: speech in samples (ASR: 800 frames * 100; TTS: 800 frames * 256), text in tokens.
FOLD = {"asr": {"speech": 80000, "text": 150}, "tts": {"speech": 204800, "text": 150}}
FEATS = "feats.scp"  # a lists dir with it trains on those features, not on wav.scp's audio
FEATS_FOLD = 800  # fold length in feature frames (16 s at 50 frames per second)
DONE = ".done"


class DataListError(LrspeechError, ValueError):
    """A data dir that cannot become ESPnet training lists; the message says how to fix it."""


@dataclass(frozen=True)
class TrainedExp:
    """What a training run left in its exp dir (what decoding, packing and tests need)."""

    exp_dir: Path
    config: Path
    checkpoint: Path
    token_list: List[str]
    stats_file: Optional[Path]

    @classmethod
    def load(cls, exp_dir: PathLike) -> "TrainedExp":
        exp_dir = Path(exp_dir)
        config = exp_dir / "config.yaml"
        args = read_config(config)
        stats = (args.get("normalize_conf") or {}).get("stats_file")
        return cls(
            exp_dir=exp_dir,
            config=config,
            checkpoint=find_checkpoint(exp_dir),
            token_list=list(args["token_list"]),
            stats_file=Path(stats) if stats else None,
        )


# ---------------------------------------------------------------- Kaldi files


def read_kaldi_map(path: Path, allow_empty: bool = False) -> Dict[str, str]:
    """`utt value` lines as a dict; errors name the file and line."""
    table: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            key, _, value = line.strip().partition(" ")
            value = value.strip()
            if not value and not allow_empty:
                raise DataListError(
                    f"{path}:{lineno}: utterance '{key}' has no value; remove the line or fill it"
                )
            if key in table:
                raise DataListError(
                    f"{path}:{lineno}: utterance '{key}' appears twice; keep one line "
                    "(utils/fix_data_dir.sh)"
                )
            table[key] = value
    return table


def _line_of(path: Path, key: str) -> int:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.split(maxsplit=1)[:1] == [key]:
                return lineno
    return 0


def _write_map(path: Path, table: Mapping[str, object]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for key in sorted(table):
            f.write(f"{key} {table[key]}\n")


# ---------------------------------------------------------------- training lists


def write_train_lists(
    data_dir: PathLike,
    out_dir: PathLike,
    text: Optional[PathLike] = None,
    with_sids: bool = False,
    spk2sid: Optional[Union[PathLike, Mapping[str, int]]] = None,
    extra_files: Sequence[str] = ("durations",),
) -> Path:
    """Write ESPnet-ready lists (wav.scp, text[, utt2spk, utt2sid, spk2sid]) into `out_dir`.

    `text` is the (tokenized) text file to train on; default `data_dir/text`. With
    `with_sids`, speaker ids come from `data_dir/utt2spk`: `spk2sid` (a map or a file, e.g. the
    training set's, for a valid set) or, if not given, a new map with `<unk>` = 0 and this
    dir's speakers numbered 1..N in sorted order. Files in `extra_files` present in the data
    dir (e.g. teacher `durations`) are copied for the utterances kept.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    text_path = Path(text) if text is not None else data_dir / "text"
    wav = _load_wav_scp(data_dir)
    texts = _load_paired_text(text_path, wav, data_dir)
    tables: Dict[str, Mapping[str, object]] = {
        "wav.scp": {u: wav[u] for u in texts},
        "text": texts,
    }
    if with_sids:
        tables.update(_speaker_tables(data_dir, texts, spk2sid))
    for name in extra_files:
        if (data_dir / name).is_file():
            tables[name] = _subset(read_kaldi_map(data_dir / name), texts, data_dir / name)
    _write_dir_atomically(out_dir, tables)
    logger.info("wrote %d utterances of %s to %s", len(texts), data_dir, out_dir)
    return out_dir


def _load_wav_scp(data_dir: Path) -> Dict[str, str]:
    if (data_dir / "segments").is_file():
        raise DataListError(
            f"{data_dir}/segments: ESPnet training lists need one audio file per utterance; "
            "run the audio formatting stage (stage 2) first, which cuts the segments"
        )
    if not (data_dir / "wav.scp").is_file():
        raise DataListError(f"{data_dir}/wav.scp: missing; a training data dir needs audio")
    return read_kaldi_map(data_dir / "wav.scp")


def _load_paired_text(text_path: Path, wav: Mapping[str, str], data_dir: Path) -> Dict[str, str]:
    if not text_path.is_file():
        raise DataListError(f"{text_path}: missing; a training data dir needs transcripts")
    texts = read_kaldi_map(text_path)
    for utt in texts:
        if utt not in wav:
            raise DataListError(
                f"{text_path}:{_line_of(text_path, utt)}: utterance '{utt}' has no audio in "
                f"{data_dir}/wav.scp; add it or run utils/fix_data_dir.sh"
            )
    missing = sorted(set(wav) - set(texts))
    if missing:
        raise DataListError(
            f"{data_dir}/wav.scp:{_line_of(data_dir / 'wav.scp', missing[0])}: utterance "
            f"'{missing[0]}' ({len(missing)} in all) has no transcript in {text_path}; add it "
            "or run utils/fix_data_dir.sh"
        )
    if not texts:
        raise DataListError(f"{text_path}: no utterances; nothing to train on")
    return texts


def write_lists(
    out_dir: PathLike,
    wav_scp: Mapping[str, str],
    text: Mapping[str, str],
    utt2spk: Optional[Mapping[str, str]] = None,
    spk2sid: Optional[Union[PathLike, Mapping]] = None,
    extra: Optional[Mapping[str, Mapping[str, object]]] = None,
) -> Path:
    """`write_train_lists` from tables in memory: the lists of the utterances of `text`.

    With `utt2spk`, speaker ids as `with_sids` gives them; `extra` tables (e.g. `durations`)
    are written for the same utterances. A step that built its data in memory writes only the
    files ESPnet reads, not a data dir to read back.
    """
    out_dir = Path(out_dir)
    if not text:
        raise DataListError(f"{out_dir}: no utterances; nothing to train on")
    tables: Dict[str, Mapping[str, object]] = {
        "wav.scp": _subset(wav_scp, text, out_dir / "wav.scp"),
        "text": dict(text),
    }
    if utt2spk is not None:
        tables.update(_sid_tables(_subset(utt2spk, text, out_dir / "utt2spk"), spk2sid,
                                  out_dir / "utt2spk"))
    for name, table in (extra or {}).items():
        tables[name] = _subset(table, text, out_dir / name)
    _write_dir_atomically(out_dir, tables)
    logger.info("wrote %d utterances to %s", len(text), out_dir)
    return out_dir


def _speaker_tables(
    data_dir: Path, texts: Mapping[str, str], spk2sid: Optional[Union[PathLike, Mapping]]
) -> Dict[str, Mapping[str, object]]:
    utt2spk_path = data_dir / "utt2spk"
    if not utt2spk_path.is_file():
        raise DataListError(f"{utt2spk_path}: missing; speaker ids (with_sids) need utt2spk")
    utt2spk = _subset(read_kaldi_map(utt2spk_path), texts, utt2spk_path)
    return _sid_tables(utt2spk, spk2sid, utt2spk_path)


def _sid_tables(
    utt2spk: Mapping[str, str], spk2sid: Optional[Union[PathLike, Mapping]], where: Path
) -> Dict[str, Mapping[str, object]]:
    sids = _speaker_ids(utt2spk, spk2sid)
    unknown = sorted({s for s in utt2spk.values() if s not in sids})
    if unknown:
        logger.warning("%s: speakers %s are not in spk2sid; they get sid 0 (%s)",
                       where, ", ".join(unknown[:5]), UNK_SPEAKER)
    utt2sid = {u: sids.get(s, 0) for u, s in utt2spk.items()}
    return {"utt2spk": dict(utt2spk), "utt2sid": utt2sid, "spk2sid": sids}


def _speaker_ids(
    utt2spk: Mapping[str, str], spk2sid: Optional[Union[PathLike, Mapping]]
) -> Dict[str, int]:
    if spk2sid is None:
        speakers = sorted(set(utt2spk.values()) - {UNK_SPEAKER})
        return {UNK_SPEAKER: 0, **{s: i for i, s in enumerate(speakers, 1)}}
    if isinstance(spk2sid, Mapping):
        return {str(k): int(v) for k, v in spk2sid.items()}
    return read_spk2sid(Path(spk2sid))


def read_spk2sid(path: Path) -> Dict[str, int]:
    """`speaker sid` lines; errors name the file and line."""
    table = {}
    for spk, value in read_kaldi_map(path).items():
        if not value.isdigit():
            raise DataListError(
                f"{path}:{_line_of(path, spk)}: speaker '{spk}' has sid '{value}'; "
                "sids are integers >= 0"
            )
        table[spk] = int(value)
    return table


def _subset(table: Mapping[str, str], utts: Mapping[str, str], path: Path) -> Dict[str, str]:
    missing = [u for u in utts if u not in table]
    if missing:
        raise DataListError(
            f"{path}: utterance '{missing[0]}' ({len(missing)} in all) is missing; add it "
            "or run utils/fix_data_dir.sh"
        )
    return {u: table[u] for u in utts}


LIST_FILES = ("wav.scp", "text", "utt2spk", "utt2sid", "spk2sid", "durations", FEATS)


def _write_dir_atomically(out_dir: Path, tables: Mapping[str, Mapping[str, object]]) -> None:
    with atomic_dir(out_dir, replace=LIST_FILES + tuple(tables)) as tmp:
        for name, table in tables.items():
            _write_map(tmp / name, table)


# ---------------------------------------------------------------- token lists


def char_counts(text_file: Path) -> Counter:
    """Character counts of a plain text file as ESPnet's char tokenizer sees it (<space>)."""
    counts: Counter = Counter()
    for value in read_kaldi_map(text_file).values():
        counts.update(tl.SPACE if c == " " else c for c in value)
    return counts


def write_token_list(
    text_file: PathLike, out: PathLike, token_type: str = "word", extra: Sequence[str] = ()
) -> Path:
    """ESPnet token list of a text file: <blank>, <unk>, tokens by count, <sos/eos>.

    `word`/`phn`: the text is pre-tokenized (lrspeech.text's format), tokens split on
    whitespace; `char`: plain text, one token per character. BPE lists come from lrspeech.text.
    """
    text_file, out = Path(text_file), Path(out)
    if token_type == "char":
        counts = char_counts(text_file)
    elif token_type in ("word", "phn"):
        counts = tl.count_tokens([text_file])
    else:
        raise ConfigError(
            f"token_type {token_type!r}: build the list with lrspeech.bin.make_token_list "
            "(bpe) or use 'word' (pre-tokenized text) or 'char'"
        )
    tl.write_token_list(tl.build_token_list(counts, extra=extra), out)
    return out


def read_token_list(path: PathLike) -> List[str]:
    """An ESPnet token list file, checked (lrspeech.text.token_list)."""
    return tl.read_token_list(path)


# ---------------------------------------------------------------- ESPnet arguments


def data_args(
    task: str,
    train_dir: Path,
    valid_dir: Path,
    token_list: Path,
    token_type: str,
    bpemodel: Optional[Path] = None,
) -> List[str]:
    """Data, tokenizer and speaker arguments shared by collect_stats and training."""
    if token_type not in TOKEN_TYPES:
        raise ConfigError(f"token_type {token_type!r}: use one of {', '.join(TOKEN_TYPES)}")
    if token_type == "bpe" and bpemodel is None:
        raise ConfigError("token_type bpe needs the sentencepiece model (bpemodel=...)")
    args = [
        "--use_preprocessor", "true",
        "--token_type", token_type,
        "--token_list", str(token_list),
        "--bpemodel", str(bpemodel) if bpemodel else "none",
        "--cleaner", "none",
        "--g2p", "none",
    ]
    for split, folder in (("train", Path(train_dir)), ("valid", Path(valid_dir))):
        for entry in _data_entries(task, folder):
            args += [f"--{split}_data_path_and_name_and_type", entry]
    n_speakers = _speaker_count(task, Path(train_dir))
    if n_speakers:
        args += ["--tts_conf", f"spks={n_speakers}"]
    return args


def _data_entries(task: str, folder: Path) -> List[str]:
    for name in ("wav.scp", "text"):
        if not (folder / name).is_file():
            raise DataListError(
                f"{folder}/{name}: missing; write the lists with write_train_lists()"
            )
    speech, text = f"{folder}/wav.scp,speech,sound", f"{folder}/text,text,text"
    if (folder / FEATS).is_file():  # cached encoder features instead of audio (ASR heads)
        speech = f"{folder}/{FEATS},speech,kaldi_ark"
    if task == "asr":
        return [speech, text]
    entries = [text, speech]
    if (folder / "utt2sid").is_file():
        entries.append(f"{folder}/utt2sid,sids,text_int")
    if (folder / "durations").is_file():
        entries.append(f"{folder}/durations,durations,text_int")
    return entries


def _speaker_count(task: str, train_dir: Path) -> int:
    if task != "tts" or not (train_dir / "spk2sid").is_file():
        return 0
    return max(read_spk2sid(train_dir / "spk2sid").values()) + 1


# ---------------------------------------------------------------- collect_stats and train


def collect_stats(
    task: str,
    config: PathLike,
    train_dir: PathLike,
    valid_dir: PathLike,
    stats_dir: PathLike,
    token_list: PathLike,
    token_type: str = "word",
    bpemodel: Optional[PathLike] = None,
    extra_args: Sequence[str] = (),
    log_file: Optional[PathLike] = None,
) -> Path:
    """Run ESPnet's collect_stats (shapes, feature mean/var) into `stats_dir`; return it.

    Adds `text_shape.<token_type>` (text length, vocabulary size), which training uses as in
    ESPnet's recipes.
    """
    stats_dir = Path(stats_dir)
    if (stats_dir / "train" / "feats_stats.npz").is_file():
        logger.info("%s exists; collect_stats skipped", stats_dir)
        return stats_dir
    with atomic_dir(stats_dir, replace=("train", "valid")) as tmp:
        _collect_stats_into(tmp, task, Path(config), Path(train_dir), Path(valid_dir),
                            Path(token_list), token_type, bpemodel, extra_args, log_file)
    return stats_dir


def _collect_stats_into(
    tmp: Path,
    task: str,
    config: Path,
    train_dir: Path,
    valid_dir: Path,
    token_list: Path,
    token_type: str,
    bpemodel: Optional[PathLike],
    extra_args: Sequence[str],
    log_file: Optional[PathLike],
) -> None:
    argv = [
        "--collect_stats", "true",
        "--config", str(config),
        *data_args(task, train_dir, valid_dir, token_list, token_type,
                   Path(bpemodel) if bpemodel else None),
        "--train_shape_file", str(train_dir / "wav.scp"),
        "--valid_shape_file", str(valid_dir / "wav.scp"),
        "--output_dir", str(tmp),
        *_no_normalize_args(task, read_config(config)),
        *extra_args,
    ]
    run_task(task, argv, Path(log_file) if log_file else None)
    vocab = len(read_token_list(token_list))
    for split in ("train", "valid"):
        _append_vocab(tmp / split / "text_shape", tmp / split / f"text_shape.{token_type}", vocab)


def _no_normalize_args(task: str, config: Mapping) -> List[str]:
    """Stats are collected on raw features: global_mvn cannot be built before they exist."""
    keys = ("normalize",) if task == "asr" else ("normalize", "pitch_normalize", "energy_normalize")
    argv = []
    for key in keys:
        if config.get(key) is not None:
            argv += [f"--{key}", "none"]
    return argv


def _append_vocab(src: Path, dst: Path, vocab: int) -> None:
    lines = src.read_text(encoding="utf-8").splitlines()
    dst.write_text("".join(f"{line},{vocab}\n" for line in lines if line), encoding="utf-8")


def train_args(
    task: str,
    config: Path,
    train_dir: Path,
    valid_dir: Path,
    stats_dir: Path,
    exp_dir: Path,
    token_list: Path,
    token_type: str,
    bpemodel: Optional[Path] = None,
) -> List[str]:
    """ESPnet training arguments; shape files and fold lengths in the same (sort-key) order."""
    order = ("speech", "text") if task == "asr" else ("text", "speech")
    shape_name = {"speech": "speech_shape", "text": f"text_shape.{token_type}"}
    argv = ["--config", str(config), "--output_dir", str(exp_dir), "--resume", "true"]
    argv += data_args(task, train_dir, valid_dir, token_list, token_type, bpemodel)
    for key in order:
        argv += ["--train_shape_file", str(stats_dir / "train" / shape_name[key])]
        argv += ["--valid_shape_file", str(stats_dir / "valid" / shape_name[key])]
    for key in order:
        fold = FOLD[task][key]
        if key == "speech" and (train_dir / FEATS).is_file():
            fold = FEATS_FOLD
        argv += ["--fold_length", str(fold)]
    argv += _normalize_args(read_config(config), stats_dir)
    return argv


def _normalize_args(config: Mapping, stats_dir: Path) -> List[str]:
    """--*normalize_conf stats_file=... for each global_mvn the config uses."""
    argv = []
    for key, stats in (("normalize", "feats"), ("pitch_normalize", "pitch"),
                       ("energy_normalize", "energy")):
        if config.get(key) == "global_mvn":
            path = stats_dir / "train" / f"{stats}_stats.npz"
            if not path.is_file():
                raise DataListError(f"{path}: missing; run collect_stats with this config first")
            argv += [f"--{key}_conf", f"stats_file={path}"]
    return argv


def train(
    task: str,
    config: PathLike,
    train_dir: PathLike,
    valid_dir: PathLike,
    stats_dir: PathLike,
    exp_dir: PathLike,
    token_list: PathLike,
    token_type: str = "word",
    bpemodel: Optional[PathLike] = None,
    extra_args: Sequence[str] = (),
    log_file: Optional[PathLike] = None,
) -> Path:
    """Train an ESPnet model into `exp_dir`; return it.

    Skipped when `exp_dir/.done` records the same arguments. Otherwise ESPnet runs with
    `--resume true`: an interrupted run continues, and a finished one continues to a larger
    `--max_epoch`.
    """
    exp_dir = Path(exp_dir)
    argv = train_argv(task, config, train_dir, valid_dir, stats_dir, exp_dir, token_list,
                      token_type, bpemodel, extra_args)
    if training_done(exp_dir, argv):
        logger.info("%s is complete; training skipped", exp_dir)
        return exp_dir
    return run_training(task, argv, exp_dir, log_file=log_file)


def train_argv(
    task: str,
    config: PathLike,
    train_dir: PathLike,
    valid_dir: PathLike,
    stats_dir: PathLike,
    exp_dir: PathLike,
    token_list: PathLike,
    token_type: str = "word",
    bpemodel: Optional[PathLike] = None,
    extra_args: Sequence[str] = (),
) -> List[str]:
    """The whole ESPnet training command line of `train` (train_args + extra_args)."""
    argv = train_args(task, Path(config), Path(train_dir), Path(valid_dir), Path(stats_dir),
                      Path(exp_dir), Path(token_list), token_type,
                      Path(bpemodel) if bpemodel else None)
    return argv + [str(a) for a in extra_args]


def training_done(exp_dir: PathLike, argv: Sequence[str]) -> bool:
    """True when `exp_dir` holds a finished training with exactly these arguments."""
    return _done_argv(Path(exp_dir)) == list(argv)


def run_training(task: str, argv: Sequence[str], exp_dir: PathLike, primary: bool = True,
                 log_file: Optional[PathLike] = None) -> Path:
    """Run ESPnet's training with `argv` (from train_argv) and mark `exp_dir` done.

    `primary=False` is for the other ranks of a distributed run: they train, and rank 0 alone
    checks the checkpoint and writes the marker (only rank 0 saves checkpoints).
    """
    exp_dir = Path(exp_dir)
    if primary:
        (exp_dir / DONE).unlink(missing_ok=True)
    run_task(task, argv, Path(log_file) if log_file else None)
    if primary:
        find_checkpoint(exp_dir)
        atomic_write_text(exp_dir / DONE, yaml.safe_dump({"argv": list(argv)}))
    return exp_dir


def _done_argv(exp_dir: Path) -> Optional[List[str]]:
    marker = exp_dir / DONE
    if not marker.is_file():
        return None
    return (yaml.safe_load(marker.read_text(encoding="utf-8")) or {}).get("argv")


def find_checkpoint(exp_dir: PathLike) -> Path:
    """The model to use from an exp dir: valid.loss.ave (ESPnet's average of the
    keep_nbest_models best epochs; the best itself when that is 1), valid.loss.best, another
    *.best, or the last epoch."""
    exp_dir = Path(exp_dir)
    candidates = [exp_dir / "valid.loss.ave.pth", exp_dir / "valid.loss.best.pth",
                  *sorted(exp_dir.glob("*.best.pth"))]
    candidates += sorted(exp_dir.glob("*epoch.pth"), key=lambda p: int(p.name.split("epoch")[0]),
                         reverse=True)
    for path in candidates:
        if path.exists():
            return path.resolve()
    raise ConfigError(f"{exp_dir}: no checkpoint (*.best.pth or <N>epoch.pth); train first")
