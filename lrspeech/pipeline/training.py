"""One recipe training step: data dirs in, a trained and packed model dir out.

Usage: python -m lrspeech.bin.train_model --task asr --config conf/asr/transformer_tiny.yaml \
    --train dump/raw/paired_hq --valid dump/raw/dev --lang_config conf/lang.yaml \
    --token_list dump/token/asr_tokens.txt --out_dir exp/finetune/asr --epochs 20

What the step does, in order:
1. prepare ESPnet's inputs, the data passing in memory: the training dirs are combined, their
   audio resampled where the config's features read another rate (out_dir/data: the audio
   ESPnet reads), and ESPnet's lists written to out_dir/dump/{train,valid}. ASR targets are
   the `normalize_for_scoring` text (lower case, no punctuation, numbers as words) tokenized
   by ESPnet's own `char`/`bpe`, so Speech2Text prints plain text; TTS inputs are lrspeech's
   pre-tokenized phonemes/characters (`--token_type word`), with speaker ids from a fixed
   `spk2sid`. A duration-based TTS (FastSpeech/FastSpeech2) trains on the utterances that
   the ctc_align step gave durations (`durations`: its output dir), with their pitch and
   energy (lrspeech.pipeline.fastspeech2_lists); an ASR on the `whisper_ct2` frontend (a CTC
   head on a frozen speech encoder) on the encoder features of every source data dir,
   computed once and cached next to it (lrspeech.pipeline.encoder_features);
2. collect_stats and train through ESPnet (`--init_param` from `init` when given);
3. pack the result into `out_dir/model` (a packed model dir, docs/CONTRACTS.md): the exp dir's
   model that `inference_model` names (as ESPnet's tts.sh --inference_model; default a TTS's
   latest.pth, an ASR's best on dev), recorded in meta.json; a head on cached features is
   packed with the `whisper_ct2` frontend, so it runs on raw audio.

Reruns: the recipe's step markers decide whether a step runs at all. A run that finds the data
prepared from the same inputs (out_dir/prepared.json: options and input file checksums)
resumes ESPnet's training from its last checkpoint (or only packs, when it had finished: a
changed `inference_model` repacks without training); otherwise the step's earlier outputs are
removed and it is done again whole.
"""

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import write_mapping
from lrspeech.data.ops import restrict
from lrspeech.data.skips import SKIPPED_JSON, Skips
from lrspeech.errors import InputError
from lrspeech.models import espnet_train
from lrspeech.models.packing import pack_model
from lrspeech.models.postfilter import GvStats, gv_of_data_dirs
from lrspeech.models.speakers import read_spk2sid
from lrspeech.models.tasks import read_config
from lrspeech.models.train_lists import FEATS, write_lists
from lrspeech.models.vocoder import WORLD_VOCODERS
from lrspeech.pipeline import distributed
from lrspeech.pipeline.align_step import read_record
from lrspeech.pipeline.train_data import asr_targets, load_combined, tts_tokens
from lrspeech.text.lang import LangConfig

logger = logging.getLogger(__name__)

