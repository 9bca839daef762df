"""Scaffold a language espeak-ng lacks (Yoruba, tone marks) and run recipe stages 1-3 on it."""

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEW = REPO / "utils" / "new_language.sh"
# Made-up Yoruba transcripts for real (Swahili) clips: only the text frontend is under test.
YORUBA = [
    "Ẹ káàárọ̀, ṣé dáadáa ni?",
    "Mo fẹ́ràn oúnjẹ ìbílẹ̀.",
    "Ọjà náà kún fún ènìyàn.",
    "Òjò ń rọ̀ lónìí.",
    "Ilé ìwé wa tóbi.",
    "Ẹ ṣé púpọ̀, ọ̀rẹ́ mi.",
]
SENTENCES = ["Àwọn ọmọdé ń ṣeré.", "Ọ̀rọ̀ yìí dára.", "Bàbá mi ń ṣiṣẹ́ lóko.", "Ìyá ń se oúnjẹ."]


def run(cmd, cwd=None, check=True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=check
    )


def test_refuses_missing_voice_and_existing_dir(tmp_path: Path) -> None:
    res = run([NEW, "yoruba", "--iso", "yo", "--egs", tmp_path], check=False)
    assert (
        res.returncode == 1
        and "espeak-ng has no voice 'yo'" in res.stderr
        and "--no-espeak" in res.stderr
    )
    run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path])
    res = run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path], check=False)
    assert res.returncode == 1 and "exists" in res.stderr
    res = run([NEW, "yoruba"], check=False)
    assert res.returncode == 1 and "--iso" in res.stderr


def make_corpus(db: Path, test_data: Path) -> None:
    rows = list(csv.DictReader(open(test_data / "sw" / "metadata.tsv"), delimiter="\t"))
    rows = [r for r in rows if r["split"] == "train"][:4] + [
        r for r in rows if r["split"] == "val"
    ][:2]
    (db / "flac").mkdir(parents=True)
    with open(db / "metadata.tsv", "w", encoding="utf-8") as f:
        f.write("id\taudio\ttext\tspeaker\tduration_s\tsplit\n")
        for r, text in zip(rows, YORUBA):
            shutil.copy(test_data / "sw" / r["audio"], db / r["audio"])
            f.write(f"{r['id']}\t{r['audio']}\t{text}\tyo_a\t{r['duration_s']}\t{r['split']}\n")
    (db / "text.tsv").write_text(
        "".join(f"v{i}\t{s}\n" for i, s in enumerate(SENTENCES)), encoding="utf-8"
    )


@pytest.mark.slow
def test_grapheme_language_runs_stages_1_to_3(tmp_path: Path, test_data: Path) -> None:
    run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path])
    recipe = tmp_path / "yoruba" / "lr1"
    assert "espeak_voice: none" in (recipe / "conf" / "lang.yaml").read_text()
    make_corpus(recipe / "db", test_data)
    opts = [
        "--stage",
        "1",
        "--stop_stage",
        "3",
        "--nj",
        "1",
        "--local_data_opts",
        "--n_paired 2",
        "--rich_num_utts",
        "12",
        "--rich_num_speakers",
        "2",
    ]
    res = run([recipe / "run.sh", *opts], cwd=recipe, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    tokens = (
        (recipe / "dump" / "token" / "target_tts_tokens.txt").read_text(encoding="utf-8").split()
    )
    assert {"ẹ́", "ọ̀", "à", "ṣ"} <= set(tokens)  # tone marks stay on their letter
    mapping = dict(
        line.split("\t")[:2]
        for line in (recipe / "dump" / "token" / "token_map_tts.tsv")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    assert mapping["à"] == "a" and mapping["ẹ́"] == "e"
    assert len((recipe / "dump" / "raw" / "paired_hq" / "wav.scp").read_text().splitlines()) == 2
    res = run([recipe / "run.sh", *opts], cwd=recipe)
    assert res.stderr.count("complete; skipped") >= 3  # a rerun redoes nothing
