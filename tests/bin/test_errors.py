"""CLIs print a user's mistake as one `error:` line and exit 1, and let a bug raise.

A tool catches `LrspeechError` (and `OSError` for the files it opens); anything else, such
as a KeyError in lrspeech's own code, must reach the user with its traceback.
"""

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Callable, List

import pytest

REPO = Path(__file__).resolve().parents[2]


def _subset_same_dir(tmp: Path) -> List[str]:
    return [str(tmp), str(tmp), "--random", "1"]


def _score_missing_ref(tmp: Path) -> List[str]:
    (tmp / "hyp").write_text("u1 a b\n", encoding="utf-8")
    return ["--ref", str(tmp / "ref"), "--hyp", str(tmp / "hyp"), "--out_dir", str(tmp / "o")]


def _pack_missing_exp(tmp: Path) -> List[str]:
    return ["--exp_dir", str(tmp / "exp"), "--out_dir", str(tmp / "packed")]


def _train_missing_config(tmp: Path) -> List[str]:
    return ["--task", "tts", "--config", str(tmp / "nope.yaml"), "--train", str(tmp / "d"),
            "--valid", str(tmp / "d"), "--lang_config", str(tmp / "lang.yaml"),
            "--token_list", str(tmp / "tokens.txt"), "--out_dir", str(tmp / "o"), "--epochs", "1"]


def _report_no_stage(tmp: Path) -> List[str]:
    return ["--collect", str(tmp / "r.json")]


def _format_missing_dir(tmp: Path) -> List[str]:
    return ["--in", str(tmp / "nope"), "--out", str(tmp / "o")]


def _pseudo_dev_alone(tmp: Path) -> List[str]:
    return ["asr_pairs", "--speech_dir", str(tmp), "--hyp_dir", str(tmp), "--dev_dir",
            str(tmp), "--out", str(tmp / "o")]


USER_ERRORS = [
    ("subset_data_dir", _subset_same_dir, "error: {tmp}: the destination is the source"),
    ("score_asr", _score_missing_ref, "score_asr: error: {tmp}/ref: text file not found"),
    ("pack_model", _pack_missing_exp, "pack_model: error: {tmp}/exp/config.yaml: not found"),
    ("train_model", _train_missing_config,
     "train_model: error: {tmp}/nope.yaml: config file not found"),
    ("make_report", _report_no_stage, "make_report: error: --collect needs --stage"),
    ("format_audio", _format_missing_dir, "format_audio: error: "),
    ("make_pseudo_data", _pseudo_dev_alone,
     "make_pseudo_data asr_pairs: error: --dev_dir and --dev_hyp_dir go together"),
]


@pytest.mark.parametrize("tool,argv,message", USER_ERRORS, ids=[u[0] for u in USER_ERRORS])
def test_user_error_is_one_line(tool: str, argv: Callable[[Path], List[str]], message: str,
                                tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    main = importlib.import_module(f"lrspeech.bin.{tool}").main
    assert main(argv(tmp_path)) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]  # ESPnet may log a notice
    assert len(errors) == 1 and errors[0].startswith(message.format(tmp=tmp_path)), err
    assert "Traceback" not in err


def _boom(*args, **kwargs):
    raise KeyError("a bug in lrspeech")