DURATION_MODELS = ("fastspeech", "fastspeech2")
WHISPER = "whisper_ct2"  # lrspeech.models.whisper_frontend's name in ESPnet's frontend_choices
DEFAULT_ENCODER = "whisper-base"
PREPARED_JSON = "prepared.json"
# What a step writes into out_dir (and older versions wrote): removed before it is redone.
STEP_OUTPUTS = ("data", "dump", "stats", "exp", "model", "short_clips", "fastspeech2", "text",
                "align", distributed.PREPARED, PREPARED_JSON)


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
    durations: Optional[Path] = None  # tts with durations: the ctc_align step's output dir
    seed: int = 1
    extra_args: List[str] = field(default_factory=list)
    encoder_spec: Optional[str] = None  # asr: overrides the config's frontend_conf.speech_encoder
    # the exp dir's model to pack (None: the task's, espnet_train.INFERENCE_MODEL)
    inference_model: Optional[str] = None
    # tts: data dirs of the target speaker's real recordings; their global variance is packed
    # (gv.npz, lrspeech.models.postfilter). Packing only, like inference_model.
    gv_data: Optional[List[Path]] = None
    # tts: a WORLD source model file (lrspeech.bin.world_source) to pack as world.pt, which
    # `--vocoder auto` then uses, as world_vocoder says (world_gl or world; meta.json).
    # Packing only, like inference_model.
    world_source: Optional[Path] = None
    world_vocoder: str = "world_gl"

    @property
    def is_duration_tts(self) -> bool:
        return self.task == "tts" and read_config(self.config).get("tts") in DURATION_MODELS

    @property
    def checkpoint_rule(self) -> str:
        """The inference_model this step packs: its own, else the task's default."""
        return self.inference_model or espnet_train.INFERENCE_MODEL[self.task]

    @property
    def splits(self) -> Dict[str, List[Path]]:
        return {"train": [Path(d) for d in self.train_dirs], "valid": [Path(self.valid_dir)]}

    def check(self) -> None:
        """Refuse a duration-based TTS without durations, durations for any other model, and
        an inference_model that cannot name a model file."""
        espnet_train.check_inference_model(self.checkpoint_rule)
        if self.gv_data and self.task != "tts":
            raise InputError(f"--gv_data {' '.join(map(str, self.gv_data))}: the global "
                             "variance is a TTS's; drop it for an asr")
        if self.world_source is not None and self.task != "tts":
            raise InputError(f"--world_source {self.world_source}: a WORLD source model is a "
                             "TTS's vocoder; drop it for an asr")
        if self.world_vocoder not in WORLD_VOCODERS:
            raise InputError(f"--world_vocoder {self.world_vocoder!r}: use one of "
                             f"{', '.join(WORLD_VOCODERS)}")
        if self.is_duration_tts and self.durations is None:
            raise InputError(
                f"{self.config} trains on durations ({read_config(self.config)['tts']}); give "
                "--durations DIR, the output of lrspeech.bin.ctc_align on the same --train and "
                "--valid dirs"
            )
        if self.durations is not None and not self.is_duration_tts:
            raise InputError(
                f"--durations {self.durations}: {self.config} does not train on durations "
                f"(only a {'/'.join(DURATION_MODELS)} TTS does); drop --durations"
            )
        if self.durations is not None:
            self._check_durations(read_record(Path(self.durations)))

    def _check_durations(self, record: Dict[str, Any]) -> None:
        """The durations dir must have both splits and count this step's kind of tokens."""
        missing = [s for s in self.splits if s not in record.get("splits", {})]
        if missing:
            raise InputError(f"--durations {self.durations}: no {missing[0]} split; run "
                             "lrspeech.bin.ctc_align with the same --train and --valid dirs")
        if record.get("token_type") != self.token_type:
            raise InputError(
                f"--durations {self.durations}: the durations count "
                f"{record.get('token_type') or 'the ASR'}'s tokens, this TTS trains on "
                f"{self.token_type}; rerun lrspeech.bin.ctc_align with --token_type "
                f"{self.token_type}")
        for split, dirs in self.splits.items():
            aligned = record["splits"][split].get("data_dirs")
            if aligned != [str(d.resolve()) for d in dirs]:
                logger.warning("--durations %s: its %s split aligned %s, this step trains on "
                               "%s; utterances without durations are left out", self.durations,
                               split, aligned, [str(d) for d in dirs])

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
    """The .pth file behind `init`: itself, a packed dir's model.pth, or an exp dir's model
    (its task's default: espnet_train.find_checkpoint)."""
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


# ---------------------------------------------------------------- the data, in memory


