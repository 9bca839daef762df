"""The LRSpeech recipe end to end on a micro setting (micro_recipe.py): stages 1-9, the
outputs of each, a rerun, what a change reruns, a killed training, the user CLIs.

The tests here share one copy of the recipe (in file order). Those that run stages again in a
copy of their own are in test_recipe_micro_copies.py: tests/conftest.py puts this file first
and that one last, so that in `make test` the other pytest-xdist worker takes it.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Set

import pytest
from micro_recipe import MICRO, copy_of, lines, run

from lrspeech.data.validate import validate_data_dir
from lrspeech.models.postfilter import GvStats

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3000)]


@pytest.fixture(scope="module")
def recipe(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This file's copy of the built recipe (the tests below rerun and kill stages in it)."""
    return copy_of(built, tmp_path_factory, "recipe")


@pytest.mark.slow
def test_every_stage_output_is_well_formed(recipe: Path) -> None:
    for name in ("paired_hq", "unpaired_speech", "unpaired_text", "dev", "rich_synth"):
        validate_data_dir(recipe / "dump" / "raw" / name, audio_check="header")
    assert not (recipe / "data" / "unpaired_speech" / "text").exists()  # transcripts withheld
    assert len(lines(recipe / "dump" / "raw" / "paired_hq" / "text")) == 5
    dt = recipe / "exp" / "dt" / "round1"
    assert len(lines(dt / "text" / "text")) == 6  # --dt_text_per_round
    assert len(lines(dt / "asr_pairs" / "wav.scp")) == 6  # the TTS read all 6 sentences
    assert set(lines(dt / "asr_pairs" / "utt2spk")[0].split()[1:]) == {"sw_35d"}
    # --dt_asr_synth_ratio 0 (default): the round's ASR trains on the paired data alone
    prepared = json.loads((dt / "asr" / "prepared.json").read_text())["inputs"]["options"]
    assert prepared["train_dirs"] == ["dump/raw/paired_hq"]
    assert len(lines(dt / "tts_pairs" / "wav.scp")) == 5  # ASR-labelled unpaired speech
    labels = json.loads((dt / "labels.json").read_text())  # --dt_label_keep 1.0: all kept
    assert labels["threshold"] is None and labels["kept"] == 5
    assert labels["dev_kept"] == labels["dev_total"] > 0
    assert labels["dev_cer_kept"] == labels["dev_cer_all"]
    for stage in ("pretrain", "finetune", "dt/round1", "kd"):
        for task in ("asr", "tts"):
            meta = json.loads((recipe / "exp" / stage / task / "model" / "meta.json").read_text())
            assert meta["task"] == task
            # lr.sh's defaults: a TTS packs its last epoch, an ASR its best on dev
            rule = meta["checkpoint"]["inference_model"]
            assert rule == {"asr": "best", "tts": "latest.pth"}[task]
            if task == "tts":
                latest = recipe / "exp" / stage / task / "exp" / "latest.pth"
                assert meta["checkpoint"]["file"] == latest.resolve().name
                # --tts_postfilter gv (default): every target-speaker TTS packs the speaker's
                # global variance, measured on the 5 paired clips; the pretrained one has none
                gv = recipe / "exp" / stage / task / "model" / "gv.npz"
                if stage == "pretrain":
                    assert not gv.exists()
                else:
                    assert GvStats.load(gv).n_utts == 5
    tts_meta = json.loads((recipe / "exp" / "kd" / "tts" / "model" / "meta.json").read_text())
    assert tts_meta["target_speaker"] == "sw_35d" and "sw_35d" in tts_meta["speakers"]
    assert tts_meta["init"] == "exp/dt/round1/tts/model"  # the student starts from its teacher
    # --kd_tts_real labelled (default): the student keeps the real speech its teacher trained
    # on (the paired data and round 1's labelled unpaired speech) beside the teacher's pairs.
    prepared = json.loads((recipe / "exp" / "kd" / "tts" / "prepared.json").read_text())
    assert prepared["inputs"]["options"]["train_dirs"] == [
        "dump/raw/paired_hq", "exp/dt/round1/tts_pairs", "exp/kd/tts_pairs"]
    # The ASR teacher (round 1's ASR) labelled the unpaired speech afresh for the ASR student.
    kd = recipe / "exp" / "kd"
    assert lines(kd / "speech_pairs" / "wav.scp") == lines(dt / "tts_pairs" / "wav.scp")
    decode_cmd = lines(kd / "asr_hyp" / "log" / "decode.1.log")[0]
    assert "--model_dir exp/dt/round1/asr/model " in decode_cmd
    assert set(lines(kd / "speech_pairs" / "wav.scp")) <= set(lines(kd / "asr_train" / "wav.scp"))
    report = (recipe / "exp" / "report" / "report.md").read_text()
    for label in ("finetune", "dt_round1", "kd"):
        assert f"| {label} |" in report
    assert "data:image/png;base64" in (recipe / "exp" / "report" / "report.html").read_text()
    for label in ("finetune", "dt_round1", "kd"):
        result = json.loads((recipe / "exp" / "eval" / f"{label}.json").read_text())
        assert 0.0 <= result["ir"] <= 1.0 and result["asr_cer"] >= 0.0
        assert result["judge"] == "exp/kd/asr/model"
        synth = recipe / "exp" / "eval" / label / "tts" / "data"
        if result["samples"]:  # the micro TTS spoke: its samples are real files
            assert all(Path(s["wav"]).is_file() for s in result["samples"])
        else:  # a 1-epoch TTS may stop at once on every sentence: then all are listed as failed
            assert result["ir"] == 0.0
            n_dev = len(lines(recipe / "dump" / "raw" / "dev" / "text"))
            assert len(lines(synth / "failed")) == n_dev
        assert isinstance(result["skipped"], dict)  # clips left out, per step (none or some)
    # Stage 9 packs the best ASR (dev ASR CER) and the best TTS (judge CER), later stage on a tie.
    evals = {lb: json.loads((recipe / "exp" / "eval" / f"{lb}.json").read_text())
             for lb in ("finetune", "dt_round1", "kd")}
    packed = json.loads((recipe / "exp" / "packed" / "packed.json").read_text())
    assert packed["pack"] == "best"
    for task, metric in (("asr", "asr_cer"), ("tts", "judge_cer")):
        best = min(v[metric] for v in evals.values())
        assert evals[packed[task]][metric] == best
        assert [lb for lb in evals if evals[lb][metric] == best][-1] == packed[task]
        stage_dir = {"finetune": "finetune", "dt_round1": "dt/round1", "kd": "kd"}[packed[task]]
        src = recipe / "exp" / stage_dir / task / "model" / "model.pth"
        assert (recipe / "exp" / "packed" / task / "model.pth").read_bytes() == src.read_bytes()
    # The report's reference: the judge on the real dev recordings, computed once per judge
    # (exp/eval/real), each sample's real recording, the DT rounds, stage times, packed marks.
    assert json.loads((recipe / "exp" / "eval" / "real" / "key.json").read_text())["dnsmos"]
    for result in evals.values():
        assert result["real"]["judge"] == "exp/kd/asr/model"
        assert 0.0 <= result["real"]["ir"] <= 1.0 and result["real"]["judge_cer"] >= 0.0
        for smp in result["samples"]:  # none where every clip failed (checked above)
            assert Path(smp["real_wav"]).is_file() and smp["text"]
    assert (recipe / "exp" / "dt" / "eval" / "round1.json").is_file()
    assert "| real recordings | the real dev recordings, same judge |" in report
    assert "## Dual transformation rounds" in report and "| stage | data | packed |" in report
    times = [ln.split("\t")[0] for ln in lines(recipe / "exp" / "stage_times.tsv")]
    assert times[:9] == [str(s) for s in range(1, 10)]
    # Stage 6 logs each round's dev figures next to round 0's, judged by the fine-tuned ASR.
    for label in ("round0", "round1"):
        summary = lines(recipe / "exp" / "dt" / "eval" / f"{label}.log")[-1]
        assert re.match(rf"{label}: ASR CER [\d.]+% WER [\d.]+% \(with the LM: CER [\d.]+% "
                        r"WER [\d.]+%\) \| TTS IR [\d.]+% judge CER [\d.]+% "
                        r"\(judge: exp/finetune/asr/model\)$", summary), summary


