"""lrspeech.data: Kaldi-style data dirs, audio I/O, validation and repair (the bottom layer).

Usage: python -m lrspeech.bin.validate_data_dir data/paired_hq --expected-sr 16000

Modules: `datadir` (DataDir load/save), `audio` (load_audio, write_wav), `validate`
(validate_data_dir, DataDirError), `fix` (fix_data_dir), `ops` (combine, subset, split,
filter, compute_utt2dur), `corpus` (datadir_from_metadata), `kaldi_files` and `atomic`
(line-level I/O and atomic writes other layers reuse). Nothing here imports torch or ESPnet.
"""