def usable_for_asr(step: TrainStep, split: str, dd: DataDir) -> DataDir:
    """`dd` without the clips the config's encoder cannot take.

    Synthetic and pseudo-labelled speech can hold empty or too-short clips; ESPnet's encoder
    raises on a batch made of them. They are left out, counted in
    out_dir/short_clips/<split>/skipped.json and logged once.
    """
    from lrspeech.data.audio import audio_info
    from lrspeech.models.input_limits import measure_config_limit

    limit = measure_config_limit(read_config(step.config))
    skips = Skips()
    for utt in dd.audio_utt_ids:
        info = audio_info(dd.audio_of(utt)[0])
        n = info.frames * limit.sample_rate // info.sample_rate
        reason = limit.reason(n)
        if reason is not None:
            skips.add(utt, reason, limit.describe(n))
    skips.write(step.out_dir / "short_clips" / split / SKIPPED_JSON)
    if not skips:
        return dd
    skips.log(f"ASR training data {dd.name}")
    return restrict(dd, [u for u in dd.audio_utt_ids if u not in skips])


def at_model_rate(step: TrainStep, name: str, data_dir: Path) -> Path:
    """`data_dir`, or a copy of it resampled to the rate the config's features read.

    ESPnet reads audio at whatever rate the file has; a TTS on the HiFi-GAN vocoder's 22,050-Hz
    features (conf/tts/fastspeech2_hifigan.yaml) trains on the recipe's 16-kHz dirs, and a
    log-mel ASR on a 22,050-Hz TTS's synthetic speech. The copy (out_dir/data/<name>_<fs>hz,
    segments cut out, written whole or not at all) holds the audio ESPnet reads.
    """
    from lrspeech.data.audio import audio_info
    from lrspeech.models.packing import sample_rate_of
    from lrspeech.pipeline.format_audio import FormatOptions, format_data_dir

    fs = sample_rate_of(read_config(step.config))
    dd = DataDir.load(data_dir)
    rates = {audio_info(dd.audio_of(u)[0]).sample_rate for u in dd.audio_utt_ids}
    if rates <= {fs}:
        return data_dir
    out = step.out_dir / "data" / f"{name}_{fs}hz"
    logger.info("%s: audio at %s Hz, the config's features read %d Hz; resampling into %s",
                data_dir, "/".join(map(str, sorted(rates))), fs, out)
    format_data_dir(data_dir, out, FormatOptions(fs=fs, trim_db=None, min_dur=0.0,
                                                 max_dur=float("inf")))
    return out


def split_data(step: TrainStep, split: str) -> DataDir:
    """The split's dirs as one, in memory, with audio at the rate the model reads (an ASR
    head on cached encoder features reads the source dirs' own audio)."""
    dirs = step.splits[split]
    if step.task == "tts" or step.speech_encoder is None:
        dirs = [at_model_rate(step, split if len(dirs) == 1 else f"{split}_{i}", d)
                for i, d in enumerate(dirs)]
    dd = load_combined(dirs)
    if step.task == "tts" and not dd.utt2spk:
        raise InputError(f"{dd.name}/utt2spk: missing; a TTS's speaker ids need it")
    return dd


def texts_of(dd: DataDir, texts: Dict[str, Any], sources: Sequence[Path]) -> Dict[str, str]:
    """The text of every utterance of `dd` (tokens joined by spaces); one without raises."""
    missing = [u for u in dd.audio_utt_ids if u not in texts]
    if missing:
        raise InputError(
            f"{', '.join(map(str, sources))}: utterance '{missing[0]}' ({len(missing)} in all) "
            "has audio but no transcript in text; add it or run utils/fix_data_dir.sh"
        )
    utts = set(dd.audio_utt_ids)
    return {u: t if isinstance(t, str) else " ".join(t) for u, t in texts.items() if u in utts}


def write_split_lists(step: TrainStep, split: str, spk2sid: Any) -> Tuple[Path, DataDir]:
    """ESPnet lists of one split under out_dir/dump/<split>, and the data they list."""
    from lrspeech.pipeline.fastspeech2_lists import write_fastspeech2_lists

    lists, sources = step.out_dir / "dump" / split, step.splits[split]
    dd = split_data(step, split)
    cfg = LangConfig.load(step.lang_config)
    if step.task == "asr":
        dd = usable_for_asr(step, split, dd)
        write_lists(lists, dd.wav_scp, texts_of(dd, asr_targets(sources, cfg), sources))
    elif step.is_duration_tts:
        report = write_fastspeech2_lists(dd, Path(step.durations) / split, lists, spk2sid,
                                         tts_config=step.config)
        report.own_skips.write(step.out_dir / "fastspeech2" / split / SKIPPED_JSON)
        dd = restrict(dd, report.kept)
    else:
        tokens = tts_tokens(sources, cfg, step.token_type, step.token_list)
        write_lists(lists, dd.wav_scp, texts_of(dd, tokens, sources), dd.utt2spk, spk2sid)
    return lists, dd


