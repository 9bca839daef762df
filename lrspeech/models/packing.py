"""Packed model dirs: one self-contained folder per trained model, loadable from anywhere.

Usage: python -m lrspeech.bin.pack_model --exp_dir exp/finetune/tts/exp --out_dir exp/packed/tts \
    --lang_config conf/lang.yaml --target_speaker sw_35d

A packed dir (docs/CONTRACTS.md) holds `config.yaml`, `model.pth`, `tokens.txt`, `lang.yaml`,
`feats_stats.npz` (FastSpeech2 also `pitch_stats.npz`, `energy_stats.npz`), optionally
`bpe.model`, `nlsyms.txt`, `spembs.npz` (speaker embeddings), and `meta.json`
(`task`, `token_type`, `target_speaker`, `speakers`, `sample_rate`, ...).

Why rewrite config.yaml: ESPnet stores the paths a model was trained with (stats, token list,
BPE model), relative to wherever training ran. Packing copies those files in and stores
their names relative to the dir; `load_asr`/`load_tts` resolve them against the dir at load
time, so a packed dir can be moved, copied to another machine or shipped. Training-only
entries (data lists, shape files, init checkpoints) are cleared. The dir is built in a
temporary sibling and renamed when complete, so a reader never sees half a model.

ESPnet loads checkpoints with `strict=False`: a config/checkpoint mismatch would silently give
a partly random model. The loaders here compare the parameter names and refuse a mismatch.
"""

import copy
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from lrspeech.data.atomic import atomic_dir
from lrspeech.errors import LrspeechError
from lrspeech.models import tasks
from lrspeech.models.postfilter import (
    AUTO,
    GV_FILE,
    NONE,
    GvStats,
    GvVocoder,
    PostfilterError,
    check_features,
    parse_postfilter,
)
from lrspeech.models.speakers import SpeakerError, SpeakerTable, read_speaker_embeddings
from lrspeech.models.tasks import register_models
from lrspeech.text.lang import LangConfig

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
CONFIG, MODEL, TOKENS = "config.yaml", "model.pth", "tokens.txt"
LANG, META = "lang.yaml", "meta.json"
SPEMBS = "spembs.npz"
# config key path -> file name inside the packed dir
FILE_KEYS: Dict[Tuple[str, ...], str] = {
    ("token_list",): TOKENS,
    ("bpemodel",): "bpe.model",
    ("non_linguistic_symbols",): "nlsyms.txt",
    ("normalize_conf", "stats_file"): "feats_stats.npz",
    ("pitch_normalize_conf", "stats_file"): "pitch_stats.npz",
    ("energy_normalize_conf", "stats_file"): "energy_stats.npz",
}
# Entries only training reads; a packed model must not point at the training machine.
TRAINING_LISTS = ("train_data_path_and_name_and_type", "valid_data_path_and_name_and_type",
                  "train_shape_file", "valid_shape_file", "init_param")
TRAINING_PATHS = ("output_dir", "config", "pretrain_path", "rir_scp", "noise_scp")
TASKS = ("asr", "tts", "lm")
META_ORDER = ("task", "token_type", "sample_rate", "target_speaker", "speakers")
DEFAULT_SAMPLE_RATE = 16000


class PackError(LrspeechError, ValueError):
    """A model that cannot be packed or loaded; the message names the file and the fix."""


# ---------------------------------------------------------------- config helpers


def _get(config: Mapping, keys: Tuple[str, ...]) -> Any:
    node: Any = config
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _set(config: Dict, keys: Tuple[str, ...], value: Any) -> None:
    node = config
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _is_unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.lower() in ("", "none", "null"))


