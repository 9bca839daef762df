"""bench/speed.py's pure helpers: recipe-log stage times, ESPnet loop times, audio paths."""

import pytest


@pytest.fixture(scope="module")
def speed(bench_module):
    return bench_module("speed")


RECIPE_LOG = """\
2026-11-21T09:21:30 [stage 1] (lr.sh:166) Stage 1: Data preparation
2026-11-21 09:21:47,804 INFO lrspeech.data.datadir: data/paired_hq: wrote 50 utterances
espeak-ng en-us:   0%|          | 0/300 [00:00<?, ?utt/s]\respeak-ng en-us: 100%|####| 300/300
2026-11-21T09:25:32 [stage 2] (lr.sh:188) Stage 2: Audio formatting
2026-11-21T09:27:57 [stage 4] (lr.sh:241) Stage 4: Rich-resource pretraining
2026-11-21T09:27:57 [stage 4] (lr.sh:128) training asr -> exp/pretrain/asr (8 epochs on x)
2026-11-21 09:32:43,617 INFO exp/.done/train.exp_pretrain_asr.json: written
2026-11-21T09:32:43 [stage 4] (lr.sh:128) training tts -> exp/pretrain/tts (8 epochs on x)
2026-11-21 09:35:00,100 INFO exp/.done/train.exp_pretrain_tts.json: written
2026-11-21T09:35:01 [stage 5] (lr.sh:262) Stage 5: Fine-tuning
2026-11-21T09:35:31 [stage 5] (lr.sh:128) training asr -> exp/finetune/asr (20 epochs on x)
"""


def test_stage_and_step_times(speed):
    res = speed.parse_recipe_log(RECIPE_LOG.splitlines())
    stages = {s["stage"]: s for s in res["stages"]}
    assert list(stages) == ["1", "2", "4", "5"]
    assert stages["1"]["seconds"] == 242.0  # 09:21:30 -> 09:25:32
    assert stages["1"]["title"] == "Data preparation"
    assert stages["4"]["seconds"] == 424.0  # 09:27:57 -> 09:35:01
    steps = [(x["stage"], x["task"], x["out"], x["seconds"]) for x in res["steps"]]
    assert steps[:2] == [("4", "asr", "exp/pretrain/asr", 286.0),
                         ("4", "tts", "exp/pretrain/tts", 137.0)]
    assert stages["4"]["training_s"] == 423.0
    # the log ends during the last training step: no end time, the run is incomplete
    assert steps[2] == ("5", "asr", "exp/finetune/asr", None)
    assert stages["5"]["seconds"] == 30.0 and not stages["5"]["complete"]
    assert stages["4"]["complete"]
    assert not res["complete"]
    assert res["total_s"] == 841.0  # 09:21:30 -> 09:35:31


def test_finished_log_is_complete_and_stops_are_reported(speed):
    lines = RECIPE_LOG.splitlines() + [
        "2026-11-21 09:37:00,000 INFO exp/.done/train.exp_finetune_asr.json: written",
        "2026-11-21T09:37:00 [stage 5] (lr.sh:393) models: exp/packed/asr"]
    res = speed.parse_recipe_log(lines)
    assert res["complete"] and res["steps"][-1]["seconds"] == 89.0
    stopped = speed.parse_recipe_log(lines + ["run.pl: got SIGTERM, stopped 1 running job(s)"])
    assert not stopped["complete"] and "SIGTERM" in stopped["stopped"]
    assert not stopped["stages"][-1]["complete"]


def test_fmt_s(speed):
    assert speed.fmt_s(None) == "unfinished"
    assert speed.fmt_s(59.4) == "59 s"
    assert speed.fmt_s(444.0) == "7 min 24 s"


ESPNET_LOG = """\
[vm] 2026-11-21 10:25:13,573 (trainer:336) INFO: 1/2epoch started
[vm] 2026-11-21 10:25:14,491 (trainer:394) INFO: 1epoch results: [train] loss_ctc=279.3, \
loss=148.246, time=0.84 seconds, [valid] loss_ctc=378.330, loss=229.217
[vm] 2026-11-21 10:25:15,000 (trainer:336) INFO: 2/2epoch started
2026-11-21 10:25:16,100 INFO root: 2epoch results: [train] loss_ctc=200.0, loss=120.5, \
[valid] loss=200.0
[vm] 2026-11-21 10:25:21,292 (trainer:534) INFO: The training was finished at 2 epochs
"""


