"""lr.sh's schedule of stages 4-7: what runs beside what, and nothing left running at exit.

lr.sh runs for real with a stand-in Python (LRSPEECH_PYTHON) that keeps the step markers real
and replaces every other CLI by a line in an event log and a short sleep, so the order in which
the stages' work starts and ends is what these tests read.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

REPO = Path(__file__).resolve().parents[2]
LR_SH = REPO / "egs" / "TEMPLATE" / "lr1" / "lr.sh"

FAKE_PY = """\
#!/usr/bin/env bash
# the step markers and `python -c` run for real; every CLI else is an event and a sleep
if [ "$1" != -m ] || [ "$2" = lrspeech.bin.stage_marker ]; then exec {py} "$@"; fi
mod=${{2#lrspeech.bin.}}; out=""; prev=""
for a in "$@"; do
    case "${{prev}}" in
        --out_dir) out=${{a}}; mkdir -p "${{a}}" ;;
        --out) out=${{a}}  # a model file is made (it is read as such); others are left alone
            [ "${{a%.pth}}" = "${{a}}" ] || {{ mkdir -p "$(dirname "${{a}}")"; touch "${{a}}"; }} ;;
    esac
    prev=${{a}}
done
[ "${{mod}} $3" = "dual_transformation voices" ] && echo spk1
[ "${{mod}}" = asr_inference ] && touch "${{out}}/score" "${{out}}/text"
[ "${{mod}} $3" = "distillation student" ] && printf '%s\\n' student.yaml teacher "a student"
echo "start ${{mod}} ${{out}}" >> "${{EVENTS}}"
pause=0.2; [ "${{mod}}" = train_model ] && pause=${{TRAIN_SECONDS:-2}}
[ -n "${{out}}" ] && [ "${{out}}" = "${{SLOW_OUT:-}}" ] && pause=${{SLOW_SECONDS}}
sleep "${{pause}}"
if [ -n "${{out}}" ] && [ "${{out}}" = "${{FAIL_OUT:-}}" ]; then
    echo "fake failure of ${{out}}" >&2; exit 1
