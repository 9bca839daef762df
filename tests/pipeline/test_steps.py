"""Tests for lrspeech.pipeline.steps (chained step markers) and its CLI actions begin/end/plans."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lrspeech.bin import stage_marker
from lrspeech.pipeline import steps
from lrspeech.pipeline.steps import Step

REPO = Path(__file__).resolve().parents[2]


def run_step(step: Step, work=None, **kw) -> steps.Decision:
    """begin; the work (writes the outputs); end: what a recipe does."""
    decision = steps.begin(step, **kw)
    if decision.run and not kw.get("dry_run"):
        (work or (lambda: None))()
        steps.end(step.dir, step.name)
    return decision


@pytest.fixture()
def chain(tmp_path: Path):
    """Three steps a -> b -> c over files; each output is its input's text plus a suffix."""
    src = tmp_path / "src.txt"
    src.write_text("v1\n")
    exp = tmp_path / "exp"
    a_out, b_out, c_out = (tmp_path / f"{n}.txt" for n in "abc")

    def steps_of(option: str = "x"):
        return [
            (Step(exp, "a", [str(src), option], (), [str(a_out)]),
             lambda: a_out.write_text(src.read_text() + option)),
            (Step(exp, "b", [str(a_out)], ["a"], [str(b_out)]),
             lambda: b_out.write_text(a_out.read_text() + "b")),
            (Step(exp, "c", ["value:5"], ["b"], [str(c_out)]),
             lambda: c_out.write_text(b_out.read_text() + "c")),
        ]
    return src, exp, steps_of, (a_out, b_out, c_out)


def runs(steps_list, **kw):
    return [run_step(step, work, **kw).run for step, work in steps_list]


def test_unchanged_inputs_skip_and_a_change_reruns_everything_below(chain) -> None:
    src, exp, steps_of, outs = chain
    assert runs(steps_of()) == [True, True, True]
    assert runs(steps_of()) == [False, False, False]
    assert runs(steps_of("y")) == [True, True, True]  # an option of the first step
    assert outs[2].read_text() == "v1\nybc"
    src.write_text("v2\n")
    assert runs(steps_of("y")) == [True, True, True]
    assert outs[2].read_text() == "v2\nybc"


def test_an_upstream_rerun_with_the_same_result_still_chains(chain) -> None:
    """c reads no file of a: only the chained fingerprint tells it that a changed."""
    _, exp, steps_of, outs = chain
    runs(steps_of())
    a, b, c = (s for s, _ in steps_of("z"))
    assert steps.decide(c).run is False  # b's marker unchanged yet
    run_step(a, steps_of("z")[0][1])
    assert steps.decide(b).run and "after:a" in steps.decide(b).reason
    run_step(b, steps_of("z")[1][1])
    assert steps.decide(c).run and "after:b" in steps.decide(c).reason


def test_the_reason_names_the_changed_input(chain) -> None:
    src, _, steps_of, _ = chain
    runs(steps_of())
    src.write_text("v3\n")
    reason = steps.decide(steps_of()[0][0]).reason
    assert str(src) in reason and "changed since it ran" in reason


def test_an_input_added_or_dropped_is_the_only_one_the_reason_names(tmp_path: Path) -> None:
    """Inputs are matched by what they name: dropping one (a data dir the step no longer trains
    on) does not make the inputs after it look changed."""
    files = []
    for name in ("paired", "synth", "dev"):
        files.append(tmp_path / name)
        files[-1].write_text(f"{name}\n")
    exp, out = tmp_path / "exp", tmp_path / "out"

    def declared(inputs):
        return Step(exp, "train", [*map(str, inputs), "value:epochs=6"], (), [str(out)])

    steps.begin(declared(files))
    out.write_text("model\n")
    steps.end(exp, "train")
    dropped = steps.decide(declared([files[0], files[2]]))
    assert dropped.run and dropped.reason == f"changed since it ran: {files[1]} (no longer given)"
    extra = tmp_path / "more"
    extra.write_text("more\n")
    added = steps.decide(declared([files[0], extra, *files[1:]]))
    assert added.run and added.reason == f"changed since it ran: {extra}"


