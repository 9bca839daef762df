"""One recipe training step: data dirs in, a trained and packed model dir out.

Usage: python -m lrspeech.bin.train_model --task asr --config conf/asr/transformer_tiny.yaml \
    --train dump/raw/paired_hq --valid dump/raw/dev --lang_config conf/lang.yaml \
    --token_list dump/token/asr_tokens.txt --out_dir exp/finetune/asr --epochs 20

What the step does, in order (each sub-step is skipped when its output is complete):
1. combine the training data dirs into `out_dir/data/train` (valid into `out_dir/data/valid`);
2. write the text the model trains on: ASR targets are `normalize_for_scoring` text
   (lower case, no punctuation, numbers as words) tokenized by ESPnet's own `char`/`bpe`, so
   Speech2Text prints plain text; TTS inputs are lrspeech's pre-tokenized phonemes/characters
   (`--token_type word`), with speaker ids from a fixed `spk2sid`;
3. for duration-based TTS (FastSpeech/FastSpeech2) get per-token durations (and token-averaged
   pitch/energy) by CTC forced alignment with `align_asr` (lrspeech.pipeline.durations),
   leaving badly aligned utterances out;
4. for an ASR whose config reads audio through the `whisper_ct2` frontend (a CTC head on a frozen
   speech encoder), the encoder features of every source data dir, computed once and cached
   next to it (lrspeech.pipeline.encoder_features); the head trains on them (`--input_size`);
5. collect_stats and train through ESPnet (`--init_param` from `init` when given);
6. pack the result into `out_dir/model` (a packed model dir, docs/CONTRACTS.md); a head on
   cached features is packed with the `whisper_ct2` frontend, so it runs on raw audio.
"""

import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from lrspeech.data.atomic import atomic_write_text
from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import read_mapping, write_mapping
from lrspeech.data.ops import combine, restrict
from lrspeech.data.skips import SKIPPED_JSON, Skips
from lrspeech.errors import InputError
from lrspeech.models import espnet_train
from lrspeech.models.packing import pack_model
from lrspeech.models.speakers import read_spk2sid
from lrspeech.models.tasks import TrainingFailedError, read_config
from lrspeech.models.train_lists import FEATS, write_train_lists
from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig
from lrspeech.text.textfile import tokenize_text_file
from lrspeech.text.token_list import read_token_list
from lrspeech.text.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

DURATION_MODELS = ("fastspeech", "fastspeech2")
WHISPER = "whisper_ct2"  # lrspeech.models.whisper_frontend's name in ESPnet's frontend_choices
DEFAULT_ENCODER = "whisper-base"


@dataclass
class TrainStep:
    """Inputs of one training step (the CLI's arguments)."""

    task: str
    config: Path
    train_dirs: Sequence[Path]
    valid_dir: Path
    lang_config: Path
    token_list: Path
    out_dir: Path
    epochs: int
    token_type: str = "char"  # asr: char | bpe; tts: phn | char
    bpemodel: Optional[Path] = None
    init: Optional[Path] = None  # a .pth, an exp dir or a packed model dir
    spk2sid: Optional[Path] = None  # tts: fixed speaker ids across the recipe
    target_speaker: Optional[str] = None  # tts: recorded in meta.json
    align_asr: Optional[Path] = None  # tts with durations: packed ASR dir to align with
    align_min_score: str = "auto"
    seed: int = 1
    extra_args: List[str] = field(default_factory=list)
    encoder_spec: Optional[str] = None  # asr: overrides the config's frontend_conf.speech_encoder

    @property
    def is_duration_tts(self) -> bool:
        return self.task == "tts" and read_config(self.config).get("tts") in DURATION_MODELS

    @property
    def speech_encoder(self) -> Optional[Dict[str, Any]]:
        """frontend_conf of an ASR on the `whisper_ct2` frontend (trains on cached features)."""
        config = read_config(self.config)
        if self.task != "asr" or config.get("frontend") != WHISPER:
            if self.encoder_spec not in (None, "none"):
                raise InputError(f"--speech_encoder {self.encoder_spec}: {self.config} does not "
                                 f"read audio through the {WHISPER} frontend; give an encoder "
                                 "head config such as conf/asr/whisper_ctc_tiny.yaml")
            return None
        conf = dict(config.get("frontend_conf") or {})
        conf.setdefault("speech_encoder", DEFAULT_ENCODER)
        if self.encoder_spec is not None:
            conf["speech_encoder"] = self.encoder_spec
        return conf


