"""The ctc_align and segment_data_dir CLIs on real clips with a micro ASR, and train_model
training a FastSpeech2 on the durations ctc_align wrote."""

import collections
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import yaml

from lrspeech.bin import ctc_align, pack_model, segment_data_dir, train_model, world_source
from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import read_scores
from lrspeech.data.skips import SKIPPED_JSON, Skips, collect_counts
from lrspeech.data.validate import validate_data_dir
from lrspeech.models.espnet_train import TrainedExp
from lrspeech.models.postfilter import GvStats
from lrspeech.pipeline.duration_files import read_durations, read_token_file
from lrspeech.pipeline.training import init_checkpoint

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
FS2_TINY = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
SW_LANG = REPO / "conf" / "lang" / "sw.yaml"


@pytest.fixture(scope="session")
def asr_exp(tmp_path_factory, sw_rows, an4_rows) -> Path:
    """The micro ASR of tests/models/conftest.py, shared with tests/pipeline/test_align.py."""
    spec = importlib.util.spec_from_file_location(
        "models_conftest_builders", TESTS / "models" / "conftest.py"
    )
    builders = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builders)
    rows = builders.split_rows(sw_rows, an4_rows)
    root = tmp_path_factory.getbasetemp() / "ctc_align_micro_asr"
    return builders.build_micro_asr(root, rows["train"], rows["valid"]).exp_dir


@pytest.fixture
def data_dir(tmp_path, sw_rows) -> Path:
    """Three good Swahili clips, one with a character the ASR never saw, one cut too short."""
    rows = sorted(sw_rows, key=lambda r: r["id"])[:4]
    short = tmp_path / "short.wav"
    wav, sr = load_audio(rows[0]["audio"], end=0.25)
    sf.write(short, wav, sr)
    wav_scp = {r["id"]: r["audio"] for r in rows}
    text = {r["id"]: r["text"].lower().rstrip(".") for r in rows}
    text[rows[3]["id"]] = text[rows[3]["id"]] + " \u00df"
    wav_scp["zz_short"], text["zz_short"] = str(short), "hakuna uhuru wa kujieleza kukusanyika"
    path = tmp_path / "data"
    path.mkdir()
    (path / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p in sorted(wav_scp.items())))
    (path / "text").write_text("".join(f"{u} {t}\n" for u, t in sorted(text.items())))
    (path / "utt2spk").write_text("".join(f"{u} sw_35d\n" for u in sorted(wav_scp)))
    return path


def test_ctc_align_writes_durations_and_reports_what_it_skipped(
    tmp_path, asr_exp, data_dir, capsys
):
    out = tmp_path / "align"
    rc = ctc_align.main([
        "--asr_model", str(asr_exp), "--train", str(data_dir), "--out_dir", str(out),
        "--tts_config", str(FS2_TINY), "--min_score", "none",
    ])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)["train"]
    assert printed["aligned"] == 4 and printed["skipped"] == 1
    assert printed["with_unk_tokens"] == 1
    assert printed["selection"] == {"min_score": None, "threshold": None, "kept": 4,
                                    "low_score": 0}
    report = json.loads((out / "train" / "report.json").read_text())
    assert "too short" in report["skipped_reasons"]["zz_short"]
    assert list(report["unk_tokens"].values()) == ["\u00df"]
    durations = read_durations(out / "train" / "durations")
    tokens = read_token_file(out / "train" / "tokens")
    scores = read_scores(out / "train" / "scores")
    assert sorted(durations) == sorted(tokens) == sorted(scores) == sorted(
        u for u in DataDir.load(data_dir).wav_scp if u != "zz_short"
    )
    wav_scp = DataDir.load(data_dir).wav_scp
    for utt, d in durations.items():
        assert len(d) == len(tokens[utt]) + 1
        assert sum(d) == sf.info(wav_scp[utt]).frames // 256 + 1
        assert scores[utt] <= 0
    ctm_words = [line.split()[4] for line in (out / "train" / "ctm").read_text().splitlines()]
    n_words = sum(len(" ".join(t).split("<space>")) for t in tokens.values())
    assert len(ctm_words) == n_words
    skipped = json.loads((out / "train" / "skipped.json").read_text())
    assert skipped["counts"] == {"too_short_for_text": 1}
    assert json.loads((out / "align.json").read_text())["splits"]["train"]["aligned"] == 4