def test_changed_inputs_clear_the_outputs_before_the_step_runs(chain) -> None:
    src, exp, steps_of, outs = chain
    runs(steps_of())
    extra = outs[0].parent / "a_dir"
    step = Step(exp, "a", [str(src), "x"], (), [str(outs[0]), str(extra)])
    extra.mkdir()
    (extra / "stale").write_text("old")
    assert not steps.begin(step).run  # complete: nothing touched
    src.write_text("v2\n")
    decision = steps.begin(step)
    assert decision.run and not outs[0].exists() and not extra.exists()
    assert steps.decide(step).reason == "never completed"  # the marker went first


def test_missing_outputs_rerun_a_completed_step(chain) -> None:
    _, _, steps_of, outs = chain
    runs(steps_of())
    outs[1].unlink()
    assert runs(steps_of()) == [False, True, False]  # b rebuilt the same: c's chain unchanged


def test_an_interrupted_step_is_redone_and_matches_an_uninterrupted_run(chain, tmp_path) -> None:
    _, exp, steps_of, outs = chain
    (a, a_work), (b, b_work), (c, c_work) = steps_of()
    run_step(a, a_work)
    assert steps.begin(b).run
    outs[1].write_text("half")  # killed before end
    assert steps.decide(b).run
    assert runs(steps_of()) == [False, True, True]
    assert outs[1].read_text() == "v1\nxb" and outs[2].read_text() == "v1\nxbc"


def test_resume_keeps_outputs_only_after_an_interrupted_run_with_the_same_inputs(chain) -> None:
    src, exp, steps_of, outs = chain
    (a, a_work), _, _ = steps_of()
    assert steps.begin(a, resume=True).run
    outs[0].write_text("checkpoint")  # killed midway
    decision = steps.begin(a, resume=True)
    assert "resuming" in decision.reason and outs[0].read_text() == "checkpoint"
    src.write_text("other\n")
    assert steps.begin(a, resume=True).run and not outs[0].exists()


def test_force_reruns_and_end_without_begin_is_an_error(chain) -> None:
    _, exp, steps_of, _ = chain
    runs(steps_of())
    assert steps.begin(steps_of()[0][0], force=True).run
    with pytest.raises(steps.StepError, match="end without begin"):
        steps.end(exp, "never_begun")


def test_a_dry_run_changes_nothing_and_propagates_its_plan(chain) -> None:
    _, exp, steps_of, outs = chain
    runs(steps_of())
    before = [p.read_text() for p in outs]
    assert runs(steps_of("y"), dry_run=True) == [True, True, True]
    assert [p.read_text() for p in outs] == before
    assert runs(steps_of(), dry_run=True) == [False, False, False]  # stale plans are dropped
    assert steps.clear_plans(exp) == 0
    runs(steps_of("y"), dry_run=True)
    assert steps.clear_plans(exp) == 3


def test_each_marker_records_the_wall_time_of_its_run(chain, monkeypatch) -> None:
    src, exp, steps_of, outs = chain
    clock = iter([100.0, 103.5, 200.0, 200.25, 300.0, 301.0])
    monkeypatch.setattr(steps.time, "time", lambda: next(clock))
    assert runs(steps_of()) == [True, True, True]
    assert steps.step_seconds(exp) == {"a": 3.5, "b": 0.2, "c": 1.0}  # 0.25 rounds to 0.2
    monkeypatch.undo()
    assert runs(steps_of()) == [False, False, False]  # a skip keeps the time of the real run
    assert steps.step_seconds(exp)["a"] == 3.5