def init_checkpoint(init: Path) -> Path:
    """The .pth file behind `init`: itself, a packed dir's model.pth, or an exp dir's best."""
    init = Path(init)
    if init.is_file():
        return init
    if (init / "model.pth").is_file():
        return init / "model.pth"
    if init.is_dir():
        return espnet_train.find_checkpoint(init)
    raise FileNotFoundError(
        f"{init}: no checkpoint there; give a .pth, an exp dir or a packed model dir"
    )


def combined_dir(dirs: Sequence[Path], out: Path) -> Path:
    """Combine data dirs into `out` (a single dir is copied); done once per step."""
    if not (out / "text").is_file():
        combine([DataDir.load(d) for d in dirs]).save(out)
    return out


def asr_text(dd: DataDir, cfg: LangConfig, out: Path) -> Path:
    """ASR targets: the scoring normalization of every transcript, one `utt text` line each."""
    data_dir = dd.name
    normalized = {}
    for utt in sorted(dd.text):
        norm = normalize_for_scoring(dd.text[utt], cfg)
        if not norm:
            raise InputError(
                f"{data_dir}/text: utterance '{utt}' is empty after normalization "
                f"({dd.text[utt]!r}); fix or drop it (utils/fix_data_dir.sh)"
            )
        normalized[utt] = norm
    write_mapping(out, normalized)
    return out


def asr_units(text_file: Path, out: Path) -> Path:
    """The ASR's char units of normalized text, pre-tokenized (for CTC alignment)."""
    units = {utt: " <space> ".join(" ".join(w) for w in text.split())
             for utt, text in read_mapping(text_file, "utterance").items()}
    write_mapping(out, units)
    return out


def tts_text(data_dir: Path, cfg: LangConfig, token_type: str, token_list: Path, out: Path) -> Path:
    """TTS inputs: lrspeech's tokens (phonemes or characters) with <space> word breaks."""
    if not out.is_file():
        tok = Tokenizer(
            cfg, token_type=token_type, token_list=read_token_list(token_list)
        )
        tokenize_text_file(tok, data_dir / "text", out)
    return out


@lru_cache(maxsize=1)
def _aligner(asr_model: Path) -> Any:
    """The CTC aligner of a packed ASR, loaded once per step (train and valid share it)."""
    from lrspeech.pipeline.align import CtcAligner

    return CtcAligner.from_model(asr_model)


def _ctc_align(step: TrainStep, split: str, data_dir: Path, tokens: Path, lists: Path) -> None:
    """FastSpeech2 lists (durations, pitch, energy) by CTC forced alignment with `align_asr`."""
    if (lists / "durations").is_file():
        return
    from lrspeech.pipeline.durations import (
        Transcripts,
        TtsFrames,
        align_data_dir,
        prepare_fastspeech2_inputs,
        read_token_file,
    )

    work = step.out_dir / "align" / split
    dd = DataDir.load(data_dir)
    norm = asr_text(dd, LangConfig.load(step.lang_config), work.parent / f"{split}.asr_norm")
    units = asr_units(norm, work.parent / f"{split}.asr_units")
    transcripts = Transcripts(text=dd.text, asr=read_token_file(units), tts=read_token_file(tokens))
    frames = TtsFrames.from_tts_config(step.config)
    report = align_data_dir(_aligner(step.align_asr), data_dir, work, frames, transcripts)
    logger.info("%s: CTC alignment %s", data_dir, report.summary())
    min_score = None if step.align_min_score == "none" else step.align_min_score
    prep = prepare_fastspeech2_inputs(
        data_dir, work, lists, min_score, True, step.spk2sid, step.config
    )
    logger.info("%s: FastSpeech2 inputs %s", data_dir, prep.summary())