# (CLI, the function it calls that is made to fail, its arguments); the function is patched
# where the CLI looks it up (its own module, or the module it imports it from when it runs).
BUGS = [
    ("subset_data_dir", "lrspeech.bin.subset_data_dir.subset_random",
     ["{tmp}/src", "{tmp}/dst", "--random", "1"]),
    ("combine_data", "lrspeech.bin.combine_data.combine", ["{tmp}/dst", "{tmp}/src"]),
    ("format_audio", "lrspeech.bin.format_audio.format_data_dir",
     ["--in", "{tmp}/src", "--out", "{tmp}/dst"]),
    ("score_asr", "lrspeech.bin.score_asr.check_ids",
     ["--ref", "r", "--hyp", "h", "--out_dir", "{tmp}"]),
    ("eval_ir", "lrspeech.bin.eval_ir.check_inputs",
     ["--judge", "pocketsphinx", "--text", "t", "--wav_dir", "w", "--out_dir", "{tmp}"]),
    ("eval_mos", "lrspeech.bin.eval_mos.audio_set", ["--wav_dir", "w", "--out_dir", "{tmp}"]),
    ("make_report", "lrspeech.bin.make_report.write_report",
     ["--results", "r.json", "--out_dir", "{tmp}"]),
    ("prepare_lr_data", "lrspeech.bin.prepare_lr_data.build_setting",
     ["--metadata", "m", "--unpaired_text", "t", "--out", "{tmp}"]),
    ("filter_synthetic", "lrspeech.bin.filter_synthetic.filter_synthetic",
     ["--synth_dir", "s", "--lang_config", "l", "--out", "{tmp}", "--report", "r"]),
    ("make_espeak_corpus", "lrspeech.bin.make_espeak_corpus.make_espeak_corpus",
     ["--text", "t", "--lang", "sw", "--out", "{tmp}"]),
    ("make_pseudo_data", "lrspeech.pipeline.pseudo.sample_text",
     ["sample_text", "--text_dir", "t", "--n", "1", "--seed", "1", "--speakers", "a",
      "--out", "{tmp}"]),
    ("segment_data_dir", "lrspeech.pipeline.segment.split_at_pauses",
     ["--data_dir", "d", "--out_dir", "{tmp}"]),
    ("extract_features", "lrspeech.pipeline.encoder_features.extract_features",
     ["--data_dir", "d"]),
    ("pack_model", "lrspeech.models.packing.pack_model", ["--exp_dir", "e", "--out_dir", "{tmp}"]),
    ("transfer_init", "lrspeech.text.token_map.read_token_map",
     ["--task", "tts", "--src_config", "c", "--src_ckpt", "p", "--tgt_config", "t",
      "--tgt_tokens", "k", "--token_map", "m", "--out", "{tmp}/o.pth"]),
    ("train_model", "lrspeech.pipeline.training.run_step",
     ["--task", "asr", "--config", "c", "--train", "d", "--valid", "d", "--lang_config", "l",
      "--token_list", "t", "--out_dir", "{tmp}", "--epochs", "1"]),
    ("asr_train", "lrspeech.models.tasks.run_task", ["--config", "c"]),
    ("eval_stage", "lrspeech.bin.eval_stage.evaluate_stage",
     ["--stage_dir", "s", "--data_dir", "d", "--judge", "j", "--lang_config", "l",
      "--out_dir", "{tmp}"]),
    ("asr_inference", "lrspeech.models.asr_decode.decode_data_dir",
     ["--model_dir", "m", "--data_dir", "d", "--out_dir", "{tmp}"]),
    ("tts_inference", "lrspeech.models.synthesis.synthesize_text_dir",
     ["--model_dir", "m", "--text_dir", "d", "--out_dir", "{tmp}"]),
    ("synthesize", "lrspeech.bin.synthesize.speak",
     ["--model_dir", "m", "--text", "habari", "--out", "{tmp}/o.wav"]),
    ("transcribe", "lrspeech.bin.transcribe.transcribe", ["--model_dir", "m", "a.wav"]),
]


@pytest.mark.parametrize("tool,target,argv", BUGS, ids=[b[0] for b in BUGS])
def test_bug_raises_with_traceback(tool: str, target: str, argv: List[str], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch, test_data: Path) -> None:
    from lrspeech.data.corpus import datadir_from_metadata

    datadir_from_metadata(test_data / "sw" / "metadata.tsv").save(tmp_path / "src")
    monkeypatch.setattr(target, _boom)
    main = importlib.import_module(f"lrspeech.bin.{tool}").main
    with pytest.raises(KeyError, match="a bug in lrspeech"):
        main([a.format(tmp=tmp_path) for a in argv])


def test_bug_prints_traceback_in_a_shell(tmp_path: Path) -> None:
    """Run as a command, the bug shows its traceback, not a one-line `error:`."""
    code = ("import sys; import lrspeech.bin.score_asr as m\n"
            "def boom(*a): raise KeyError('a bug in lrspeech')\n"
            "m.check_ids = boom\n"
            "sys.exit(m.main(sys.argv[1:]))\n")
    res = subprocess.run([sys.executable, "-c", code, "--ref", "r", "--hyp", "h", "--out_dir",
                          str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.startswith("Traceback (most recent call last):"), res.stderr
    assert res.stderr.rstrip().endswith("KeyError: 'a bug in lrspeech'")
    assert "error:" not in res.stderr