def test_segment_cli_cuts_the_aligned_dir(tmp_path, asr_exp, data_dir, capsys):
    out = tmp_path / "align"
    assert ctc_align.main([
        "--asr_model", str(asr_exp), "--train", str(data_dir), "--out_dir", str(out),
        "--fs", "16000", "--hop_length", "256",
    ]) == 0
    capsys.readouterr()
    seg = tmp_path / "seg"
    rc = segment_data_dir.main([
        "--data_dir", str(data_dir), "--ctm", str(out / "train" / "ctm"), "--out_dir", str(seg),
        "--min_len", "0.5", "--max_len", "3.0", "--min_pause", "0.05",
    ])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["utterances_in"] == 5 and summary["not_aligned"] == 1
    validate_data_dir(seg)
    dd = DataDir.load(seg)
    assert summary["segments_out"] == len(dd.segments) > 0
    assert all(s.duration <= 3.0 for s in dd.segments.values())


def test_ctc_align_names_a_bad_model_dir(tmp_path, data_dir, capsys):
    rc = ctc_align.main([
        "--asr_model", str(tmp_path), "--train", str(data_dir), "--out_dir",
        str(tmp_path / "a"), "--fs", "16000",
    ])
    assert rc == 1
    assert "neither a packed model dir (meta.json) nor an ESPnet exp dir" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_ctc_align_names_an_unknown_word_split(tmp_path, data_dir, capsys):
    rc = ctc_align.main([
        "--asr_model", str(tmp_path), "--train", str(data_dir), "--out_dir",
        str(tmp_path / "a"), "--fs", "16000", "--word_split", "halves",
    ])
    assert rc == 1
    assert "--word_split halves: use one of letters, even" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


# ---------------------------------------------------------------- ctc_align, then train_model


def tts_token_list(rows, out: Path) -> Path:
    """The TTS's char token list of the rows' transcripts (as stage 3 makes it)."""
    from lrspeech.text import token_list as tl
    from lrspeech.text.lang import LangConfig
    from lrspeech.text.tokenizer import Tokenizer

    tokenizer = Tokenizer(LangConfig.load(SW_LANG), token_type="char")
    counts = collections.Counter(t for r in rows for t in tokenizer.tokenize(r["text"]))
    tl.write_token_list(tl.build_token_list(counts), out)
    return out


@pytest.fixture(scope="module")
def fs2_inputs(tmp_path_factory, sw_rows, asr_exp):
    """Swahili train/valid dirs, the TTS token list, and ctc_align's durations of both."""
    root = tmp_path_factory.mktemp("fs2_step")
    rows = sorted(sw_rows, key=lambda r: r["id"])
    dirs = {}
    for split, part in (("train", [r for r in rows if r["split"] == "train"][:5]),
                        ("valid", [r for r in rows if r["split"] != "train"])):
        dirs[split] = root / split
        DataDir(wav_scp={r["id"]: r["audio"] for r in part},
                text={r["id"]: r["text"] for r in part},
                utt2spk={r["id"]: r["speaker"] for r in part}).save(dirs[split])
    tokens = tts_token_list(rows, root / "tokens.txt")
    assert ctc_align.main([
        "--asr_model", str(asr_exp), "--train", str(dirs["train"]), "--valid",
        str(dirs["valid"]), "--tts_config", str(FS2_TINY), "--lang_config", str(SW_LANG),
        "--token_type", "char", "--token_list", str(tokens), "--min_score", "none",
        "--out_dir", str(root / "durations"),
    ]) == 0
    return {"root": root, **dirs, "tokens": tokens, "durations": root / "durations"}


def train_model_argv(inputs, out: Path, durations: Path = None):
    argv = ["--task", "tts", "--config", str(FS2_TINY), "--train", str(inputs["train"]),
            "--valid", str(inputs["valid"]), "--lang_config", str(SW_LANG),
            "--token_type", "char", "--token_list", str(inputs["tokens"]),
            "--out_dir", str(out), "--epochs", "1"]
    if durations is not None:
        argv += ["--durations", str(durations)]
    return argv + ["--", "--num_iters_per_epoch", "1", "--batch_size", "2",
                   "--use_tensorboard", "false"]