def usable_for_asr(step: TrainStep, split: str, data_dir: Path) -> Path:
    """`data_dir`, or a copy without the clips the config's encoder cannot take.

    Synthetic and pseudo-labelled speech can hold empty or too-short clips; ESPnet's encoder
    raises on a batch made of them. They are left out, counted in
    out_dir/short_clips/<split>/skipped.json and logged once.
    """
    from lrspeech.data.audio import audio_info
    from lrspeech.models.input_limits import measure_config_limit

    limit = measure_config_limit(read_config(step.config))
    dd = DataDir.load(data_dir)
    skips = Skips()
    for utt in dd.audio_utt_ids:
        info = audio_info(dd.audio_of(utt)[0])
        n = info.frames * limit.sample_rate // info.sample_rate
        reason = limit.reason(n)
        if reason is not None:
            skips.add(utt, reason, limit.describe(n))
    skips.write(step.out_dir / "short_clips" / split / SKIPPED_JSON)
    if not skips:
        return data_dir
    skips.log(f"ASR training data {data_dir}")
    usable = step.out_dir / "data" / f"{split}_usable"
    restrict(dd, [u for u in dd.audio_utt_ids if u not in skips]).save(usable)
    return usable


def at_model_rate(step: TrainStep, split: str, data_dir: Path) -> Path:
    """`data_dir`, or a copy of it resampled to the rate the config's features read.

    ESPnet reads audio at whatever rate the file has; a TTS on the HiFi-GAN vocoder's 22,050-Hz
    features (conf/tts/fastspeech2_hifigan.yaml) trains on the recipe's 16-kHz dirs, and a
    log-mel ASR on a 22,050-Hz TTS's synthetic speech. The copy (out_dir/data/<split>_<fs>hz,
    segments cut out, written whole or not at all) is made once per step.
    """
    from lrspeech.data.audio import audio_info
    from lrspeech.models.packing import sample_rate_of
    from lrspeech.pipeline.format_audio import FormatOptions, format_data_dir

    fs = sample_rate_of(read_config(step.config))
    dd = DataDir.load(data_dir)
    rates = {audio_info(dd.audio_of(u)[0]).sample_rate for u in dd.audio_utt_ids}
    if rates <= {fs}:
        return data_dir
    out = step.out_dir / "data" / f"{split}_{fs}hz"
    if not (out / "wav.scp").is_file():
        logger.info("%s: audio at %s Hz, the config's features read %d Hz; resampling into %s",
                    data_dir, "/".join(map(str, sorted(rates))), fs, out)
        format_data_dir(data_dir, out, FormatOptions(fs=fs, trim_db=None, min_dur=0.0,
                                                     max_dur=float("inf")))
    return out


def write_lists(step: TrainStep, split: str, data_dir: Path) -> Path:
    """ESPnet lists of one split under out_dir/dump/<split>."""
    lists = step.out_dir / "dump" / split
    cfg = LangConfig.load(step.lang_config)
    work = step.out_dir / "text"
    if step.task == "tts" or step.speech_encoder is None:
        data_dir = at_model_rate(step, split, data_dir)
    if step.task == "asr":
        data_dir = usable_for_asr(step, split, data_dir)
        text = asr_text(DataDir.load(data_dir), cfg, work / f"{split}.asr")
        return write_train_lists(data_dir, lists, text=text)
    tokens = tts_text(data_dir, cfg, step.token_type, step.token_list, work / f"{split}.tok")
    if step.is_duration_tts:
        _ctc_align(step, split, data_dir, tokens, lists)
        return lists
    return write_train_lists(
        data_dir, lists, text=tokens, with_sids=True, spk2sid=step.spk2sid
    )


def add_encoder_feats(step: TrainStep, lists: Path, sources: Sequence[Path]) -> int:
    """`lists/feats.scp`: the cached encoder features of the lists' utterances, gathered from
    each source data dir's cache (computed there once); returns the feature size."""
    from lrspeech.pipeline.encoder_features import extract_features, read_scp

    encoder = _encoder(step)
    entries: Dict[str, str] = {}
    for src in sources:
        entries.update(read_scp(extract_features(src, encoder).out_dir))
    utts = read_mapping(lists / "wav.scp", "utterance")
    missing = sorted(set(utts) - set(entries))
    if missing:
        raise InputError(f"{lists}/wav.scp: utterance '{missing[0]}' ({len(missing)} in all) has "
                         f"no encoder features in the caches of {', '.join(map(str, sources))}; "
                         "rerun the step (the caches are rebuilt when their audio changed)")
    write_mapping(lists / FEATS, {u: entries[u] for u in utts})
    return encoder.dim