def test_the_cli_begin_end_exit_codes_and_lines(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = ["--dir", str(tmp_path / "exp"), "--name", "s", "--outputs", str(out),
            "--inputs", "value:1"]
    assert stage_marker.main(["begin", *args]) == 0
    assert "running (never completed)" in capsys.readouterr().out
    out.write_text("x")
    assert stage_marker.main(["end", "--dir", str(tmp_path / "exp"), "--name", "s"]) == 0
    assert stage_marker.main(["begin", *args]) == 1
    assert "complete; skipped" in capsys.readouterr().out
    assert stage_marker.main(["begin", *args[:-1], "value:2", "--dry_run", "true"]) == 1
    assert capsys.readouterr().out.startswith("would run (changed since it ran: value:2)")
    assert out.exists()
    assert stage_marker.main(["end", "--dir", str(tmp_path / "exp"), "--name", "t"]) == 2


def test_a_shell_step_killed_midway_reruns_to_the_same_output(tmp_path: Path) -> None:
    """The recipe's pattern: `if begin; then work; end; fi`; the work is killed, then rerun."""
    script = tmp_path / "s.sh"
    script.write_text(textwrap.dedent(f"""\
        set -euo pipefail
        m() {{ {sys.executable} -m lrspeech.bin.stage_marker "$@" --dir exp --name build; }}
        if m begin --outputs out --inputs in.txt > /dev/null; then
            mkdir out
            for i in 1 2 3; do
                echo "$i $(cat in.txt)" >> out/list; [ -f kill_at_$i ] && kill -9 $$
            done
            m end
        fi
        """))
    (tmp_path / "in.txt").write_text("a")
    (tmp_path / "kill_at_2").write_text("")
    killed = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, env=_env())
    assert killed.returncode != 0 and (tmp_path / "out" / "list").read_text() == "1 a\n2 a\n"
    (tmp_path / "kill_at_2").unlink()
    for _ in range(2):  # the rerun redoes it; a third run skips it
        subprocess.run(["bash", str(script)], cwd=tmp_path, check=True, env=_env())
    assert (tmp_path / "out" / "list").read_text() == "1 a\n2 a\n3 a\n"


def test_the_recipe_step_names_a_changed_option(tmp_path: Path) -> None:
    """steps.sh `step ... --opts NAME...`: options hashed as NAME=VALUE, so the log says which
    option changed (not its bare value); a path input still shows as its path."""
    script = tmp_path / "s.sh"
    script.write_text(textwrap.dedent(f"""\
        set -euo pipefail
        log() {{ echo "$*"; }}; die() {{ echo "$*" >&2; exit 1; }}
        py={sys.executable}; force=false; dry_run=false; done_dir=exp
        . {REPO}/egs/TEMPLATE/lr1/steps.sh
        epochs=$1; seed=1
        if step build --outputs out --opts epochs seed -- in.txt; then
            echo x > out; step_done build
        fi
        """))
    (tmp_path / "in.txt").write_text("a")

    def run(*args: str) -> str:
        return subprocess.run(["bash", str(script), *args], cwd=tmp_path, check=True, env=_env(),
                              capture_output=True, text=True).stdout
    assert "build: running (never completed)" in run("3")
    assert "build: complete; skipped" in run("3")
    out = run("4")
    assert "changed since it ran: epochs=4" in out and "value:" not in out
    (tmp_path / "in.txt").write_text("b")
    assert "changed since it ran: in.txt" in run("4")


def _env():
    import os
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _lanes_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "lanes.sh"
    script.write_text(textwrap.dedent(f"""\
        set -euo pipefail
        log() {{ echo "$*"; }}; die() {{ echo "DIE: $*"; exit 1; }}
        py={sys.executable}; force=false; dry_run=${{DRY:-false}}; done_dir=exp; nj=$1
        . {REPO}/egs/TEMPLATE/lr1/steps.sh
        """) + textwrap.dedent(body))
    return script