@pytest.mark.slow
def test_the_lm_is_trained_tuned_used_and_packed(recipe: Path) -> None:
    lm = json.loads((recipe / "exp" / "lm" / "lm.json").read_text())
    assert lm["sentences"]["kept"] >= 100 and lm["dev_perplexity"] > 1.0
    fusion = json.loads((recipe / "exp" / "lm" / "fusion.json").read_text())
    assert len(fusion["grid"]) == 3  # (0, 0) and --lm_weights 0.5 x --lm_bonuses "0 1"
    chosen = fusion["chosen"]
    assert chosen["cer"] <= fusion["no_lm"]["cer"]
    # Pseudo-labels are decoded with it (DT and KD), with the tuned weights.
    for log in ("dt/round1/asr_hyp", "kd/asr_hyp"):
        cmd = lines(recipe / "exp" / log / "log" / "decode.1.log")[0]
        assert f"--lm exp/lm/model --lm_weight {chosen['lm_weight']} " in cmd, cmd
    # Dev figures with and without it, side by side in every stage's result and the report.
    for label in ("finetune", "dt_round1", "kd"):
        result = json.loads((recipe / "exp" / "eval" / f"{label}.json").read_text())
        assert result["asr_lm_cer"] >= 0.0 and result["asr_cer"] >= 0.0
    assert "ASR WER +LM" in (recipe / "exp" / "report" / "report.md").read_text()
    # The packed ASR carries it; the judge did not use it.
    meta = json.loads((recipe / "exp" / "packed" / "asr" / "meta.json").read_text())
    assert meta["lm"]["weight"] == chosen["lm_weight"]
    assert (recipe / "exp" / "packed" / "asr" / "lm" / "model.pth").is_file()
    ir = json.loads((recipe / "exp" / "eval" / "kd" / "ir" / "ir.json").read_text())
    assert ir["judge_lm"] is False