fi
echo "end ${{mod}} ${{out}}" >> "${{EVENTS}}"
"""


def _recipe(tmp_path: Path) -> Path:
    (tmp_path / "cmd.sh").write_text((REPO / "egs" / "TEMPLATE" / "lr1" / "cmd.sh").read_text())
    (tmp_path / "lang.yaml").write_text((REPO / "conf" / "lang" / "sw.yaml").read_text())
    (tmp_path / "dump" / "token").mkdir(parents=True)
    (tmp_path / "dump" / "token" / "spk2sid").write_text("spk1 0\nspk2 1\n")
    fake = tmp_path / "fake_python"
    fake.write_text(FAKE_PY.format(py=sys.executable))
    fake.chmod(0o755)
    return tmp_path


def _cmd(recipe: Path, *opts: str) -> List[str]:
    return ["bash", str(LR_SH), "--lang_config", "lang.yaml", "--tts_token_type", "phn",
            "--tts_vocoder", "griffin_lim", *opts]


def _env(recipe: Path, **extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "LRSPEECH_PYTHON": str(recipe / "fake_python"),
            "EVENTS": str(recipe / "events"), **extra}


def _run(recipe: Path, *opts: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(recipe, *opts), cwd=recipe, env=_env(recipe, **extra),
                          capture_output=True, text=True, timeout=300)


def _run_ok(recipe: Path, *opts: str,
            **extra: str) -> Tuple[subprocess.CompletedProcess, List[str]]:
    """Run lr.sh afresh (a new event log) and expect it to succeed: its result and events."""
    (recipe / "events").unlink(missing_ok=True)
    res = _run(recipe, *opts, **extra)
    assert res.returncode == 0, res.stderr[-3000:]
    return res, _events(recipe)


def _events(recipe: Path) -> List[str]:
    return (recipe / "events").read_text().splitlines()


def _order(events: List[str], *lines: str) -> None:
    """LINES happened in this order (each seen)."""
    at = [_at(events, line) for line in lines]
    assert at == sorted(at), f"not in order {lines}: {at}"


def _at(events: List[str], line: str) -> int:
    assert line in events, f"{line!r} not in {events}"
    return events.index(line)


def test_with_two_lanes_the_tts_pretrains_beside_the_asr_fine_tuning(tmp_path: Path) -> None:
    """--nj 2: stage 4's TTS pretraining (its alignment and training) goes on into stage 5,
    beside the ASR's fine-tuning; the LM waits for that ASR (the TTS's lane holds the other
    core), the TTS's fine-tuning starts from the finished pretraining."""
    recipe = _recipe(tmp_path)
    # the TTS pretrains 6 s against the ASR's 2 s: a margin for a loaded machine (two test
    # workers), where each step marker's Python start-up can take a second
    res, ev = _run_ok(recipe, "--stage", "4", "--stop_stage", "5", "--nj", "2",
                      SLOW_OUT="exp/pretrain/tts", SLOW_SECONDS="6")
    _order(ev, "start train_model exp/finetune/asr",
           "end train_model exp/pretrain/tts")
    _order(ev, "start ctc_align exp/pretrain/tts_durations",
           "end train_model exp/finetune/asr")
    _order(ev, "end train_model exp/finetune/asr",
           "start lm_train exp/lm")
    _order(ev, "end train_model exp/pretrain/tts",
           "start transfer_init exp/finetune/tts_init.pth")
    assert ev[-1] == "end train_model exp/finetune/tts"
    assert "Stage 5: Fine-tuning on the paired data (paired_hq) through the token maps " \
           "(stage 4's TTS pretraining goes on beside the ASR's)" in res.stderr
    times = (recipe / "exp" / "stage_times.tsv").read_text().splitlines()
    assert [row.split("\t")[0] for row in times] == ["4", "5"]
    assert "beside the ASR's" in times[1]


def test_with_one_lane_or_stop_stage_4_the_pretraining_ends_in_stage_4(tmp_path: Path) -> None:
    """--nj 1: stage 4 ends with its TTS, and the LM trains beside the ASR's fine-tuning as
    before; --stop_stage 4 with --nj 2: the run ends only when the TTS's pretraining has."""
    recipe = _recipe(tmp_path)
    res, ev = _run_ok(recipe, "--stage", "4", "--stop_stage", "5", "--nj", "1")
    _order(ev, "end train_model exp/pretrain/tts",
           "start transfer_init exp/finetune/asr_init.pth")
    _order(ev, "start lm_train exp/lm",
           "end train_model exp/finetune/asr")
    assert "goes on beside" not in res.stderr

    res, ev = _run_ok(recipe, "--stage", "4", "--stop_stage", "4", "--nj", "2", "--force", "true")
    assert ev[-1] == "end train_model exp/pretrain/tts"