def _encoder(step: TrainStep) -> Any:
    """The step's speech encoder, loaded once (features of both splits, then packing)."""
    conf = step.speech_encoder or {}
    return _load_encoder(str(conf["speech_encoder"]), float(conf.get("bucket_s", 1.0)))


@lru_cache(maxsize=1)
def _load_encoder(spec: str, bucket_s: float) -> Any:
    from lrspeech.models.speech_encoder import SpeechEncoder

    return SpeechEncoder.load(spec, bucket_s=bucket_s)


def espnet_token_type(step: TrainStep) -> str:
    return step.token_type if step.task == "asr" else "word"


def run_step(step: TrainStep) -> Path:
    """Run the whole step; return the packed model dir `out_dir/model`.

    Under a distributed launcher (see `launch_rank`), rank 0 prepares the data and statistics,
    then publishes ESPnet's training command in `out_dir/.prepared`; the other ranks wait for it
    and join the same training (ESPnet's DDP), and rank 0 packs the model.
    """
    packed = step.out_dir / "model"
    if (packed / "meta.json").is_file():
        logger.info("%s is complete; skipped", packed)
        return packed
    rank, world = launch_rank(step.extra_args)
    if rank > 0:
        return _follow_rank0(step, rank)
    ready = step.out_dir / PREPARED
    ready.unlink(missing_ok=True)
    try:
        argv, exp = _prepare(step)
    except Exception as err:
        if world > 1:  # the other ranks stop waiting and name the cause
            _publish(ready, {"error": f"{type(err).__name__}: {err}"})
        raise
    todo = not espnet_train.training_done(exp, argv)
    if world > 1:  # without this rank's own options (e.g. --dist_rank): each rank adds its own
        common = argv[: len(argv) - len(step.extra_args)]
        _publish(ready, {"argv": common, "train": todo, "world_size": world})
    if todo:
        espnet_train.run_training(step.task, argv, exp)
    else:
        logger.info("%s is complete; training skipped", exp)
    meta = _meta(step, step.out_dir / "dump" / "train")
    pack_model(exp, None, packed, lang_config=step.lang_config, meta=meta,
               config_updates=_frontend_for_audio(step, meta))
    return packed


def _frontend_for_audio(step: TrainStep, meta: Dict[str, object]) -> Optional[Dict[str, Any]]:
    """Config keys that let a head trained on cached features read raw audio; records the
    encoder in `meta` (name, SHA-256, feature size) so that loading checks it."""
    conf = step.speech_encoder
    if conf is None:
        return None
    encoder = _encoder(step)
    conf.update(sha256=encoder.resolved.sha256, dim=encoder.dim)
    meta["speech_encoder"] = {"name": encoder.name, "sha256": conf["sha256"], "dim": conf["dim"],
                              "source": encoder.resolved.source}
    return {"frontend": WHISPER, "frontend_conf": conf, "input_size": None}


def _prepare(step: TrainStep) -> Tuple[List[str], Path]:
    """Data lists and statistics of the step; ESPnet's training command line and exp dir."""
    train_dir = combined_dir(step.train_dirs, step.out_dir / "data" / "train")
    valid_dir = combined_dir([step.valid_dir], step.out_dir / "data" / "valid")
    lists = {s: write_lists(step, s, d) for s, d in (("train", train_dir), ("valid", valid_dir))}
    token_type = espnet_token_type(step)
    data_extra: List[str] = []
    if step.speech_encoder is not None:
        dims = {add_encoder_feats(step, lists["train"], step.train_dirs),
                add_encoder_feats(step, lists["valid"], [step.valid_dir])}
        data_extra += ["--input_size", str(dims.pop())]
    if step.is_duration_tts:
        from lrspeech.pipeline.durations import fastspeech2_data_args

        data_extra = fastspeech2_data_args(lists["train"], lists["valid"])
    # ESPnet runs in this process (its output goes to this step's log): one import, not three.
    # Statistics are collected by rank 0 alone, outside the distributed group.
    with single_process_env():
        stats = espnet_train.collect_stats(
            step.task,
            step.config,
            lists["train"],
            lists["valid"],
            step.out_dir / "stats",
            step.token_list,
            token_type,
            step.bpemodel,
            extra_args=data_extra,
        )
    # Attention plots cost ~40 s per epoch on a CPU; a user's own arguments come last and win.
    extra = [*data_extra, "--max_epoch", str(step.epochs), "--seed", str(step.seed),
             "--num_att_plot", "0"]
    if step.init is not None:
        extra += ["--init_param", str(init_checkpoint(step.init)), "--ignore_init_mismatch", "true"]
    extra += step.extra_args
    exp = step.out_dir / "exp"
    argv = espnet_train.train_argv(step.task, step.config, lists["train"], lists["valid"],
                                   stats, exp, step.token_list, token_type, step.bpemodel, extra)
    return argv, exp