@pytest.mark.slow
def test_packed_models_load_and_run(recipe: Path) -> None:
    from lrspeech.models.packing import load_asr, load_tts

    asr = load_asr(recipe / "exp" / "packed" / "asr")
    tts = load_tts(recipe / "exp" / "packed" / "tts", vocoder=None)
    assert asr.asr_model is not None and tts.model is not None


@pytest.mark.slow
def test_rerun_skips_completed_stages(recipe: Path) -> None:
    res = run(recipe)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not re.search(r"training (asr|tts) ->", res.stderr)  # no model was trained again
    assert res.stderr.count("complete; skipped") >= 10


def dry_run(recipe: Path, *opts: str) -> str:
    """The log of a dry run with these options (nothing may run)."""
    res = run(recipe, "--dry_run", "true", *opts)
    assert res.returncode == 0, res.stderr[-3000:]
    assert not re.search(r"training (asr|tts) ->|: running \(", res.stderr)  # nothing ran
    return res.stderr


def steps_in(log: str) -> Set[str]:
    """The steps a dry run's log says would run."""
    return set(re.findall(r"\) (\S+): would run \(", log))


def would_run(recipe: Path, *opts: str) -> Set[str]:
    """The steps a dry run with these options says would run."""
    return steps_in(dry_run(recipe, *opts))