def add_encoder_feats(step: TrainStep, lists: Path, utts: Iterable[str],
                      sources: Sequence[Path]) -> int:
    """`lists/feats.scp`: the cached encoder features of the lists' utterances, gathered from
    each source data dir's cache (computed there once); returns the feature size."""
    from lrspeech.pipeline.encoder_features import extract_features, read_scp

    encoder = _encoder(step)
    entries: Dict[str, str] = {}
    for src in sources:
        entries.update(read_scp(extract_features(src, encoder).out_dir))
    utts = sorted(utts)
    missing = [u for u in utts if u not in entries]
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


# ---------------------------------------------------------------- the step


def run_step(step: TrainStep) -> Path:
    """Run the whole step; return the packed model dir `out_dir/model`.

    Under a distributed launcher (lrspeech.pipeline.distributed), rank 0 prepares the data and
    statistics, then publishes ESPnet's training command; the other ranks wait for it and join
    the same training (ESPnet's DDP), and rank 0 packs the model.
    """
    step.check()
    rank, world = distributed.launch_rank(step.extra_args)
    if rank > 0:
        plan = distributed.wait_for_rank0(step.out_dir, rank)
        if plan["train"]:
            espnet_train.run_training(step.task, [*plan["argv"], *step.extra_args],
                                      step.out_dir / "exp", primary=False)
        return step.out_dir / "model"
    ready = step.out_dir / distributed.PREPARED
    ready.unlink(missing_ok=True)
    try:
        argv, exp = prepared(step)
    except Exception as err:
        if world > 1:  # the other ranks stop waiting and name the cause
            distributed.publish(ready, {"error": f"{type(err).__name__}: {err}"})
        raise
    todo = not espnet_train.training_done(exp, argv)
    if world > 1:
        distributed.publish(ready, {"argv": distributed.common_argv(argv, step.extra_args),
                                    "train": todo, "world_size": world})
    if todo:
        espnet_train.run_training(step.task, argv, exp)
    else:
        logger.info("%s is complete; training skipped", exp)
    meta = _meta(step, step.out_dir / "dump" / "train")
    checkpoint = espnet_train.find_checkpoint(exp, step.checkpoint_rule)
    meta["checkpoint"] = {"inference_model": step.checkpoint_rule, "file": checkpoint.name}
    return pack_model(exp, checkpoint, step.out_dir / "model", lang_config=step.lang_config,
                      meta=meta, config_updates=_frontend_for_audio(step, meta),
                      gv_stats=_gv_stats(step, exp) if step.gv_data else None,
                      world_source=step.world_source)


def _gv_stats(step: TrainStep, exp: Path) -> GvStats:
    """The target speaker's global variance in step.gv_data, in the exp's features."""
    stats = gv_of_data_dirs(step.gv_data or [], read_config(exp / "config.yaml"),
                            speaker=step.target_speaker)
    logger.info("%s: global variance of %d real utterances (%d frames) of %s", step.out_dir,
                stats.n_utts, stats.n_frames, step.target_speaker or "every speaker")
    return stats


