"""Task registry, config checks, model building and the logged task runner."""

import sys
from pathlib import Path

import pytest

import lrspeech
from lrspeech.models.mixspeech import MixSpeechASRModel
from lrspeech.models.tasks import (
    ConfigError,
    build_model,
    check_config,
    config_path_from_argv,
    get_task,
    read_config,
    register_models,
    run_task,
)

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
TTS_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"
TOKENS = ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mixspeech_is_registered_in_espnet():
    from espnet2.tasks.asr import model_choices

    register_models()
    register_models()  # idempotent
    assert model_choices.get_class("mixspeech") is MixSpeechASRModel


def test_import_hook_wraps_espnet_asr_task_loader():
    import espnet2.tasks

    finder = lrspeech._EspnetRegistryFinder()
    spec = finder.find_spec("espnet2.tasks.asr", espnet2.tasks.__path__)
    assert isinstance(spec.loader, lrspeech._RegisterAfterExec)
    assert finder.find_spec("espnet2.tasks.tts", espnet2.tasks.__path__) is None
    assert any(isinstance(f, lrspeech._EspnetRegistryFinder) for f in sys.meta_path) or (
        "espnet2.tasks.asr" in sys.modules
    )


@pytest.mark.parametrize("config", sorted((REPO / "conf" / "asr").glob("*.yaml")))
def test_shipped_asr_configs_build(config):
    assert check_config("asr", config)["encoder"] in ("transformer", "conformer")
    model = build_model("asr", config, TOKENS)
    assert model.ctc.ctc_lo.out_features == len(TOKENS)
    if read_config(config).get("decoder") is None:  # CTC-only heads
        assert model.decoder is None and model.ctc_weight == 1.0
    else:
        assert model.decoder.output_layer.out_features == len(TOKENS)


@pytest.mark.parametrize("name", ["transformer_tiny", "transformer_paper", "fastspeech_tiny",
                                  "fastspeech_paper"])
def test_shipped_tts_configs_build(name):
    config = REPO / "conf" / "tts" / f"{name}.yaml"
    assert check_config("tts", config)["tts"] == name.split("_")[0]
    model = build_model("tts", config, TOKENS, {"tts_conf.spks": 3})
    assert model.tts.encoder.embed[0].num_embeddings == len(TOKENS)
    assert model.tts.sid_emb.num_embeddings == 3


def test_tiny_configs_are_tiny_and_paper_configs_are_large():
    sizes = {}
    for task, name in (("asr", "transformer"), ("asr", "conformer"), ("asr", "whisper_ctc"),
                       ("tts", "transformer"), ("tts", "fastspeech")):
        for size in ("tiny", "paper"):
            config = REPO / "conf" / task / f"{name}_{size}.yaml"
            model = build_model(task, config, TOKENS)
            sizes[(task, name, size)] = sum(p.numel() for p in model.parameters())
    for (task, name, size), n in sizes.items():
        if size == "tiny":
            assert n < 1.5e6, (task, name, n)
        else:
            assert n > 15 * sizes[(task, name, "tiny")], (task, name, n)


def test_unknown_model_name(tmp_path):
    bad = write(tmp_path, "asr.yaml", "encoder: transformer\nmodel: mixspeeech\n")
    with pytest.raises(ConfigError) as err:
        check_config("asr", bad)
    message = str(err.value)
    assert message.startswith(f"{bad}: unknown model 'mixspeeech' (key 'model:'); known: ")
    assert "espnet, maskctc, mixspeech, pit_espnet" in message


def test_unknown_encoder_name(tmp_path):
    bad = write(tmp_path, "asr.yaml", "encoder: transfomer\n")
    with pytest.raises(ConfigError, match=r"asr.yaml: unknown encoder 'transfomer'.*conformer"):
        check_config("asr", bad)