@pytest.mark.slow
def test_a_change_reruns_the_steps_below_it_and_only_those(recipe: Path) -> None:
    """Issue 19: each step's marker chains its upstream steps' fingerprints. Dry runs (nothing
    runs) show what a change reruns, with the issue's four holes as cases."""
    assert would_run(recipe) == set()  # unchanged: every step complete
    # Hole 1: stage 4 with other epochs retrains, and so does everything built on it: the
    # transfer inits, fine-tuning, the LM tuning, every decoding and synthesis (hole 4), the
    # later stages and their evaluations. What stage 4 does not feed stays.
    changed = would_run(recipe, "--pretrain_epochs", "2")
    below = {"train.exp_pretrain_asr", "train.exp_pretrain_tts", "init_asr", "init_tts",
             "train.exp_finetune_asr", "train.exp_finetune_tts", "lm_fusion",
             "decode.exp_dt_round1_asr_hyp", "decode.exp_dt_round1_dev_hyp", "dt1.data",
             "dt1.asr_pairs", "train.exp_dt_round1_asr", "train.exp_dt_round1_tts",
             "synth.exp_kd_teacher", "kd.filter", "decode.exp_kd_asr_hyp", "kd.asr_data",
             "train.exp_kd_asr", "train.exp_kd_tts", "eval.finetune", "eval.dt_round1",
             "eval.kd", "dt_eval.round0", "dt_eval.round1", "pack"}
    assert below <= changed, below - changed
    assert not changed & {"data", "format.dev", "format.paired_hq", "tokens.rich", "tokens", "lm",
                          "kd.text"}
    # The round ASR's synthetic share (issue 17; default 0: the paired data alone): a share is
    # a new step under the round's synthetic pairs and retrains that ASR; `all` retrains it on
    # every synthetic pair. Neither touches the round's labels nor its synthesis.
    share = would_run(recipe, "--dt_asr_synth_ratio", "0.5")
    assert {"dt1.asr_synth", "train.exp_dt_round1_asr", "train.exp_kd_asr", "pack"} <= share
    every = would_run(recipe, "--dt_asr_synth_ratio", "all")
    assert "train.exp_dt_round1_asr" in every and "dt1.asr_synth" not in every
    assert not (share | every) & {"dt1.data", "dt1.asr_pairs", "decode.exp_dt_round1_asr_hyp",
                                  "train.exp_finetune_asr"}
    assert not [k for k in share | every if k.startswith("synth.exp_dt_round1")]
    # With the default share 0, only the last round synthesizes speech for the ASR (stage 7's
    # ASR student hears it); an earlier round's would feed nothing.
    said = dry_run(recipe, "--pretrain_epochs", "2", "--dt_rounds", "2")
    two = steps_in(said)
    assert {"dt1.data", "train.exp_dt_round1_tts", "dt2.asr_pairs",
            "train.exp_dt_round2_asr"} <= two
    assert [k for k in two if k.startswith("synth.exp_dt_round2")]
    assert "dt1.asr_pairs" not in two
    assert "round 1: ASR(r-1) labels the unpaired speech, TTS(r-1) reads nothing" in said
    assert "round 2: ASR(r-1) labels the unpaired speech, TTS(r-1) reads 6 sentences" in said
    assert not [k for k in two if k.startswith("synth.exp_dt_round1")]
    # The TTS student without the labelled unpaired speech retrains it (and its durations)
    # and what reads it; nothing else.
    assert would_run(recipe, "--kd_tts_real", "paired") == {
        "align.exp_kd_tts_durations", "train.exp_kd_tts", "eval.kd", "pack"}
    # The TTS's own fine-tuning epochs (empty: --finetune_epochs, 1 here): the same number
    # reruns nothing; another retrains the fine-tuned TTS and what it feeds (round 1's TTS, the
    # speech it reads for the ASR student, the distillation), never the ASRs it does not feed.
    assert would_run(recipe, "--finetune_tts_epochs", "1") == set()
    tts_only = would_run(recipe, "--finetune_tts_epochs", "2")
    assert {"train.exp_finetune_tts", "train.exp_dt_round1_tts", "dt1.asr_pairs",
            "synth.exp_kd_teacher", "train.exp_kd_tts", "train.exp_kd_asr", "eval.finetune",
            "pack"} <= tts_only
    assert tts_only & {"train.exp_finetune_asr", "align.exp_finetune_tts_durations",
                       "lm_fusion", "decode.exp_dt_round1_asr_hyp", "dt1.data",
                       "train.exp_dt_round1_asr"} == set()
    # Each round's TTS epochs (empty: --dt_epochs, 1 here): another number retrains round 1's
    # TTS and what reads it (the teacher, the TTS student), never its durations, the round's
    # ASR or labels, or the ASR student (its synthetic speech is the fine-tuned TTS's).
    assert would_run(recipe, "--dt_tts_epochs", "1") == set()
    dt_tts = would_run(recipe, "--dt_tts_epochs", "2")
    assert {"train.exp_dt_round1_tts", "synth.exp_kd_teacher", "train.exp_kd_tts",
            "eval.dt_round1", "pack"} <= dt_tts
    assert dt_tts & {"align.exp_dt_round1_tts_durations", "train.exp_dt_round1_asr", "dt1.data",
                     "dt1.asr_pairs", "train.exp_kd_asr", "train.exp_finetune_tts"} == set()
    # The TTS's own pretraining epochs (empty: --pretrain_epochs, 1 here): the same number
    # reruns nothing; another retrains the pretrained TTS and the TTSs built on it (the
    # fine-tuned TTS's alignment too: it comes after the TTS's init), never the pretrained or
    # fine-tuned ASR, the LM tuning or the labels.
    assert would_run(recipe, "--pretrain_tts_epochs", "1") == set()
    pre_tts = would_run(recipe, "--pretrain_tts_epochs", "2")
    assert {"train.exp_pretrain_tts", "init_tts", "train.exp_finetune_tts",
            "train.exp_dt_round1_tts", "synth.exp_kd_teacher", "train.exp_kd_tts",
            "eval.finetune", "pack"} <= pre_tts
    assert pre_tts & {"train.exp_pretrain_asr", "init_asr", "train.exp_finetune_asr",
                      "align.exp_pretrain_tts_durations", "lm_fusion",
                      "decode.exp_dt_round1_asr_hyp", "dt1.data"} == set()
    # --tts_vocoder world: the speaker's WORLD source model is trained once (the world step)
    # and packed with every target-speaker TTS, so those steps and what reads their speech
    # (the distillation teacher's, every evaluation) run again; no ASR the TTSs do not feed.
    world = would_run(recipe, "--tts_vocoder", "world")
    assert {"world", "train.exp_finetune_tts", "train.exp_dt_round1_tts", "train.exp_kd_tts",
            "synth.exp_kd_teacher", "eval.finetune", "eval.dt_round1", "eval.kd",
            "pack"} <= world
    assert world & {"train.exp_finetune_asr", "lm_fusion", "decode.exp_dt_round1_asr_hyp",
                    "dt1.data", "train.exp_dt_round1_asr", "train.exp_pretrain_tts"} == set()
    assert would_run(recipe, "--tts_vocoder", "world_gl") == world  # the same source model
    # Hole 3: the evaluation's options rerun the evaluations (and the packing) only.
    evals = {"eval.finetune", "eval.dt_round1", "eval.kd", "pack"}
    assert would_run(recipe, "--eval_mos", "false") == evals
    # Hole 2: a text stage 3 reads (the dev transcripts) reruns the tokens and all below them.
    dev_text = recipe / "data" / "dev" / "text"
    before = dev_text.read_text(encoding="utf-8")
    try:
        dev_text.write_text(before.replace(" ", "  ", 1), encoding="utf-8")
        changed = would_run(recipe)
        assert {"format.dev", "tokens", "lm", "init_asr", "train.exp_kd_tts", "pack"} <= changed
        # pretraining reads only the rich side of stage 3 (its own step): it stays
        assert not changed & {"data", "format.paired_hq", "format.unpaired_speech", "tokens.rich",
                              "train.exp_pretrain_asr", "train.exp_pretrain_tts",
                              "align.exp_pretrain_tts_durations"}
    finally:
        dev_text.write_text(before, encoding="utf-8")
    assert would_run(recipe) == set()


