"""Cross-lingual transfer: initialise a target-language model from a rich-resource checkpoint.

Usage: python -m lrspeech.bin.transfer_init --task tts --src_config exp/tts_rich/config.yaml \
    --src_ckpt exp/tts_rich/valid.loss.best.pth --tgt_config conf/tts/transformer_tiny.yaml \
    --tgt_tokens dump/tokens.txt --token_map dump/token_map.tsv --out exp/tts_init/model.pth

Every target tensor whose name and shape match a source tensor is copied. Vocabulary-dependent
tensors (TTS encoder token embedding; ASR decoder embedding, output layer and CTC projection)
are copied row by row through the token map (target token -> source token): a target token
takes its source token's row; unmapped tokens keep their fresh initialisation. Tokens absent
from the map fall back to the same token in the source list (specials such as <blank>,
<unk>, <sos/eos>, <space>). Feature-normalisation statistics are not written: the target
trains with its own (`--normalize_conf stats_file=...`), and ESPnet's `--init_param` keeps
every key the file lacks as initialised.

The source may be any ESPnet checkpoint given by path (e.g. a model-zoo download: its
config.yaml and .pth); the config is rebuilt into a model and checked against the checkpoint.
"""

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from lrspeech.models.tasks import ConfigError, build_model, read_config
from lrspeech.text.token_list import read_token_list

logger = logging.getLogger(__name__)

# Exact names of vocabulary-indexed tensors (dim 0 = token id) in ESPnet's models.
VOCAB_TENSORS = {
    "asr": (
        r"decoder\.embed\.0\.weight",  # Transformer/Conformer decoders
        r"decoder\.embed\.weight",  # RNN decoder
        r"decoder\.output_layer\.(weight|bias)",
        r"decoder\.output\.(weight|bias)",  # RNN decoder
        r"ctc\.ctc_lo\.(weight|bias)",
    ),
    "tts": (
        r"tts\.encoder\.embed\.0\.weight",  # Transformer (no prenet), FastSpeech(2)
        r"tts\.encoder\.embed\.0\.0\.embed\.weight",  # Transformer with encoder prenet
        r"tts\.enc\.embed\.weight",  # Tacotron2
    ),
}
STATS_BUFFER = re.compile(r"^(normalize|pitch_normalize|energy_normalize)\.(mean|std)$")