def test_stage_8_lanes_run_side_by_side_up_to_nj(tmp_path: Path) -> None:
    """in_lane/lanes_join (steps.sh): with --nj 2, two jobs run at once (each waits to see the
    other start) and a third starts only when a lane is free; with --nj 1 they take turns."""
    script = _lanes_script(tmp_path, """\
        job() {  # job NAME PARTNER: start, wait up to 20 s for PARTNER to start (if any), end
            local running; running=$(comm -23 <(ls started | sort) <(ls ended | sort) | wc -l)
            echo "$1 saw ${running} running" >> seen; touch "started/$1"
            if [ -n "$2" ]; then
                for _ in $(seq 200); do [ -e "started/$2" ] && break; sleep 0.1; done
                [ -e "started/$2" ] && echo "$1 met $2" >> seen
            fi
            touch "ended/$1"
        }
        mkdir -p started ended
        in_lane job a b; in_lane job b a; in_lane job c ""
        lanes_join; echo joined
        """)
    out = subprocess.run(["bash", str(script), "2"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "joined" in out.stdout, out.stdout + out.stderr
    seen = (tmp_path / "seen").read_text().splitlines()
    assert "a met b" in seen and "b met a" in seen  # side by side
    assert [s for s in seen if s.startswith("c saw")] in (["c saw 0 running"], ["c saw 1 running"])


def test_a_failed_lane_stops_the_run_after_the_others_end(tmp_path: Path) -> None:
    """A lane that fails is reported by lanes_join once every lane has ended (none is left
    running behind the error), and no later lane starts."""
    script = _lanes_script(tmp_path, """\
        fails() { sleep 0.2; echo "evaluating x failed; see x.log"; exit 1; }
        slow() { sleep 1; touch "done_$1"; }
        in_lane fails; in_lane slow 1; in_lane slow 2; in_lane slow 3
        lanes_join; echo joined
        """)
    out = subprocess.run(["bash", str(script), "2"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "joined" not in out.stdout
    assert "evaluating x failed" in out.stdout and "DIE: an evaluation failed" in out.stdout
    assert (tmp_path / "done_1").exists()  # the lane beside the failed one was waited for
    assert not (tmp_path / "done_2").exists()  # nothing new started after the failure
    (tmp_path / "done_1").unlink()
    # with one lane, the failure is seen before the next job starts
    out = subprocess.run(["bash", str(script), "1"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "DIE: an evaluation failed" in out.stdout
    assert not (tmp_path / "done_1").exists()


def test_lanes_name_their_work_and_a_dry_run_takes_them_in_turn(tmp_path: Path) -> None:
    """Stage 7's students run in lanes too: the error names them (lane_what); a dry run runs
    each lane in the foreground, so that its plan reads in order even with --nj 2."""
    script = _lanes_script(tmp_path, """\
        lane_what="a distillation student"
        first() { sleep 2; echo "first done"; }
        second() { echo "second done"; [ -z "${FAIL:-}" ]; }
        in_lane first; in_lane second
        lanes_join; echo joined
        """)
    env = {**_env(), "DRY": "true"}
    out = subprocess.run(["bash", str(script), "2"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.split("\n")[:3] == ["first done", "second done", "joined"]
    out = subprocess.run(["bash", str(script), "2"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:3] == ["second done", "first done", "joined"]  # side by side
    out = subprocess.run(["bash", str(script), "2"], cwd=tmp_path, env={**_env(), "FAIL": "1"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "DIE: a distillation student failed" in out.stdout


def test_work_beside_a_lane_stops_only_after_the_lane_ends(tmp_path: Path) -> None:
    """Stage 5 tunes the LM's weights beside the TTS's lane: if that fails, the run's exit trap
    (start_run's end_run) waits for the lane before stopping the run (no training left running
    behind the error)."""
    script = _lanes_script(tmp_path, """\
        log_stage_end() { echo "stage time recorded ($1)"; }
        start_run
        slow() { exec >/dev/null 2>&1; sleep 1; touch lane_done; }  # holds no pipe of the test
        in_lane slow
        die "tuning the LM weights failed; see exp/lm/fusion.log"
        """)
    out = subprocess.run(["bash", str(script), "2"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "DIE: tuning the LM weights failed" in out.stdout
    assert "waiting for the 1 job(s) still running in the background" in out.stdout
    assert out.stdout.rstrip().endswith("stage time recorded (1)")
    assert (tmp_path / "lane_done").exists()