def test_missing_model_name(tmp_path):
    asr = write(tmp_path, "asr.yaml", "frontend: default\n")
    with pytest.raises(ConfigError) as err:
        check_config("asr", asr)
    assert str(err.value) == (
        f"{asr}: no model name under 'encoder:'; add e.g. 'encoder: transformer' "
        "(see conf/asr/*.yaml)"
    )
    tts = write(tmp_path, "tts.yaml", "feats_extract: fbank\n")
    with pytest.raises(ConfigError, match=r"tts.yaml: no model name under 'tts:'"):
        check_config("tts", tts)


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: config file not found"):
        check_config("asr", tmp_path / "nope.yaml")
    broken = write(tmp_path, "broken.yaml", "encoder: [transformer\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML"):
        check_config("asr", broken)
    listed = write(tmp_path, "list.yaml", "- encoder\n")
    with pytest.raises(ConfigError, match=r"list.yaml: expected a mapping of options, got list"):
        check_config("asr", listed)
    with pytest.raises(ConfigError, match=r"unknown task 'mt'; use one of asr, tts"):
        get_task("mt")


def test_build_model_overrides_and_missing_tokens(tmp_path):
    model = build_model("asr", ASR_CONFIG, TOKENS, {"model": "mixspeech",
                                                    "model_conf.mix_share": 0.4})
    assert isinstance(model, MixSpeechASRModel) and model.mix_share == 0.4
    assert model.ctc_weight == 0.3  # the rest of model_conf is kept
    with pytest.raises(ConfigError, match=r"transformer_tiny.yaml: no token_list"):
        build_model("asr", ASR_CONFIG)


def test_config_path_from_argv():
    assert config_path_from_argv(["--ngpu", "0", "--config", "c.yaml"]) == Path("c.yaml")
    assert config_path_from_argv(["--ngpu", "0"]) is None


def test_run_task_checks_the_config_before_starting(tmp_path):
    log = tmp_path / "logs" / "train.log"
    with pytest.raises(ConfigError, match=r"missing.yaml: config file not found"):
        run_task("asr", ["--config", str(tmp_path / "missing.yaml")], log_file=log)
    assert not log.exists()


def test_logged_job_failure_names_the_log(tmp_path, monkeypatch):
    import lrspeech.models.tasks as tasks

    assert tasks.job_command("tts")[1:] == ["-m", "lrspeech.bin.tts_train"]
    failing = [sys.executable, "-c", "import sys; print('args', sys.argv[1:]); sys.exit(3)"]
    monkeypatch.setattr(tasks, "job_command", lambda task: failing)
    log = tmp_path / "logs" / "train.log"
    with pytest.raises(RuntimeError) as err:
        run_task("asr", ["--ngpu", "0"], log_file=log)
    message = str(err.value)
    assert message.startswith(f"asr training failed (exit 3); see {log}. Last lines:")
    assert "args ['--ngpu', '0']" in message
    assert log.read_text().startswith("# ")


def test_logged_job_success(tmp_path, monkeypatch):
    import lrspeech.models.tasks as tasks

    monkeypatch.setattr(tasks, "job_command", lambda task: [sys.executable, "-c", "print('ok')"])
    log = tmp_path / "train.log"
    run_task("tts", [], log_file=log)
    assert log.read_text().splitlines()[-1] == "ok"


def test_close_process_group_destroys_what_espnet_left_open(tmp_path):
    import torch.distributed as dist

    from lrspeech.models.tasks import close_process_group

    close_process_group()  # nothing open: nothing to do
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    assert dist.is_initialized()
    close_process_group()
    assert not dist.is_initialized()


def test_importing_the_models_prints_nothing_on_stdout() -> None:
    """A CLI's stdout is its output: ESPnet's flash-attention notice goes to stderr, whenever
    ESPnet is imported after lrspeech; and the models are registered by then."""
    import subprocess

    code = ("import lrspeech.models; from espnet2.tasks.asr import model_choices; "
            "import espnet2.tasks.tts; assert 'mixspeech' in model_choices.classes")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout == ""
    # without lrspeech the notice is on stdout (so the hook above is what moves it)
    plain = subprocess.run([sys.executable, "-c", "import espnet2.tasks.asr"],
                           capture_output=True, text=True, timeout=300)
    import importlib.util

    assert "Flash Attention" in plain.stdout or importlib.util.find_spec("flash_attn")


def test_the_clis_that_print_a_value_for_lr_sh_import_no_torch() -> None:
    """lr.sh reads a value from these (the dry run too): without ESPnet and torch each takes a
    fraction of a second where it took 8-9 s."""
    import subprocess

    code = ("import sys, lrspeech.bin.dual_transformation, lrspeech.bin.distillation, "
            "lrspeech.bin.stage_marker, lrspeech.models.speakers; "
            "print(sorted(m for m in ('torch', 'espnet', 'espnet2') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]"
