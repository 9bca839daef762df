"""Tests of lrspeech.eval.pages: rendered samples, real-vs-synthesized groups, escaping, files."""

from pathlib import Path

import numpy as np
import soundfile as sf

from lrspeech.eval.pages import (
    Sample,
    Section,
    html_page,
    markdown,
    render_group,
    render_sample,
    write_files,
)


def test_render_sample_from_real_clip_and_stacked_attention(tmp_path, an4_rows):
    att = np.zeros((2, 4, 30, 5))
    att[1, 2, np.arange(30), np.arange(30) // 6] = 1.0
    np.save(tmp_path / "att.npy", att)
    rs = render_sample("kd", Sample("u1", Path(an4_rows[0]["audio"]), tmp_path / "att.npy", "stop"))
    assert [kind for kind, _ in rs.figures] == ["mel", "attention"]
    assert all(png[:4] == b"\x89PNG" for _, png in rs.figures)
    assert rs.audio[:4] == b"RIFF"


def test_group_puts_the_real_recording_beside_each_stage(tmp_path, sw_rows):
    """The real clip is rendered once per sentence, the stages' clips share its time axis,
    and every file lands inside the report folder."""
    real = Path(sw_rows[0]["audio"])
    x, sr = sf.read(real)
    short = tmp_path / "synth_a.wav"
    sf.write(short, x[: len(x) // 2], sr)  # a synthesized clip half as long
    entries = [("finetune", Sample("u1", short, None, "habari", real)),
               ("kd", Sample("u1", real, None, "", real))]
    g = render_group("u1", entries)
    assert g.real is not None and g.real.stage == "real recording" and g.text == "habari"
    assert [rs.stage for rs in g.stages] == ["finetune", "kd"]
    assert g.real.audio[:4] == b"RIFF" and all(rs.audio[:4] == b"RIFF" for rs in g.stages)
    links = write_files(tmp_path / "out", [g])
    assert links[id(g.real)] == (["img/real_recording_u1_mel.png"], "audio/real_recording_u1.wav")
    assert links[id(g.stages[0])] == (["img/finetune_u1_mel.png"], "audio/finetune_u1.wav")
    assert sf.info(tmp_path / "out" / "audio" / "finetune_u1.wav").frames == len(x) // 2
    md = markdown("T", [], [g], links)
    assert "| finetune | ![mel](img/finetune_u1_mel.png) [audio](audio/finetune_u1.wav) | " \
           "![mel](img/real_recording_u1_mel.png) [audio](audio/real_recording_u1.wav) |" in md
    assert "| kd | ![mel](img/kd_u1_mel.png) [audio](audio/kd_u1.wav) |  |" in md
    page = html_page("T", [], [g])
    assert page.count("<audio controls") == 3  # the real clip once, each stage once
    assert "<td class='real' rowspan='2'>" in page


def test_common_time_axis_is_the_longest_clip(tmp_path, monkeypatch, sw_rows):
    import lrspeech.eval.pages as pages

    seen = []
    monkeypatch.setattr(pages, "mel_spectrogram",
                        lambda x, sr, title, xmax=None: seen.append((len(x) / sr, xmax)) or b"")
    real = Path(sw_rows[0]["audio"])
    x, sr = sf.read(real)
    sf.write(tmp_path / "s.wav", x[:sr], sr)
    render_group("u", [("a", Sample("u", tmp_path / "s.wav", real_wav=real))])
    assert [xmax for _, xmax in seen] == [len(x) / sr] * 2 and seen[1][0] == 1.0


def test_missing_real_recording_and_bad_attention_are_skipped(tmp_path, caplog):
    (tmp_path / "att.npy").write_text("not numpy")
    g = render_group("u", [("s", Sample("u", None, tmp_path / "att.npy", "", tmp_path / "no.wav"))])
    assert g.stages[0].figures == [] and "s: sample 'u' attention skipped" in caplog.text
    assert "real recording: sample 'u' audio skipped" in caplog.text
    assert g.real is not None and g.real.audio is None
    assert "<td class='real' rowspan='1'><div>–</div></td>" in html_page("T", [], [g])


def test_html_escapes_text():
    rs = render_sample("s", Sample("u<1>", None, None, "a <script>alert(1)</script> & b"))
    g = render_group("u<1>", [("s", rs.sample)])
    sec = Section("Stages & more", "note <b>", ["stage"], [["<i>x</i>"]], [0])
    page = html_page("T & <b>", [sec], [g])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>T &amp; &lt;b&gt;</title>" in page
    assert "<tr class='ref'><td>&lt;i&gt;x&lt;/i&gt;</td>" in page
    md = markdown("T", [sec], [g], {})
    assert "### u<1>\n\n> a " in md and "## Stages & more\n\nnote <b>\n\n| stage |" in md