def test_espnet_loop(speed):
    loop = speed.espnet_loop(ESPNET_LOG)
    assert loop == {"loop_s": pytest.approx(7.719), "epochs": 2, "last_train_loss": 120.5}
    with pytest.raises(ValueError, match="no ESPnet training loop"):
        speed.espnet_loop(ESPNET_LOG.replace("The training was finished", "stopped"))


def test_resolve_audio_finds_moved_recipe_dirs(speed, tmp_path):
    wav = tmp_path / "demo" / "dump" / "raw" / "dev" / "wav" / "a.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF")
    old = "/gone/egs/swahili/lr1/dump/raw/dev/wav/a.wav"
    assert speed.resolve_audio(old, [tmp_path / "demo"]) == str(wav.resolve())
    assert speed.resolve_audio(str(wav), []) == str(wav)
    assert speed.resolve_audio("sox x.flac -t wav - |", []) == "sox x.flac -t wav - |"
    with pytest.raises(SystemExit, match="b.wav: audio not found"):
        speed.resolve_audio("/gone/dump/raw/dev/wav/b.wav", [tmp_path / "demo"])


def test_cached_reuses_only_same_settings(speed, tmp_path):
    calls = []

    def work():
        calls.append(1)
        return {"n": len(calls)}

    path = tmp_path / "r.json"
    assert speed.cached(path, {"order": ("a", "b")}, work) == {"n": 1}
    assert speed.cached(path, {"order": ("a", "b")}, work) == {"n": 1}  # tuple key reads back
    assert speed.cached(path, {"order": ("b", "a")}, work) == {"n": 2}


JOB_LOG = """\
# /venv/bin/python -m lrspeech.bin.asr_inference --job_index 1 --num_jobs 2
# Started at 2026-11-21 10:32:47 +0000 on host vm
#
decoded 6 utterances in 8.3 s (loading included): 0.73 utt/s; RTF 0.220 -> x/text
#
# Accounting: time=47 threads=1
# Ended (code 0) at 2026-11-21 10:33:35 +0000, elapsed time 47 seconds
"""


def test_job_times_and_overlap(speed):
    one = speed.job_times(JOB_LOG)
    assert one == {"start": "2026-11-21 10:32:47", "end": "2026-11-21 10:33:35",
                   "elapsed_s": 47, "inprocess_s": 8.3}
    after = dict(one, start="2026-11-21 10:33:35", end="2026-11-21 10:34:20")
    during = dict(one, start="2026-11-21 10:33:00", end="2026-11-21 10:34:20")
    assert not speed.overlapped([after, one])  # the second starts when the first ends
    assert speed.overlapped([one, during])
    with pytest.raises(ValueError, match="not a finished run.pl job log"):
        speed.job_times(JOB_LOG.split("# Accounting")[0])


@pytest.mark.parametrize("task", ["asr", "tts"])
def test_the_toolkit_run_calls_the_recipes_own_train(speed, tmp_path, task):
    """train_model_cmd sources steps.sh and calls its train() with every setting it reads
    (under set -u): here its step is stubbed to 'complete', so nothing trains."""
    import subprocess

    lines = speed.train_model_cmd(task, speed.ASR_CONFIG, tmp_path / "train", tmp_path / "valid",
                                  speed.LANG, tmp_path / "tokens.txt", tmp_path / "out", 2, 1)
    setup, call = lines.rsplit("\n", 1)
    assert call.startswith("train " + task + " ")
    script = tmp_path / "s.sh"
    script.write_text("set -euo pipefail\n" + setup + "\n"
                      "step() { echo \"step $1 $*\" > called; return 1; }\n" + call + "\n")
    subprocess.run(["bash", str(script)], cwd=tmp_path, check=True, capture_output=True)
    called = (tmp_path / "called").read_text()
    assert called.startswith(f"step train.{str(tmp_path / 'out').replace('/', '_')} ")
    assert "--resume" in called and "--opts train_args seed" in called
