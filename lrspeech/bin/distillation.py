"""Knowledge distillation's choices and data (lrspeech.pipeline.distillation), for lr.sh stage 7.

Usage: python -m lrspeech.bin.distillation student --kd_student fastspeech \
    --kd_student_init teacher \
    --tts_align ctc --tts_config conf/tts/fastspeech2_tiny.yaml \
    --fastspeech_config conf/tts/fastspeech_tiny.yaml --teacher exp/dt/round2/tts/model
       python -m lrspeech.bin.distillation text_seed --seed 1
       python -m lrspeech.bin.distillation asr_data --real dump/raw/paired_hq \
    --speech_dir dump/raw/unpaired_speech --hyp_dir exp/kd/asr_hyp --last_dt exp/dt/round2 \
    --kd_dir exp/kd --ratio 0.5 --seed 1

`student` prints the TTS student's config, then its start (a model dir, or `scratch`), then
why, one per line; `text_seed` the teacher's text-sampling seed; `asr_data` writes
<kd_dir>/speech_pairs and <kd_dir>/asr_train.
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from lrspeech.data.cli import run_cli, setup_logging
from lrspeech.pipeline import distillation as kd


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("student", help="the TTS student's config and start")
    s.add_argument("--kd_student", required=True, choices=kd.STUDENTS)
    s.add_argument("--kd_student_init", required=True, choices=kd.INITS)
    s.add_argument("--tts_align", required=True, choices=("ctc", "attention"))
    s.add_argument("--tts_config", required=True, help="the teacher's config")
    s.add_argument("--fastspeech_config", required=True,
                   help="a FastSpeech student's config when the teacher uses attention")
    s.add_argument("--teacher", required=True, help="the TTS teacher's packed model dir")
    t = sub.add_parser("text_seed", help="the TTS teacher's text-sampling seed")
    t.add_argument("--seed", type=int, required=True)
    a = sub.add_parser("asr_data", help="the ASR student's training data")
    a.add_argument("--real", type=Path, nargs="+", required=True, help="real paired data dirs")
    a.add_argument("--speech_dir", type=Path, required=True, help="the unpaired speech")
    a.add_argument("--hyp_dir", type=Path, required=True, help="the ASR teacher's decoding")
    a.add_argument("--last_dt", type=Path, required=True, help="the last DT round's dir")
    a.add_argument("--kd_dir", type=Path, required=True)
    a.add_argument("--ratio", type=float, required=True, help="synthetic share")
    a.add_argument("--seed", type=int, required=True)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    setup_logging()

    def body() -> int:
        if a.cmd == "student":
            st = kd.tts_student(a.kd_student, a.kd_student_init, a.tts_align, a.tts_config,
                                a.fastspeech_config, a.teacher)
            print(f"{st.config}\n{st.init or 'scratch'}\n{st.why}")
        elif a.cmd == "text_seed":
            print(kd.text_seed(a.seed))
        else:
            synth = kd.synthetic_source(a.last_dt, a.kd_dir)
            dd = kd.asr_student_data(a.real, a.speech_dir, a.hyp_dir, synth, a.ratio, a.seed,
                                     a.kd_dir)
            print(f"{a.kd_dir}/asr_train: {len(dd.utt_ids)} utterances (synthetic: {synth})")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
