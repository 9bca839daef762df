"""ESPnet tasks with lrspeech's models registered, config checks, and a task runner.

Usage: python -c "from lrspeech.models.tasks import get_task; print(get_task('asr'))"

lrspeech extends ESPnet by registering into its `ClassChoices` (never by copying it):
`register_models()` adds `mixspeech` to `espnet2.tasks.asr.model_choices`, so
`--model mixspeech` works in training and `Speech2Text` rebuilds it from a config.yaml.
`check_config()` reads a training config before ESPnet does and names the file, key and the
known choices when a model name is missing or unknown (ESPnet's own message names neither).
"""

import argparse
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Type

import yaml

from lrspeech.errors import LrspeechError
from lrspeech.runtime import limit_threads

logger = logging.getLogger(__name__)

TASKS = ("asr", "tts", "lm")
# The key that names the model family; a config without it would silently train ESPnet's
# default (an RNN encoder for ASR, Tacotron2 for TTS), which is never what a user meant.
REQUIRED_KEYS = {"asr": ("encoder",), "tts": ("tts",), "lm": ("lm",)}


class ConfigError(LrspeechError, ValueError):
    """A training config (or a config/checkpoint/token list combination) that cannot work."""


class TrainingFailedError(LrspeechError, RuntimeError):
    """ESPnet's training process failed; the message names its log and quotes its last lines."""


def register_models() -> None:
    """Register lrspeech's models into ESPnet's registries (idempotent)."""
    from espnet2.tasks import asr

    from lrspeech.models.mixspeech import MixSpeechASRModel
    from lrspeech.models.whisper_frontend import WHISPER_FRONTEND, WhisperFrontend

    asr.model_choices.classes.setdefault("mixspeech", MixSpeechASRModel)
    asr.frontend_choices.classes.setdefault(WHISPER_FRONTEND, WhisperFrontend)


def get_task(task: str) -> Type:
    """ESPnet's Task class for 'asr', 'tts' or 'lm', with lrspeech's models registered.

    'tts' is ESPnet's TTSTask with FastSpeech attention fused (lrspeech.models.fused_attention).
    """
    register_models()
    if task == "asr":
        from espnet2.tasks.asr import ASRTask

        return ASRTask
    if task == "tts":
        from lrspeech.models.fused_attention import FusedAttentionTTSTask

        return FusedAttentionTTSTask
    if task == "lm":
        from espnet2.tasks.lm import LMTask

        return LMTask
    raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def read_config(path: Path) -> Dict:
    """A YAML config as a dict; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; give a conf/asr/*.yaml, conf/tts/*.yaml "
                          "or an exp dir's config.yaml")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err}); fix the file") from err
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping of options, got {type(config).__name__}")
    return config


def task_of(config: Mapping, where: str) -> str:
    """'tts' for a config with a `tts:` model, 'asr' for one with an `encoder:`, 'lm' for one
    with an `lm:`."""
    if config.get("tts") is not None:
        return "tts"
    if config.get("encoder") is not None:
        return "asr"
    if config.get("lm") is not None:
        return "lm"
    raise ConfigError(f"{where}: none of `tts:`, `encoder:`, `lm:` set; not an ESPnet TTS, ASR "
                      "or LM config")


def check_config(task: str, path: Path) -> Dict:
    """Check the model names in a training config against ESPnet's registries; return it."""
    config = read_config(path)
    task_class = get_task(task)
    for key in REQUIRED_KEYS[task]:
        if config.get(key) is None:
            raise ConfigError(
                f"{path}: no model name under '{key}:'; add e.g. '{key}: "
                f"{_example_choice(task_class, key)}' (see conf/{task}/*.yaml)"
            )
    for choices in task_class.class_choices_list:
        value = config.get(choices.name)
        if value is None or str(value).lower() in ("none", "null", "nil"):
            continue
        if str(value).lower() not in choices.classes:
            known = ", ".join(sorted(choices.classes))
            raise ConfigError(
                f"{path}: unknown {choices.name} '{value}' (key '{choices.name}:'); "
                f"known: {known}. lrspeech's own models (e.g. mixspeech) are registered by "
                "`import lrspeech.models`"
            )
    return config


def _example_choice(task_class: Type, key: str) -> str:
    for choices in task_class.class_choices_list:
        if choices.name == key:
            return "transformer" if "transformer" in choices.classes else choices.default
    return "transformer"


def config_path_from_argv(argv: Sequence[str]) -> Optional[Path]:
    """The value of `--config` in an ESPnet argument list, if any."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", default=None)
    known, _ = parser.parse_known_args(list(argv))
    return Path(known.config) if known.config else None


NORMALIZE_KEYS = ("normalize", "pitch_normalize", "energy_normalize")


def build_model(
    task: str,
    config: Path,
    token_list: Optional[Sequence[str]] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Build an ESPnet model from a training conf or an exp dir's config.yaml.

    ESPnet's defaults are filled in as `--config` would; `token_list` replaces the config's
    tokens; `overrides` sets (dotted) keys, e.g. {"tts_conf.spks": 10}. Global MVN layers
    are left out: they only hold statistics (no trained weights), and a fresh model cannot
    load them before collect_stats ran.
    """
    task_class = get_task(task)
    merged = vars(task_class.get_parser().parse_args([]))
    merged.update(check_config(task, Path(config)))
    for key, value in (overrides or {}).items():
        _set_dotted(merged, key, value)
    if token_list is not None:
        merged["token_list"] = list(token_list)
    if merged.get("token_list") is None:
        raise ConfigError(f"{config}: no token_list in the config; give the token list")
    for key in NORMALIZE_KEYS:
        if merged.get(key) == "global_mvn":
            merged[key] = None
    return task_class.build_model(argparse.Namespace(**merged))


def _set_dotted(config: Dict, key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = config
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


def run_task(task: str, argv: Sequence[str], log_file: Optional[Path] = None) -> None:
    """Run ESPnet's `<Task>.main(cmd=argv)`; in this process, or as a logged subprocess.

    With `log_file`, runs `python -m lrspeech.bin.<task>_train argv` and writes its output
    there (the recipe's way: one log per job, a crash does not take the caller down).
    """
    argv = [str(a) for a in argv]
    config = config_path_from_argv(argv)
    if config is not None:
        check_config(task, config)
    if log_file is None:
        limit_threads()
        get_task(task).main(cmd=argv)
        close_process_group()
        return
    _run_logged(task, argv, Path(log_file))


def close_process_group() -> None:
    """Destroy the distributed process group ESPnet left open in this process, if any.

    ESPnet's trainer never destroys it; Gloo's worker threads then outlive it into interpreter
    shutdown, and a rank can die there with SIGABRT ("terminate called without an active
    exception"), by chance, after a training that succeeded. Called only after a run that
    returned normally. The ranks first meet at a barrier, so that none tears down its
    connections while another is still finishing ESPnet's run (rank 0 averages and saves the
    models after the last epoch; the abort was seen in rank 1 right then).
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def job_command(task: str) -> List[str]:
    """The command a logged job runs (lrspeech's CLI for the task)."""
    return [sys.executable, "-m", f"lrspeech.bin.{task}_train"]


def _run_logged(task: str, argv: List[str], log_file: Path) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*job_command(task), *argv]
    logger.info("running %s (log: %s)", " ".join(cmd[:3]), log_file)
    with open(log_file, "w", encoding="utf-8") as log:
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "".join(log_file.read_text(encoding="utf-8").splitlines(True)[-15:])
        raise TrainingFailedError(
            f"{task} training failed (exit {result.returncode}); see {log_file}. Last lines:\n"
            f"{tail}"
        )