# ---------------------------------------------------------------- distributed training

PREPARED = ".prepared"
# Environment variables that make ESPnet join a distributed group (torchrun, ESPnet's launcher).
DIST_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK")


def _option(args: Sequence[str], name: str) -> Optional[str]:
    """The value of `--name V` or `--name=V` in ESPnet arguments (the last one wins)."""
    value = None
    for i, a in enumerate(args):
        if a == f"--{name}" and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(f"--{name}="):
            value = a.split("=", 1)[1]
    return value


def launch_rank(espnet_args: Sequence[str]) -> Tuple[int, int]:
    """(rank, world size) of this process among the processes that run one training step.

    From ESPnet's own `--dist_rank/--dist_world_size`, else the RANK/WORLD_SIZE a launcher such
    as torchrun sets, else Slurm's task id and count with `--dist_launcher slurm`; (0, 1) for
    an ordinary single-process run.
    """
    rank, world = _option(espnet_args, "dist_rank"), _option(espnet_args, "dist_world_size")
    if world is None and "WORLD_SIZE" in os.environ:
        rank, world = os.environ.get("RANK", "0"), os.environ["WORLD_SIZE"]
    if world is None and _option(espnet_args, "dist_launcher") == "slurm":
        rank, world = os.environ.get("SLURM_PROCID", "0"), os.environ.get("SLURM_NTASKS", "1")
    if world is None:
        return 0, 1
    try:
        r, w = int(rank or 0), int(world)
    except ValueError as err:
        raise InputError(f"distributed rank {rank!r} / world size {world!r} are not integers; "
                         "check the launcher's RANK and WORLD_SIZE") from err
    if not 0 <= r < max(w, 1):
        raise InputError(f"distributed rank {r} is outside world size {w}; fix the launcher")
    return r, w


@contextmanager
def single_process_env() -> Iterator[None]:
    """Hide the launcher's rank variables, so that ESPnet runs this part on its own."""
    saved = {k: os.environ.pop(k) for k in DIST_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _publish(path: Path, content: Dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(content) + "\n")


def _follow_rank0(step: TrainStep, rank: int) -> Path:
    """Ranks > 0: wait for rank 0's command, then join the training; rank 0 packs the model."""
    ready = step.out_dir / PREPARED
    timeout = float(os.environ.get("LRSPEECH_DIST_WAIT", "7200"))
    t0 = time.monotonic()
    logger.info("rank %d: waiting for rank 0 to prepare %s", rank, step.out_dir)
    while not ready.is_file():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(
                f"rank {rank}: rank 0 did not prepare {step.out_dir} within {timeout:.0f} s "
                f"(no {ready}); see rank 0's log, or raise LRSPEECH_DIST_WAIT"
            )
        time.sleep(0.5)
    plan = json.loads(ready.read_text(encoding="utf-8"))
    if "error" in plan:
        raise TrainingFailedError(f"rank {rank}: rank 0 failed to prepare {step.out_dir}: "
                                  f"{plan['error']}; see rank 0's log")
    if plan["train"]:
        argv = [*plan["argv"], *step.extra_args]
        espnet_train.run_training(step.task, argv, step.out_dir / "exp", primary=False)
    return step.out_dir / "model"


def _meta(step: TrainStep, train_lists: Path) -> Dict[str, object]:
    meta: Dict[str, object] = {"task": step.task, "token_type": step.token_type}
    if step.init is not None:
        meta["init"] = str(step.init)  # where the weights started, as given
    if step.task == "tts" and (train_lists / "spk2sid").is_file():
        meta["speakers"] = read_spk2sid(train_lists / "spk2sid")
        meta["target_speaker"] = step.target_speaker
    return meta