def test_dual_transformation_trains_a_rounds_tts_beside_the_next_rounds_asr(tmp_path: Path) -> None:
    """--nj 2, an ASR that hears no synthetic speech (--dt_asr_synth_ratio 0): round 2 labels
    the unpaired speech and trains its ASR while round 1's TTS trains; round 2's TTS starts from
    the finished round-1 TTS, which then reads for stage 7 beside it, and stage 7's ASR student
    starts beside round 2's TTS (the TTS teacher reads once that has ended). An ASR that hears
    the TTS's speech (all) waits for that reading."""
    recipe = _recipe(tmp_path)
    opts = ("--stage", "4", "--stop_stage", "7", "--nj", "2", "--dt_rounds", "2",
            "--dt_eval", "false")
    res, ev = _run_ok(recipe, *opts, TRAIN_SECONDS="5")
    r1_tts_end = _at(ev, "end train_model exp/dt/round1/tts")
    assert _at(ev, "start asr_inference exp/dt/round2/asr_hyp/split/1") < r1_tts_end
    assert _at(ev, "start train_model exp/dt/round2/asr") < r1_tts_end
    synth = _at(ev, "start tts_inference exp/dt/round2/synth_spk1/split/1")
    assert r1_tts_end < _at(ev, "start ctc_align exp/dt/round2/tts_durations")
    r2_tts_end = _at(ev, "end train_model exp/dt/round2/tts")
    assert r1_tts_end < synth < r2_tts_end
    assert not any("exp/dt/round1/synth" in line for line in ev)  # round 1's reading feeds nothing
    assert _at(ev, "start asr_inference exp/kd/asr_hyp/split/1") < r2_tts_end
    assert r2_tts_end < _at(ev, "start tts_inference exp/kd/teacher/split/1")
    _order(ev, "start train_model exp/kd/asr",
           "start train_model exp/kd/tts")
    assert ev[-1] in ("end train_model exp/kd/asr", "end train_model exp/kd/tts")
    times = (recipe / "exp" / "stage_times.tsv").read_text().splitlines()
    assert "round 2's TTS goes on beside the ASR student's start" in times[-1]

    res, ev = _run_ok(recipe, *opts, "--dt_asr_synth_ratio", "all", TRAIN_SECONDS="1")
    _order(ev, "end train_model exp/dt/round1/tts",
           "start tts_inference exp/dt/round2/synth_spk1/split/1")
    _order(ev, "end tts_inference exp/dt/round2/synth_spk1/split/1",
           "start train_model exp/dt/round2/asr")
    _order(ev, "end tts_inference exp/dt/round1/synth_spk1/split/1",
           "start train_model exp/dt/round1/asr")


def test_a_failure_beside_the_tts_lane_stops_only_after_it_ends(tmp_path: Path) -> None:
    """The ASR's fine-tuning fails while stage 4's TTS still pretrains in its lane: the run
    stops with the ASR's error, after waiting for the lane (no training left running behind
    it), and a rerun finds the pretraining complete."""
    recipe = _recipe(tmp_path)
    res = _run(recipe, "--stage", "4", "--stop_stage", "5", "--nj", "2",
               FAIL_OUT="exp/finetune/asr", SLOW_OUT="exp/pretrain/tts", SLOW_SECONDS="4")
    assert res.returncode == 1
    assert ("training exp/finetune/asr failed; see exp/finetune/asr/log/train_model.log"
            in res.stderr)
    assert "waiting for the 1 job(s) still running in the background" in res.stderr
    assert _events(recipe)[-1] == "end train_model exp/pretrain/tts"
    res, ev = _run_ok(recipe, "--stage", "4", "--stop_stage", "5", "--nj", "2")
    assert not any("exp/pretrain/" in line for line in ev)


def test_a_stopped_run_stops_its_lanes(tmp_path: Path) -> None:
    """SIGTERM to lr.sh while the TTS pretrains in its lane: the lane's processes are stopped
    too (nothing trains on behind the stopped run), and the step stays incomplete."""
    recipe = _recipe(tmp_path)
    proc = subprocess.Popen(_cmd(recipe, "--stage", "4", "--stop_stage", "5", "--nj", "2"),
                            cwd=recipe,
                            env=_env(recipe, SLOW_OUT="exp/pretrain/tts", SLOW_SECONDS="60"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (
                (recipe / "events").exists()
                and "start train_model exp/pretrain/tts" in _events(recipe)):
            time.sleep(0.1)
        assert "start train_model exp/pretrain/tts" in _events(recipe)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143
    assert "terminated: stopping the 1 job(s) running in the background" in err
    time.sleep(1)
    assert "end train_model exp/pretrain/tts" not in _events(recipe)
    assert _session_processes(proc.pid) == [], "processes of the run left running"
    res = _run(recipe, "--stage", "4", "--stop_stage", "4", "--dry_run", "true")
    assert "train.exp_pretrain_asr: complete" in res.stderr
    assert "train.exp_pretrain_tts: would run" in res.stderr


def _session_processes(sid: int) -> List[int]:
    """The live processes of session SID (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found