def read_yaml(path: Path) -> Dict:
    """A YAML mapping; errors name the file."""
    if not path.is_file():
        raise PackError(f"{path}: not found; give an ESPnet exp dir (with config.yaml) or its "
                        "config.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise PackError(f"{path}: not valid YAML ({err}); fix the file") from err
    if not isinstance(data, dict):
        raise PackError(f"{path}: expected a mapping of ESPnet options")
    return data


def task_of(config: Mapping, where: str) -> str:
    """lrspeech.models.tasks.task_of, its error a PackError."""
    try:
        return tasks.task_of(config, where)
    except tasks.ConfigError as err:
        raise PackError(str(err)) from err


def sample_rate_of(config: Mapping) -> int:
    """The rate the model's feature extractor expects (ESPnet's default 16 kHz if unset)."""
    conf = config.get("feats_extract_conf") if task_of(config, CONFIG) == "tts" else \
        config.get("frontend_conf")
    fs = (conf or {}).get("fs", DEFAULT_SAMPLE_RATE)
    if isinstance(fs, str):
        import humanfriendly

        fs = humanfriendly.parse_size(fs)
    return int(fs)


def iter_strings(node: Any, path: str = "") -> Iterator[Tuple[str, str]]:
    """(dotted key, value) of every string in a nested config."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from iter_strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from iter_strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


# ---------------------------------------------------------------- packing


def pack_model(
    exp_dir_or_config: PathLike,
    checkpoint: Optional[PathLike],
    out_dir: PathLike,
    lang_config: Optional[PathLike] = None,
    meta: Optional[Mapping[str, Any]] = None,
    speaker_embeddings: Optional[PathLike] = None,
    config_updates: Optional[Mapping[str, Any]] = None,
    gv_stats: Optional[GvStats] = None,
    world_source: Optional[PathLike] = None,
) -> Path:
    """Pack an ESPnet exp dir (or config.yaml + checkpoint) into `out_dir`; return it.

    `checkpoint` None picks the model the task packs by default (a TTS its last epoch, an ASR
    or LM its best: lrspeech.models.espnet_train.find_checkpoint).
    `meta` gives `task`, `token_type`, `target_speaker`, `speakers` (name -> sid), ...;
    missing `task`/`token_type` are read from the config. `speaker_embeddings` is an .npz of
    speaker name -> embedding for models with `spk_embed_dim`. `config_updates` replaces
    top-level keys of the packed config (e.g. an ASR head trained on cached encoder features
    gets the `whisper_ct2` frontend that computes them from audio, and no `input_size`).
    `gv_stats` (a TTS's) is the speaker's global variance (lrspeech.models.postfilter), saved
    as `gv.npz`. `world_source` (a TTS's) is a WORLD source model file
    (lrspeech.bin.world_source), checked against the TTS's features and copied as `world.pt`.
    """
    config_path, checkpoint_path = _locate(Path(exp_dir_or_config), checkpoint)
    config = read_yaml(config_path)
    embeddings = _read_embeddings(Path(speaker_embeddings)) if speaker_embeddings else {}
    full_meta = build_meta(config, meta or {}, str(config_path), lang_config, embeddings)
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    with atomic_dir(out_dir, replace=_existing_names(out_dir)) as tmp:
        packed = _copy_files(config, config_path, tmp)
        _clear_training_entries(packed)
        packed.update(dict(config_updates or {}))
        _write_state_dict(checkpoint_path, tmp / MODEL)
        if lang_config is not None:
            shutil.copyfile(_checked_lang(Path(lang_config)), tmp / LANG)
        if speaker_embeddings is not None:
            shutil.copyfile(speaker_embeddings, tmp / SPEMBS)
        if gv_stats is not None:
            _check_gv(gv_stats, config, str(config_path))
            gv_stats.save(tmp / GV_FILE)
        if world_source is not None:
            _copy_world_source(Path(world_source), config, str(config_path), tmp)
        _warn_outside_paths(packed, config_path)
        (tmp / CONFIG).write_text(yaml.safe_dump(packed, sort_keys=False, allow_unicode=True),
                                  encoding="utf-8")
        (tmp / META).write_text(json.dumps(full_meta, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    logger.info("packed %s (%s) into %s", config_path.parent, checkpoint_path.name, out_dir)
    return out_dir


def _copy_world_source(path: Path, config: Mapping[str, Any], where: str, out: Path) -> None:
    """Copy a WORLD source model into a packed dir, refusing one of other features."""
    from lrspeech.models.world_vocoder import WORLD_FILE, WorldError, WorldSource, check_source

    try:
        check_source(WorldSource.load(path), config, f"{path} (for {where})")
    except WorldError as err:
        raise PackError(str(err)) from err
    shutil.copyfile(path, out / WORLD_FILE)


def _locate(source: Path, checkpoint: Optional[PathLike]) -> Tuple[Path, Path]:
    is_config = source.is_file() or source.suffix in (".yaml", ".yml")
    config = source if is_config else source / CONFIG
    if not config.is_file():
        raise PackError(f"{config}: not found; give an ESPnet exp dir (with config.yaml) or "
                        "its config.yaml")
    if checkpoint is None:
        from lrspeech.models.espnet_train import find_checkpoint

        try:
            return config, find_checkpoint(config.parent)
        except ValueError as err:
            raise PackError(str(err)) from err
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise PackError(f"{checkpoint}: checkpoint not found; give a .pth from the exp dir "
                        "(e.g. valid.loss.best.pth) or leave it out to pick the best")
    return config, checkpoint


def build_meta(config: Mapping, meta: Mapping[str, Any], where: str,
               lang_config: Optional[PathLike] = None,
               embeddings: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """meta.json content: the caller's keys completed from the config, speakers checked."""
    from lrspeech import __version__

    task = task_of(config, where)
    out: Dict[str, Any] = dict(meta)
    if out.setdefault("task", task) != task:
        raise PackError(f"{where}: meta says task '{out['task']}' but the config is a {task} "
                        "model; fix the meta or pack the right exp dir")
    if out.get("token_type") is None:
        out["token_type"] = config.get("token_type")
    if task != "lm":
        out.setdefault("sample_rate", sample_rate_of(config))
    out.setdefault("lrspeech_version", __version__)
    out.setdefault("espnet_version", config.get("version"))
    out.setdefault("has_lang_config", lang_config is not None)
    if task == "tts":
        out.setdefault("speakers", {})
        out.setdefault("target_speaker", None)
        _check_speakers(config, out, where, embeddings or {})
    first = [k for k in META_ORDER if k in out]
    return {**{k: out[k] for k in first}, **{k: v for k, v in out.items() if k not in first}}


def _check_speakers(config: Mapping, meta: Mapping[str, Any], where: str,
                    embeddings: Mapping[str, Any]) -> None:
    try:
        table = SpeakerTable.from_meta(meta, where=f"{where} (meta)", embeddings=embeddings)
    except SpeakerError as err:
        raise PackError(str(err)) from err
    spks = _get(config, ("tts_conf", "spks"))
    if spks is not None and table.spk2sid:
        too_big = {s: i for s, i in table.spk2sid.items() if i >= int(spks)}
        if too_big:
            name, sid = next(iter(too_big.items()))
            raise PackError(f"{where}: speaker '{name}' has sid {sid} but the model has "
                            f"tts_conf.spks={spks} (ids 0..{int(spks) - 1}); use the spk2sid "
                            "the model was trained with")
    dim = _get(config, ("tts_conf", "spk_embed_dim"))
    if dim is not None and table.embeddings:
        size = len(next(iter(table.embeddings.values())))
        if size != int(dim):
            raise PackError(f"{where}: speaker embeddings have {size} values but the model has "
                            f"tts_conf.spk_embed_dim={dim}; give the embeddings it trained with")
    if spks is not None and not table.spk2sid:
        logger.warning("%s: multi-speaker model (spks=%s) packed without a speaker map; "
                       "speakers cannot be named at synthesis; pack with the training spk2sid "
                       "(meta speakers=..., or --spk2sid)", where, spks)


def _check_gv(stats: GvStats, config: Mapping, where: str) -> None:
    if task_of(config, where) != "tts":
        raise PackError(f"GV statistics are a TTS's; {where} is not a TTS config")
    try:
        check_features(stats, config, where)
    except PostfilterError as err:
        raise PackError(str(err)) from err


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or
                             (any(out_dir.iterdir()) and not (out_dir / META).is_file())):
        raise PackError(f"{out_dir}: exists and is not a packed model dir; remove it or "
                        "choose another --out_dir")


def _existing_names(out_dir: Path) -> List[str]:
    return [p.name for p in out_dir.iterdir()] if out_dir.is_dir() else []


def _copy_files(config: Mapping, config_path: Path, tmp: Path) -> Dict:
    """Copy every file the config names into `tmp`; return the config pointing at them."""
    packed = copy.deepcopy(dict(config))
    for keys, name in FILE_KEYS.items():
        value = _get(config, keys)
        if keys == ("token_list",) and isinstance(value, list):
            (tmp / name).write_text("".join(f"{t}\n" for t in value), encoding="utf-8")
        elif _is_unset(value):
            continue
        else:
            shutil.copyfile(_source_file(Path(value), keys, config_path), tmp / name)
        _set(packed, keys, name)
    return packed


def _source_file(path: Path, keys: Tuple[str, ...], config_path: Path) -> Path:
    """A file named in the config: as written (relative to the cwd) or relative to the exp."""
    for candidate in (path, config_path.parent / path):
        if candidate.is_file():
            return candidate
    raise PackError(f"{config_path}: {'.'.join(keys)} points to {path}, which does not exist; "
                    "run from the dir training ran in, or fix the path in the config")


def _clear_training_entries(config: Dict) -> None:
    for key in TRAINING_LISTS:
        if key in config:
            config[key] = []
    for key in TRAINING_PATHS:
        if key in config:
            config[key] = None


def _warn_outside_paths(config: Mapping, config_path: Path) -> None:
    for key, value in iter_strings(config):
        if value.startswith("/") and Path(value).exists():
            logger.warning("%s: %s still points to %s outside the packed dir; the packed "
                           "model depends on it", config_path, key, value)


def _checked_lang(path: Path) -> Path:
    LangConfig.load(path)  # raises with the file and the bad key
    return path


def _read_embeddings(path: Path) -> Dict[str, Any]:
    try:
        return read_speaker_embeddings(path)
    except SpeakerError as err:
        raise PackError(str(err)) from err


def _write_state_dict(checkpoint: Path, out: Path) -> None:
    """Save the model's parameters only (a trainer checkpoint.pth holds optimizers too)."""
    import torch

    state = load_state_dict(checkpoint)
    torch.save(state, out)


def load_state_dict(checkpoint: Path) -> Dict[str, Any]:
    """Parameter name -> tensor from an ESPnet model file or a trainer checkpoint.pth."""
    import torch

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except Exception:  # trainer checkpoints hold reporter objects: trusted local file
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if isinstance(state, Mapping) and isinstance(state.get("model"), Mapping):
        state = state["model"]
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()):
        raise PackError(f"{checkpoint}: not a model state dict (name -> tensor); give the "
                        ".pth ESPnet saved for the model (e.g. valid.loss.best.pth)")
    return dict(state)


# ---------------------------------------------------------------- loading


def read_meta(model_dir: PathLike) -> Dict[str, Any]:
    """meta.json of a packed model dir; errors say how to make one."""
    path = Path(model_dir) / META
    if not path.is_file():
        raise PackError(f"{path}: not found; {model_dir} is not a packed model dir (pack one "
                        "with `python -m lrspeech.bin.pack_model`)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise PackError(f"{path}: not valid JSON ({err}); repack the model") from err
    if meta.get("task") not in TASKS:
        raise PackError(f"{path}: task must be one of {TASKS}, got {meta.get('task')!r}")
    return meta


def resolve_config(model_dir: PathLike) -> Dict:
    """The packed config.yaml with its file entries made absolute (inside `model_dir`)."""
    model_dir = Path(model_dir).resolve()
    config = read_yaml(model_dir / CONFIG)
    for keys in FILE_KEYS:
        value = _get(config, keys)
        if _is_unset(value) or not isinstance(value, str):
            continue
        path = Path(value) if Path(value).is_absolute() else model_dir / value
        if not path.is_file():
            raise PackError(f"{model_dir / CONFIG}: {'.'.join(keys)} names {value}, which is "
                            f"missing from {model_dir}; repack the model")
        _set(config, keys, str(path))
    return config


def speaker_table(model_dir: PathLike, meta: Optional[Mapping] = None) -> SpeakerTable:
    """The speakers (ids, embeddings, target) of a packed TTS."""
    model_dir = Path(model_dir)
    meta = read_meta(model_dir) if meta is None else meta
    embeddings = read_speaker_embeddings(model_dir / SPEMBS) if (model_dir / SPEMBS).is_file() \
        else {}
    return SpeakerTable.from_meta(meta, where=str(model_dir / META), embeddings=embeddings)


def expect_task(model_dir: Path, task: str) -> Dict[str, Any]:
    """meta.json of a packed `task` model that has its weights; errors say what is wrong."""
    meta = read_meta(model_dir)
    if meta["task"] != task:
        raise PackError(f"{model_dir / META}: this is a {meta['task']} model; a {task} model "
                        "is needed here")
    if not (model_dir / MODEL).is_file():
        raise PackError(f"{model_dir / MODEL}: missing; repack the model")
    return meta


class _ResolvedConfig:
    """A temporary config.yaml with absolute paths, for ESPnet's loaders (which want a file)."""

    def __init__(self, model_dir: Path) -> None:
        self.config = resolve_config(model_dir)
        self._tmp = tempfile.TemporaryDirectory(prefix="lrspeech_config_")

    def __enter__(self) -> Path:
        path = Path(self._tmp.name) / CONFIG
        path.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        return path

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def check_state_dict(model: Any, checkpoint: Path, config: Optional[Path] = None) -> None:
    """Refuse a checkpoint whose parameter names differ from the model's (ESPnet: strict=False)."""
    have = set(load_state_dict(checkpoint))
    want = set(model.state_dict())
    missing, unexpected = sorted(want - have), sorted(have - want)
    if missing or unexpected:
        raise PackError(
            f"{checkpoint}: does not match {config or checkpoint.parent / CONFIG}: {len(missing)} "
            f"parameters missing (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. "
            f"{unexpected[:3]}); repack config and checkpoint from the same exp dir"
        )


def load_asr(model_dir: PathLike, device: str = "cpu", espnet_search: bool = False,
             lm: Optional[PathLike] = None, lm_weight: Optional[float] = None,
             length_bonus: Optional[float] = None, **decode_kw: Any) -> Any:
    """ESPnet `Speech2Text` for a packed ASR dir; `decode_kw` go to Speech2Text.

    Defaults: CTC-only decoding (ctc_weight 1.0; attention decoders trained on little data are
    unreliable: docs/benchmarks.md, "CTC-only decoding by default") with beam 10, searched frame
    by frame (`lrspeech.models.ctc_search`, many times faster than ESPnet's label-synchronous
    search for the same objective); joint decoding, or `espnet_search=True`, uses ESPnet's beam
    search. A model without a decoder always decodes CTC-only.
    Shallow fusion with a language model (CTC-only decoding): the ASR dir's own packed LM
    (`<model_dir>/lm`, with the weights tuned for it in meta.json) unless `lm` names another
    packed LM dir; `lm_weight`/`length_bonus` override the packed weights; `lm_weight=0`
    decodes without the LM.
    """
    from espnet2.bin.asr_inference import Speech2Text

    register_models()  # lrspeech's models (e.g. mixspeech) must be known to ESPnet first

    model_dir = Path(model_dir)
    meta = expect_task(model_dir, "asr")
    kwargs = {"ctc_weight": 1.0, "beam_size": 10, "lm_weight": 0.0, **decode_kw}
    with _ResolvedConfig(model_dir) as config:
        if _is_unset(read_yaml(config).get("decoder")):
            kwargs["ctc_weight"] = 1.0
        s2t = Speech2Text(asr_train_config=str(config), asr_model_file=str(model_dir / MODEL),
                          device=device, **kwargs)
    check_state_dict(s2t.asr_model, model_dir / MODEL)
    fusion = fusion_for(model_dir, meta, list(s2t.asr_train_args.token_list), device, lm,
                        lm_weight, length_bonus)
    ctc_only = kwargs["ctc_weight"] == 1.0 and not kwargs.get("lm_file") and not espnet_search
    if fusion.active and not ctc_only:
        raise PackError(f"{model_dir}: LM fusion works with CTC-only decoding (ctc_weight 1.0, "
                        "lrspeech's prefix search); decode with --lm_weight 0 otherwise")
    if ctc_only:
        from lrspeech.models.ctc_search import use_ctc_prefix_search

        use_ctc_prefix_search(s2t, int(kwargs["beam_size"]), fusion)
    return s2t


def fusion_for(model_dir: Path, meta: Mapping[str, Any], asr_tokens: Sequence[str], device: str,
               lm: Optional[PathLike], lm_weight: Optional[float],
               length_bonus: Optional[float]) -> Any:
    """The shallow fusion an ASR decodes with: its packed LM and weights, or the given ones."""
    from lrspeech.models.ctc_search import Fusion
    from lrspeech.models.lm import LM_DIR, check_tokens, load_lm

    packed = meta.get("lm") or {}
    lm_dir = Path(lm) if lm is not None else (model_dir / LM_DIR if packed else None)
    weight = lm_weight if lm_weight is not None else packed.get("weight", 0.0)
    bonus = length_bonus if length_bonus is not None else packed.get("length_bonus", 0.0)
    if lm is not None and lm_weight is None and not packed:
        raise PackError(f"{lm}: give the LM's weight with it (--lm_weight; tune it with "
                        "python -m lrspeech.bin.lm_fusion tune)")
    if lm_dir is None or weight == 0.0:
        return Fusion(None, 0.0, float(bonus))
    scorer = load_lm(lm_dir, device)
    check_tokens(scorer, asr_tokens, str(model_dir))
    return Fusion(scorer, float(weight), float(bonus))


def load_tts(
    model_dir: PathLike,
    device: str = "cpu",
    vocoder: Optional[str] = "griffin_lim",
    vocoder_config: Optional[PathLike] = None,
    vocoder_file: Optional[PathLike] = None,
    postfilter: Optional[str] = AUTO,
    **kw: Any,
) -> Any:
    """ESPnet `Text2Speech` for a packed TTS dir; `kw` go to Text2Speech.

    `vocoder`: "griffin_lim" (espnet2's Spectrogram2Waveform's settings from a fixed phase,
    lrspeech.models.griffin_lim; the default), "auto" (the universal HiFi-GAN for a TTS on its
    features, else, when the dir has world.pt, world_gl or what its meta.json's world_vocoder
    says, else Griffin-Lim), "hifigan_universal"
    (lrspeech.models.vocoder: the universal HiFi-GAN generator, `hifigan_universal:<path>` for a
    local checkpoint; the TTS must have been trained on its features), "world"
    (lrspeech.models.world_vocoder: WORLD with the speaker's source model, the dir's world.pt;
    an error without it), "world_gl" (its WorldGriffinLim: WORLD above 500 Hz in voiced frames,
    Griffin-Lim elsewhere; the same world.pt), or None / "none"
    (features only: Text2Speech otherwise runs Griffin-Lim on every call). `vocoder_file`
    selects a GAN vocoder: an ESPnet GAN-TTS checkpoint (.pth, with its config.yaml as
    `vocoder_config`) or a ParallelWaveGAN .pkl (needs the parallel_wavegan package).
    `postfilter` (lrspeech.models.postfilter.parse_postfilter) filters the features on their
    way to the vocoder: "gv[:strength]" (the dir's gv.npz; an error without it), "auto" (gv
    when the dir has gv.npz, else none) or "none".
    """
    from espnet2.bin.tts_inference import Text2Speech

    from lrspeech.models.fused_attention import fuse_attention, wants_fusion
    from lrspeech.models.vocoder import AUTO, HIFIGAN_UNIVERSAL, WORLD, WORLD_GL, choose, parse_spec
    from lrspeech.models.world_vocoder import WORLD_FILE

    register_models()

    model_dir = Path(model_dir)
    expect_task(model_dir, "tts")
    kind, path = ("gan", str(vocoder_file)) if vocoder_file is not None else parse_spec(vocoder)
    pkl = kind == "gan" and str(path).endswith(".pkl")
    with _ResolvedConfig(model_dir) as config:
        t2s = Text2Speech(train_config=str(config), model_file=str(model_dir / MODEL),
                          device=device,
                          vocoder_config=str(vocoder_config) if pkl else None,
                          vocoder_file=str(path) if pkl else None, **kw)
    check_state_dict(t2s.model, model_dir / MODEL)
    if wants_fusion(t2s.train_args):
        fuse_attention(t2s.model)
    if kind == AUTO:
        world_vocoder = read_meta(model_dir).get("world_vocoder", WORLD_GL)
        kind, path = parse_spec(choose(AUTO, _fbank(t2s), (model_dir / WORLD_FILE).is_file(),
                                       world_vocoder))
        logger.info("%s: vocoder %s (--vocoder auto)", model_dir, kind)
    if kind == "gan" and not pkl:
        t2s.vocoder = load_gan_vocoder(Path(vocoder_config) if vocoder_config else None,
                                       Path(str(path)), t2s, device)
    elif kind == HIFIGAN_UNIVERSAL:
        t2s.vocoder = hifigan_for(t2s, path, model_dir)
    elif kind in (WORLD, WORLD_GL):
        from lrspeech.models.world_vocoder import WorldGriffinLim, load_world

        world = load_world(model_dir, _feature_config(t2s), kind)
        t2s.vocoder = world if kind == WORLD else WorldGriffinLim(world, _seeded_gl(t2s, model_dir))
    elif kind == "none":
        t2s.vocoder = None
    elif _has_gl(t2s):  # griffin_lim (parse_spec refused other names): from a fixed phase
        t2s.vocoder = _seeded_gl(t2s, model_dir)
    if t2s.vocoder is not None:
        t2s.vocoder = _postfiltered(t2s.vocoder, postfilter, model_dir, _feature_config(t2s))
    return t2s


def _has_gl(t2s: Any) -> bool:
    from espnet2.utils.griffin_lim import Spectrogram2Waveform

    return isinstance(t2s.vocoder, Spectrogram2Waveform)


def _seeded_gl(t2s: Any, model_dir: Path) -> Any:
    """Text2Speech's own Griffin-Lim, started from a fixed phase (lrspeech.models.griffin_lim)."""
    from lrspeech.models.griffin_lim import SeededGriffinLim

    if not _has_gl(t2s):
        raise PackError(f"{model_dir}: this TTS has no mel feature settings for Griffin-Lim "
                        "(no fbank extractor in its config.yaml); give a vocoder that reads its "
                        "output (--vocoder <GAN checkpoint>)")
    return SeededGriffinLim(t2s.vocoder)


def _feature_config(t2s: Any) -> Dict[str, Any]:
    """The feature settings of a loaded Text2Speech, as its config.yaml states them."""
    return {"feats_extract": t2s.train_args.feats_extract,
            "feats_extract_conf": t2s.train_args.feats_extract_conf}


def _postfiltered(vocoder: Any, spec: Optional[str], model_dir: Path,
                  config: Mapping[str, Any]) -> Any:
    """`vocoder` behind the post-filter `spec` asks for (itself for none)."""
    path = model_dir / GV_FILE
    try:
        name, strength = parse_postfilter(spec)
        if name == NONE or (name == AUTO and not path.is_file()):
            return vocoder
        if not path.is_file():
            raise PackError(f"{model_dir}: --postfilter {spec} needs {GV_FILE}, the speaker's "
                            "global variance; write it with python -m lrspeech.bin.gv_stats "
                            f"--model_dir {model_dir} --data_dir <the speaker's recordings>, "
                            "or use --postfilter none")
        stats = GvStats.load(path)
        check_features(stats, config, str(path))
    except PostfilterError as err:
        raise PackError(str(err)) from err
    logger.info("%s: GV post-filter (strength %g, measured on %d real utterances)", model_dir,
                strength, stats.n_utts)
    return GvVocoder(vocoder, stats, strength)


def _fbank(t2s: Any) -> Dict[str, Any]:
    """The TTS's fbank settings ({} when it has no fbank extractor)."""
    fe = t2s.feats_extract
    if fe is None or not hasattr(fe, "get_parameters"):
        return {}
    return dict(fe.get_parameters())


def hifigan_for(t2s: Any, path: Optional[str], model_dir: Path) -> Any:
    """The universal HiFi-GAN vocoder, checked against the TTS's feature settings."""
    from lrspeech.models.vocoder import load_hifigan

    params = _fbank(t2s)
    if not params:
        raise PackError(f"{model_dir}: the TTS has no fbank feature extractor; HiFi-GAN reads "
                        "log-mel features")
    vocoder = load_hifigan(path)
    vocoder.check_tts(params, str(model_dir))
    return vocoder.for_log_base(getattr(t2s.feats_extract.logmel, "log_base", 10.0))


class GanVocoder:
    """Features -> waveform with the vocoder generator of an ESPnet GAN-TTS checkpoint.

    Text2Speech hands the vocoder de-normalized features; a GAN model trained with global
    MVN gets them normalized with its own statistics first.
    """

    def __init__(self, generator: Any, normalize: Any, fs: int) -> None:
        self.generator, self.normalize, self.fs = generator, normalize, int(fs)

    def __call__(self, feats: Any) -> Any:
        import torch

        with torch.no_grad():
            x = feats
            if self.normalize is not None:
                x, _ = self.normalize(x[None], torch.tensor([x.shape[0]], device=x.device))
                x = x[0]
            return self.generator.inference(x).view(-1)


def load_gan_vocoder(config: Optional[Path], checkpoint: Path, t2s: Any, device: str) -> GanVocoder:
    """The vocoder generator of an ESPnet GAN-TTS model (joint_text2wav, e.g. with HiFiGAN)."""
    from espnet2.tasks.gan_tts import GANTTSTask

    if config is None:
        config = checkpoint.parent / CONFIG
    if not checkpoint.is_file() or not config.is_file():
        raise PackError(f"{checkpoint} / {config}: GAN vocoder checkpoint or its config.yaml "
                        "not found; give --vocoder_file and --vocoder_config")
    gan, _ = GANTTSTask.build_model_from_file(str(config), str(checkpoint), device)
    check_state_dict(gan, checkpoint, config)
    generator = getattr(gan.tts, "generator", None)
    if not hasattr(generator, "__getitem__") or "vocoder" not in generator:
        raise PackError(f"{config}: model '{type(gan.tts).__name__}' has no separate vocoder "
                        "generator; train a joint_text2wav GAN-TTS (e.g. with hifigan)")
    _check_vocoder_features(gan, t2s, config)
    vocoder = generator["vocoder"].eval()
    fs = gan.feats_extract.get_parameters()["fs"] if gan.feats_extract is not None else t2s.fs
    return GanVocoder(vocoder, gan.normalize, fs)


def _check_vocoder_features(gan: Any, t2s: Any, config: Path) -> None:
    if gan.feats_extract is None or t2s.feats_extract is None:
        return
    from lrspeech.models.vocoder import feature_differences

    differ = feature_differences(gan.feats_extract.get_parameters(),
                                 t2s.feats_extract.get_parameters())
    if differ:
        shown = ", ".join(differ)
        raise PackError(f"{config}: the vocoder was trained on other features ({shown}); "
                        "use a vocoder trained with the TTS's feats_extract_conf")


def model_sample_rate(model: Any, meta: Optional[Mapping] = None) -> int:
    """Sample rate of a loaded Speech2Text/Text2Speech (its frontend's, or meta's)."""
    for owner in (getattr(model, "asr_model", None), model):
        frontend = getattr(owner, "frontend", None) or getattr(owner, "feats_extract", None)
        fs = getattr(frontend, "fs", None)
        if fs:
            return int(fs)
    if meta and meta.get("sample_rate"):
        return int(meta["sample_rate"])
    return DEFAULT_SAMPLE_RATE
