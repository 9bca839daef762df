"""Tests of lrspeech.eval.stage_times: runs per stage, outcome, malformed lines."""

from lrspeech.eval.stage_times import format_duration, read_stage_times, times_table


def test_runs_are_summed_and_the_last_run_shown(tmp_path, caplog):
    path = tmp_path / "t.tsv"
    path.write_text("3\t0\t65\t0\tText frontend\nbroken line\n6\t100\t7300\t1\tDT\n"
                    "3\t500\t501\t0\tText frontend\n", encoding="utf-8")
    times = read_stage_times(path)
    assert [(t.stage, t.seconds, t.status) for t in times] == [
        ("3", [65.0, 1.0], 0), ("6", [7200.0], 1)]
    assert "t.tsv:2: not `stage start end status what`" in caplog.text
    header, rows = times_table(times)
    assert header == ["stage", "what", "last run", "all runs"]
    assert rows == [["3", "Text frontend", "1 s", "1 min 06 s (2 runs)"],
                    ["6", "DT", "2 h 00 min (failed, exit 1)", "2 h 00 min"],
                    ["total", "", "", "2 h 01 min"]]
    assert format_duration(59.6) == "1 min 00 s"