@pytest.mark.slow
def test_killed_training_recovers(recipe: Path) -> None:
    """Kill stage 5 in the middle of the ASR training; a rerun finishes it correctly."""
    shutil.rmtree(recipe / "exp" / "finetune" / "asr")
    proc = subprocess.Popen([str(recipe / "run.sh"), *MICRO, "--stage", "5", "--stop_stage", "5"],
                            cwd=recipe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    exp = recipe / "exp" / "finetune" / "asr"
    deadline = time.time() + 300
    while time.time() < deadline and not (exp / "stats").exists():
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (exp / "model" / "meta.json").exists()
    res = run(recipe, "--stage", "5", "--stop_stage", "5")
    assert res.returncode == 0, res.stderr[-3000:]
    from lrspeech.models.packing import load_asr

    assert load_asr(exp / "model").asr_model is not None


@pytest.mark.slow
def test_user_clis_speak_and_transcribe(recipe: Path, test_data: Path, tmp_path: Path,
                                        capsys) -> None:
    import soundfile as sf

    from lrspeech.bin import synthesize, transcribe

    tts = str(recipe / "exp" / "packed" / "tts")
    out = tmp_path / "habari.wav"
    # The micro TTS trained one epoch: its durations can collapse to a frame on some CPUs (CI
    # saw 0.064 s for this sentence), which the default --min_seconds 0.1 rightly refuses.
    rc = synthesize.main(["--model_dir", tts, "--text", "Habari za asubuhi, watu 3.",
                          "--out", str(out), "--min_seconds", "0"])
    assert rc == 0 and sf.info(str(out)).samplerate == 16000 and sf.info(str(out)).frames > 0
    assert capsys.readouterr().out.startswith(f"{out}: ")
    refused = tmp_path / "refused.wav"
    assert synthesize.main(["--model_dir", tts, "--text", "Habari za asubuhi, watu 3.",
                            "--out", str(refused), "--min_seconds", "600"]) == 1
    err = capsys.readouterr().err
    assert "failed (near_empty" in err and "under --min_seconds 600" in err
    assert not refused.exists()
    real = sorted((test_data / "sw" / "flac").glob("*.flac"))[0]
    rc = transcribe.main(["--model_dir", str(recipe / "exp" / "packed" / "asr"), str(real)])
    assert rc == 0 and capsys.readouterr().out.startswith(f"{real}\t")
    assert synthesize.main(["--model_dir", tts, "--text", "  ", "--out", str(out)]) == 1
    assert "--text is empty" in capsys.readouterr().err
    assert transcribe.main(["--model_dir", str(recipe / "exp" / "packed" / "asr"),
                            str(tmp_path / "missing.wav")]) == 1
    assert "no such audio file" in capsys.readouterr().err