@dataclass
class TransferReport:
    """What was copied: whole tensors, vocabulary rows per tensor, what stayed fresh."""

    copied: List[str] = field(default_factory=list)
    rows: Dict[str, int] = field(default_factory=dict)  # vocab tensor -> rows copied
    fresh: Dict[str, str] = field(default_factory=dict)  # tensor -> why it was not copied
    mapped_tokens: Dict[str, str] = field(default_factory=dict)  # target -> source used
    unmapped_tokens: List[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = sum(self.rows.values())
        return (
            f"copied {len(self.copied)} tensors whole, {rows} vocabulary rows in "
            f"{len(self.rows)} tensors ({len(self.mapped_tokens)} tokens mapped, "
            f"{len(self.unmapped_tokens)} fresh); {len(self.fresh)} tensors left fresh"
        )


def vocab_tensor_names(task: str, names: Sequence[str], extra: Sequence[str] = ()) -> List[str]:
    """The names among `names` that are indexed by token id."""
    patterns = [re.compile(f"^{p}$") for p in (*VOCAB_TENSORS[task], *extra)]
    return [n for n in names if any(p.match(n) for p in patterns)]


def resolve_token_map(
    src_tokens: Sequence[str], tgt_tokens: Sequence[str], token_map: Mapping[str, Optional[str]]
) -> Dict[int, int]:
    """Target row -> source row, through the map (identity for tokens the map does not list)."""
    src_index = {t: i for i, t in enumerate(src_tokens)}
    rows = {}
    for ti, tok in enumerate(tgt_tokens):
        source = token_map[tok] if tok in token_map else tok
        if source is not None and source in src_index:
            rows[ti] = src_index[source]
        elif source is not None and tok in token_map:
            logger.warning("token map: source token %r of %r is not in the source token list",
                           source, tok)
    return rows


def transfer_state(
    task: str,
    src_state: Mapping[str, torch.Tensor],
    tgt_state: Mapping[str, torch.Tensor],
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    token_map: Mapping[str, Optional[str]],
    extra_vocab_tensors: Sequence[str] = (),
) -> Tuple[Dict[str, torch.Tensor], TransferReport]:
    """The target state with source values copied in (stats buffers dropped), and a report."""
    report = TransferReport()
    vocab = set(vocab_tensor_names(task, list(tgt_state), extra_vocab_tensors))
    rows = resolve_token_map(src_tokens, tgt_tokens, token_map)
    out: Dict[str, torch.Tensor] = {}
    for name, value in tgt_state.items():
        if STATS_BUFFER.match(name):
            continue
        out[name] = value.detach().clone()
        if name in vocab:
            _copy_rows(name, out[name], src_state.get(name), rows, report)
        elif name in src_state and src_state[name].shape == value.shape:
            out[name] = src_state[name].detach().clone().to(value.dtype)
            report.copied.append(name)
        else:
            report.fresh[name] = _why_fresh(name, value, src_state)
    report.mapped_tokens = {tgt_tokens[t]: src_tokens[s] for t, s in sorted(rows.items())}
    report.unmapped_tokens = [t for i, t in enumerate(tgt_tokens) if i not in rows]
    logger.info("transfer: %s", report.summary())
    return out, report


def _copy_rows(
    name: str,
    target: torch.Tensor,
    source: Optional[torch.Tensor],
    rows: Mapping[int, int],
    report: TransferReport,
) -> None:
    if source is None or source.shape[1:] != target.shape[1:]:
        report.fresh[name] = "not in source" if source is None else (
            f"row shape {tuple(source.shape[1:])} != {tuple(target.shape[1:])}")
        return
    index_t = torch.tensor(sorted(rows), dtype=torch.long)
    index_s = torch.tensor([rows[t] for t in sorted(rows)], dtype=torch.long)
    if len(index_t):
        target[index_t] = source[index_s].to(target.dtype)
    report.rows[name] = len(index_t)


def _why_fresh(name: str, value: torch.Tensor, src_state: Mapping[str, torch.Tensor]) -> str:
    if name not in src_state:
        return "not in source"
    return f"shape {tuple(src_state[name].shape)} != {tuple(value.shape)}"


# ---------------------------------------------------------------- checkpoints and configs


def load_state(path: Path) -> Dict[str, torch.Tensor]:
    """A model state dict from an ESPnet .pth (a model state or a training checkpoint)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: checkpoint not found")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # ESPnet's checkpoint.pth (model, optimizers, ...)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path}: not a model state dict (.pth written by ESPnet)")
    return state


def config_tokens(config_path: Path) -> List[str]:
    """The token list an ESPnet config names (inline list, as in exp config.yaml, or a file)."""
    tokens = read_config(config_path).get("token_list")
    if isinstance(tokens, list):
        return [str(t) for t in tokens]
    if isinstance(tokens, str):
        return read_token_list(tokens)
    raise ConfigError(f"{config_path}: no token_list; give the token list file explicitly")


def check_tokens_match(
    task: str, state: Mapping[str, torch.Tensor], tokens: Sequence[str], tokens_file: str,
    ckpt_file: str, extra_vocab_tensors: Sequence[str] = (),
) -> None:
    """Every vocabulary tensor must have one row per token."""
    for name in vocab_tensor_names(task, list(state), extra_vocab_tensors):
        rows = state[name].shape[0]
        if rows != len(tokens):
            raise ConfigError(
                f"token list {tokens_file} has {len(tokens)} tokens but {ckpt_file} has "
                f"{rows} rows in {name}; give the token list the model was trained with"
            )


def check_state_matches(
    model_state: Mapping[str, torch.Tensor], ckpt_state: Mapping[str, torch.Tensor],
    config_file: Path, ckpt_file: Path,
) -> None:
    """A checkpoint must hold exactly the tensors (names, shapes) its config builds."""
    wanted = {k: tuple(v.shape) for k, v in model_state.items() if not STATS_BUFFER.match(k)}
    have = {k: tuple(v.shape) for k, v in ckpt_state.items() if not STATS_BUFFER.match(k)}
    missing = sorted(set(wanted) - set(have))
    unexpected = sorted(set(have) - set(wanted))
    shapes = sorted(k for k in set(wanted) & set(have) if wanted[k] != have[k])
    if missing or unexpected or shapes:
        details = "; ".join(part for part in (
            f"missing {_few(missing)}" if missing else "",
            f"unexpected {_few(unexpected)}" if unexpected else "",
            "shape differs for " + ", ".join(f"{k} {have[k]} vs {wanted[k]}" for k in shapes[:3])
            if shapes else "",
        ) if part)
        raise ConfigError(
            f"{ckpt_file} does not match the model built from {config_file} ({details}); "
            "give the config.yaml the checkpoint was trained with"
        )


def _few(names: Sequence[str]) -> str:
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


@dataclass(frozen=True)
class TransferSpec:
    """Inputs of one transfer (the CLI's arguments)."""

    task: str
    src_config: Path
    src_ckpt: Path
    tgt_config: Path
    tgt_tokens: Path
    token_map: Mapping[str, Optional[str]]
    src_tokens: Optional[Path] = None  # default: the source config's token_list
    tgt_overrides: Mapping[str, object] = field(default_factory=dict)
    extra_vocab_tensors: Sequence[str] = ()
    seed: int = 1  # of the fresh initialisation of what the source cannot fill (reproducible)


def init_from_checkpoint(spec: TransferSpec, out: Path) -> TransferReport:
    """Write `out`: the target model's initial state for ESPnet's `--init_param`."""
    src_state = load_state(spec.src_ckpt)
    if spec.src_tokens is not None:
        src_tokens, src_tokens_file = read_token_list(spec.src_tokens), str(spec.src_tokens)
    else:
        src_tokens = config_tokens(spec.src_config)
        src_tokens_file = f"{spec.src_config}:token_list"
    check_tokens_match(spec.task, src_state, src_tokens, src_tokens_file, str(spec.src_ckpt),
                       spec.extra_vocab_tensors)
    src_model = build_model(spec.task, spec.src_config, src_tokens)
    check_state_matches(src_model.state_dict(), src_state, spec.src_config, spec.src_ckpt)
    tgt_tokens = read_token_list(spec.tgt_tokens)
    torch.manual_seed(spec.seed)  # e.g. a speaker table of another size: fresh, the same each run
    tgt_model = build_model(spec.task, spec.tgt_config, tgt_tokens, spec.tgt_overrides)
    state, report = transfer_state(spec.task, src_state, tgt_model.state_dict(), src_tokens,
                                   tgt_tokens, spec.token_map, spec.extra_vocab_tensors)
    _save_atomically(state, Path(out))
    return report


def _save_atomically(state: Mapping[str, torch.Tensor], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    torch.save(dict(state), tmp)
    tmp.replace(out)