def prepared(step: TrainStep) -> Tuple[List[str], Path]:
    """ESPnet's training command of the step, with its lists and statistics in place.

    An earlier run's preparation is reused when it was made from the same inputs (so an
    interrupted training resumes on the same data); else every earlier output of the step is
    removed and the data is prepared again.
    """
    marker = step.out_dir / PREPARED_JSON
    inputs = step_inputs(step)
    if marker.is_file():
        done = json.loads(marker.read_text(encoding="utf-8"))
        if done.get("inputs") == inputs:
            logger.info("%s: prepared from the same inputs by an earlier run; reused",
                        step.out_dir)
            return list(done["argv"]), step.out_dir / "exp"
        logger.info("%s: prepared from other inputs; the step starts over", step.out_dir)
    for name in STEP_OUTPUTS:
        path = step.out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    argv, exp = _prepare(step)
    distributed.publish(marker, {"inputs": inputs, "argv": argv})
    return argv, exp


def step_inputs(step: TrainStep) -> Dict[str, Any]:
    """The step's options and the SHA-256 of each input file it reads."""
    paths = [step.config, step.token_list, step.lang_config, step.bpemodel, step.spk2sid]
    for d in [*step.train_dirs, step.valid_dir]:
        paths += [Path(d) / name for name in ("wav.scp", "text", "utt2spk", "segments")]
    if step.init is not None:
        paths.append(init_checkpoint(step.init))
    if step.durations is not None:
        paths += [Path(step.durations) / s / name for s in ("train", "valid")
                  for name in ("durations", "tokens")]
    checksums = {str(p): _sha256(Path(p)) for p in paths if p is not None}
    options = asdict(step)
    # a new choice repacks, the training stays
    for packing_only in ("inference_model", "gv_data", "world_source", "world_vocoder"):
        del options[packing_only]
    return {"options": json.loads(json.dumps(options, default=str)), "files": checksums}


def _sha256(path: Path) -> Optional[str]:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _prepare(step: TrainStep) -> Tuple[List[str], Path]:
    """Data lists and statistics of the step; ESPnet's training command line and exp dir."""
    train, train_dd = write_split_lists(step, "train", step.spk2sid)
    speakers = step.spk2sid or (train / "spk2sid" if step.task == "tts" else None)
    valid, valid_dd = write_split_lists(step, "valid", speakers)
    token_type = espnet_token_type(step)
    data_extra: List[str] = []
    if step.speech_encoder is not None:
        dims = {add_encoder_feats(step, train, train_dd.audio_utt_ids, step.train_dirs),
                add_encoder_feats(step, valid, valid_dd.audio_utt_ids, [step.valid_dir])}
        data_extra += ["--input_size", str(dims.pop())]
    if step.is_duration_tts:
        from lrspeech.pipeline.pitch_energy import fastspeech2_data_args

        data_extra = fastspeech2_data_args(train, valid)
    # ESPnet runs in this process (its output goes to this step's log): one import, not three.
    # Statistics are collected by rank 0 alone, outside the distributed group.
    with distributed.single_process_env():
        stats = espnet_train.collect_stats(step.task, step.config, train, valid,
                                           step.out_dir / "stats", step.token_list, token_type,
                                           step.bpemodel, extra_args=data_extra)
    # Attention plots cost ~40 s per epoch on a CPU; a user's own arguments come last and win.
    extra = [*data_extra, "--max_epoch", str(step.epochs), "--seed", str(step.seed),
             "--num_att_plot", "0"]
    if step.init is not None:
        extra += ["--init_param", str(init_checkpoint(step.init)), "--ignore_init_mismatch", "true"]
    extra += step.extra_args
    exp = step.out_dir / "exp"
    argv = espnet_train.train_argv(step.task, step.config, train, valid, stats, exp,
                                   step.token_list, token_type, step.bpemodel, extra)
    return argv, exp


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


def _meta(step: TrainStep, train_lists: Path) -> Dict[str, object]:
    meta: Dict[str, object] = {"task": step.task, "token_type": step.token_type}
    if step.init is not None:
        meta["init"] = str(step.init)  # where the weights started, as given
    if step.task == "tts" and (train_lists / "spk2sid").is_file():
        meta["speakers"] = read_spk2sid(train_lists / "spk2sid")
        meta["target_speaker"] = step.target_speaker
    if step.world_source is not None:
        meta["world_vocoder"] = step.world_vocoder  # what --vocoder auto runs with world.pt
    return meta
