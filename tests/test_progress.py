"""Tests for lrspeech/progress.py: a bar on a terminal, a few plain lines anywhere else."""

import io
import re
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

from lrspeech.progress import LINE_INTERVAL_S, MIN_GAP_S, LineProgress, progress

REPO = Path(__file__).resolve().parents[1]

LOOP = """
import time
from lrspeech import progress as p
p.MIN_GAP_S = 0.0  # a line at every tenth, however fast
for _ in p.progress(range(231), desc="decode dev", unit="utt"):
    time.sleep(0.001)
with p.progress(total=50, desc="encode") as bar:
    for _ in range(50):
        bar.update(1)
"""


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_not_a_terminal_writes_a_line_per_tenth_and_no_frames(tmp_path):
    log = tmp_path / "stage.log"
    with open(log, "w") as err:  # a file, as in a recipe log: not a terminal
        subprocess.run([sys.executable, "-c", LOOP], cwd=REPO, stderr=err, check=True)
    text = log.read_text()
    lines = text.splitlines()
    assert "\r" not in text
    assert len([ln for ln in lines if ln.startswith("decode dev:")]) == 10
    assert len([ln for ln in lines if ln.startswith("encode:")]) == 10
    assert lines[9].startswith("decode dev: 231/231 utt (100%)")
    assert all(re.search(r"\(\d+%\) in \d+\.\d s", ln) for ln in lines)


def test_a_pipe_gets_lines_too():
    out = subprocess.run([sys.executable, "-c", LOOP], cwd=REPO, stderr=subprocess.PIPE,
                         text=True, check=True).stderr
    assert "\r" not in out and len(out.splitlines()) == 20


def test_without_a_total_a_line_every_30_seconds_and_one_at_the_end():
    clock, out = _Clock(), io.StringIO()
    bar = LineProgress(desc="judge", unit="utt", file=out, clock=clock)
    for _ in range(100):  # 100 items, one a second
        clock.now += 1.0
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines == ["judge: 30 utt in 30.0 s, 1.0 utt/s", "judge: 60 utt in 1:00, 1.0 utt/s",
                     "judge: 90 utt in 1:30, 1.0 utt/s", "judge: 100 utt in 1:40, 1.0 utt/s"]


def test_a_slow_long_loop_writes_between_tenths_after_30_seconds():
    clock, out = _Clock(), io.StringIO()
    with LineProgress(total=1000, desc="synth", file=out, clock=clock) as bar:
        for _ in range(1000):
            clock.now += 0.5  # 500 s in all: a tenth every 50 s
            bar.update(1)
    counts = [int(re.match(r"synth: (\d+)/", ln).group(1)) for ln in out.getvalue().splitlines()]
    assert counts[:3] == [int(LINE_INTERVAL_S / 0.5), 100, 160]
    assert counts[-1] == 1000 and len(counts) == len(set(counts))
    assert "~" in out.getvalue().splitlines()[0]  # an estimate of what is left


def test_a_loop_shorter_than_the_gap_writes_nothing_a_longer_one_its_last_line():
    clock, out = _Clock(), io.StringIO()
    for _ in LineProgress(range(7919), desc="tokenize target", unit="utt", file=out, clock=clock):
        clock.now += MIN_GAP_S / 10000  # all of it within the first gap
    assert out.getvalue() == ""
    clock = _Clock()
    for _ in LineProgress(range(7919), desc="tokenize target", unit="utt", file=out, clock=clock):
        clock.now += MIN_GAP_S / 4096  # 1.9 gaps: a line at the first update after the gap
    assert out.getvalue().splitlines() == [
        "tokenize target: 4096/7919 utt (52%) in 1.0 s, 4096.0 utt/s, ~0.9 s left",
        "tokenize target: 7919/7919 utt (100%) in 1.9 s, 4096.0 utt/s"]


def test_tenths_closer_than_the_gap_are_skipped():
    clock, out = _Clock(), io.StringIO()
    with LineProgress(total=100, desc="d", file=out, clock=clock) as bar:
        for _ in range(100):
            clock.now += MIN_GAP_S / 4  # a tenth every 2.5 gaps
            bar.update(1)
    counts = [int(re.match(r"d: (\d+)/", ln).group(1)) for ln in out.getvalue().splitlines()]
    assert counts == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    out2, clock2 = io.StringIO(), _Clock()
    with LineProgress(total=100, desc="d", file=out2, clock=clock2) as bar:
        for _ in range(100):
            clock2.now += MIN_GAP_S / 25  # a tenth every 0.4 gaps
            bar.update(1)
    counts = [int(re.match(r"d: (\d+)/", ln).group(1)) for ln in out2.getvalue().splitlines()]
    assert counts == [25, 50, 75, 100]  # the first update a gap after the last line


def test_a_terminal_gets_the_tqdm_bar():
    bar = progress(range(3), desc="x", file=_Tty())
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2]


def test_disabled_writes_nothing_but_still_iterates():
    out = io.StringIO()
    assert list(progress(range(5), disable=True, file=out)) == list(range(5))
    assert out.getvalue() == ""


def test_an_empty_loop_writes_nothing():
    out = io.StringIO()
    assert list(progress([], desc="none", file=out)) == []
    assert out.getvalue() == ""


def test_every_loop_of_the_package_goes_through_the_helper():
    uses_tqdm = re.compile(r"^\s*(from|import) tqdm", re.M)
    direct = [str(p.relative_to(REPO)) for p in (REPO / "lrspeech").rglob("*.py")
              if p.name != "progress.py" and uses_tqdm.search(p.read_text())]
    assert direct == [], f"use lrspeech.progress.progress instead of tqdm in {direct}"