def test_train_model_trains_fastspeech2_on_ctc_align_durations(fs2_inputs, tmp_path, capsys):
    aligned = read_durations(fs2_inputs["durations"] / "train" / "durations")
    assert len(aligned) == 5
    out = tmp_path / "tts"
    assert train_model.main(train_model_argv(fs2_inputs, out, fs2_inputs["durations"])) == 0
    assert json.loads((out / "model" / "meta.json").read_text())["task"] == "tts"
    lists = out / "dump" / "train"
    assert read_durations(lists / "durations") == aligned  # as ctc_align wrote them
    assert read_token_file(lists / "text") == read_token_file(
        fs2_inputs["durations"] / "train" / "tokens")
    config = yaml.safe_load((out / "exp" / "config.yaml").read_text())
    feeds = [entry[1] for entry in config["train_data_path_and_name_and_type"]]
    assert {"durations", "pitch", "energy"} <= set(feeds)
    assert not (out / "align").exists() and not (out / "text").exists()  # nothing to read back
    assert json.loads((out / "fastspeech2" / "train" / "skipped.json").read_text())[
        "skipped"] == 0


def test_train_model_packs_the_last_epoch_and_repacks_another_without_training(
        fs2_inputs, tmp_path, capsys):
    import torch

    out = tmp_path / "tts"
    argv = train_model_argv(fs2_inputs, out, fs2_inputs["durations"])
    argv[argv.index("--epochs") + 1] = "2"
    assert train_model.main(argv) == 0

    def packed(expect: str) -> None:
        meta = json.loads((out / "model" / "meta.json").read_text())
        assert meta["checkpoint"]["file"] == expect
        have = torch.load(out / "model" / "model.pth")
        want = torch.load(out / "exp" / expect)
        assert have.keys() == want.keys()
        assert all(torch.equal(have[k], want[k]) for k in have)

    packed("2epoch.pth")  # a TTS's default: latest.pth
    assert json.loads((out / "model" / "meta.json").read_text())["checkpoint"][
        "inference_model"] == "latest.pth"
    # Everything else that takes a TTS exp dir without naming a model uses the same epoch.
    assert TrainedExp.load(out / "exp").checkpoint.name == "2epoch.pth"
    assert init_checkpoint(out / "exp").name == "2epoch.pth"
    assert pack_model.main(["--exp_dir", str(out / "exp"), "--out_dir", str(tmp_path / "p")]) == 0
    have, want = torch.load(tmp_path / "p" / "model.pth"), torch.load(out / "exp" / "2epoch.pth")
    assert all(torch.equal(have[k], want[k]) for k in want)
    trained = (out / "exp" / "2epoch.pth").stat().st_mtime_ns
    assert not (out / "model" / "gv.npz").exists()
    best = (out / "exp" / "valid.loss.best.pth").resolve().name
    assert train_model.main([*argv[:argv.index("--")], "--inference_model",
                             "valid.loss.best.pth", "--gv_data", str(fs2_inputs["train"]),
                             *argv[argv.index("--"):]]) == 0
    packed(best)
    assert (out / "exp" / "2epoch.pth").stat().st_mtime_ns == trained  # not trained again
    # --gv_data packs the global variance of those recordings (5 train clips) for synthesis
    assert GvStats.load(out / "model" / "gv.npz").n_utts == 5
    # --world_source packs a WORLD source model trained on those features (world_source
    # --config); one trained on other features is refused before anything is replaced.
    world = tmp_path / "world" / "world.pt"
    assert world_source.main(["--config", str(FS2_TINY), "--data_dir", str(fs2_inputs["train"]),
                              "--speaker", "all", "--epochs", "1", "--out", str(world)]) == 0
    assert train_model.main([*argv[:argv.index("--")], "--world_source", str(world),
                             *argv[argv.index("--"):]]) == 0
    assert (out / "model" / "world.pt").read_bytes() == world.read_bytes()
    assert (out / "exp" / "2epoch.pth").stat().st_mtime_ns == trained  # not trained again
    other = yaml.safe_load(FS2_TINY.read_text())
    other["feats_extract_conf"]["fmax"] = 8000
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    assert world_source.main(["--config", str(tmp_path / "other.yaml"), "--data_dir",
                              str(fs2_inputs["train"]), "--speaker", "all", "--epochs", "1",
                              "--out", str(tmp_path / "other.pt")]) == 0
    capsys.readouterr()
    assert train_model.main([*argv[:argv.index("--")], "--world_source",
                             str(tmp_path / "other.pt"), *argv[argv.index("--"):]]) == 1
    assert "the WORLD source model was trained on other features than this TTS's (fmax " \
        "differ)" in capsys.readouterr().err
    assert (out / "model" / "world.pt").read_bytes() == world.read_bytes()
    capsys.readouterr()
    assert train_model.main([*argv[:argv.index("--")], "--inference_model", "7epoch.pth",
                             *argv[argv.index("--"):]]) == 1
    err = capsys.readouterr().err
    assert "no 7epoch.pth (the training kept " in err and "latest.pth" in err


def test_utterances_without_durations_are_left_out_and_counted(fs2_inputs, tmp_path):
    from lrspeech.pipeline.training import TrainStep, write_split_lists

    durations = tmp_path / "durations"
    shutil.copytree(fs2_inputs["durations"], durations)
    lines = (durations / "train" / "durations").read_text().splitlines()
    (durations / "train" / "durations").write_text("\n".join(lines[1:]) + "\n")
    gone = lines[0].split()[0]
    step = TrainStep(task="tts", config=FS2_TINY, train_dirs=[fs2_inputs["train"]],
                     valid_dir=fs2_inputs["valid"], lang_config=SW_LANG,
                     token_list=fs2_inputs["tokens"], out_dir=tmp_path / "tts", epochs=1,
                     token_type="char", durations=durations)
    lists, dd = write_split_lists(step, "train", None)
    assert gone not in read_durations(lists / "durations") and gone not in dd.wav_scp
    assert len(read_durations(lists / "durations")) == len(lines) - 1
    skipped = json.loads((tmp_path / "tts" / "fastspeech2" / "train" / "skipped.json").read_text())
    assert skipped["counts"] == {"no_durations": 1} and gone in skipped["utts"]
    # One the alignment step left out (its skipped.json says so) is left out here too, and
    # counted once in the stage: by the alignment's record, not again by the lists'.
    Skips(reasons={gone: "low_score"}, details={gone: "low_score: -3.0 < -0.3"}).write(
        durations / "train" / SKIPPED_JSON)
    lists, dd = write_split_lists(step, "train", None)
    assert gone not in dd.wav_scp
    skipped = json.loads((tmp_path / "tts" / "fastspeech2" / "train" / "skipped.json").read_text())
    assert skipped["counts"] == {} and skipped["skipped"] == 0
    assert collect_counts([durations, tmp_path / "tts"]) == {"durations/train": {"low_score": 1}}


def test_train_model_refuses_fastspeech2_without_durations(fs2_inputs, tmp_path, capsys):
    assert train_model.main(train_model_argv(fs2_inputs, tmp_path / "tts")) == 1
    err = capsys.readouterr().err
    assert err.startswith("train_model: error: ") and "give --durations DIR" in err
    assert not (tmp_path / "tts").exists()


def test_segment_cli_without_ctm_cuts_untranscribed_speech_at_pauses(tmp_path, data_dir, capsys):
    rc = segment_data_dir.main(["--data_dir", str(data_dir), "--out_dir", str(tmp_path / "s")])
    assert rc == 1
    assert "data/text: the dir has transcripts" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    (data_dir / "text").unlink()
    longest = max(DataDir.load(data_dir).wav_scp.values(), key=lambda p: sf.info(p).duration)
    max_len = 0.7 * sf.info(longest).duration
    rc = segment_data_dir.main([
        "--data_dir", str(data_dir), "--out_dir", str(tmp_path / "s"), "--min_len", "0.1",
        "--max_len", f"{max_len:.3f}", "--min_pause", "0.1",
    ])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    validate_data_dir(tmp_path / "s")
    dd = DataDir.load(tmp_path / "s")
    assert not dd.text and summary["segments_out"] == len(dd.segments)
    cut = [s for s in dd.segments.values() if s.recording == Path(longest).stem]
    assert len(cut) >= 2 and all(s.duration <= max_len for s in cut)
