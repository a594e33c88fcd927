"""rnnkit train --task speech --data fsdd, rnnkit transcribe, and their one-line exit-2 errors."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli import main

RECORDINGS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "fsdd" / "recordings"
pytestmark = pytest.mark.skipif(not RECORDINGS.is_dir(), reason=f"the FSDD mirror {RECORDINGS} is not here")
TINY = ["--units", "8", "--epochs", "1", "--batch-size", "64"]


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory) -> Path:
    """A tiny isolated-digit run on all of FSDD (fetched from the mirror into the usual cache)."""
    out = tmp_path_factory.mktemp("speech_runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
        assert main(["train", "-q", "--task", "speech", "--data", "fsdd", "--out", str(out), *TINY]) == 0
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return folder


@pytest.mark.slow
def test_train_writes_a_run_folder_with_the_baseline_beside(speech_run, capsys):
    metrics = json.loads((speech_run / "metrics.json").read_text())
    test = metrics["test"]
    assert test["samples"] == 300 and len(test["per_speaker"]) == 6
    assert test["baselines"]["mfcc_logistic"]["accuracy"] > 0.9          # the baseline is strong on FSDD
    state = json.loads((speech_run / "run.json").read_text())
    assert state["status"] == "done" and state["front_end"]["n_mfcc"] == 13


@pytest.mark.slow
def test_transcribe_prints_a_digit_per_file_and_writes_a_csv(speech_run, tmp_path, capsys):
    clips = [RECORDINGS / "7_theo_3.wav", RECORDINGS / "2_lucas_1.wav"]
    out = tmp_path / "t.csv"
    assert main(["transcribe", str(speech_run), *map(str, clips), "-o", str(out), "-q"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.split("\t")[1] in "0123456789" for line in lines)
    assert out.read_text().splitlines()[0] == "path,text,confidence"


def _bad_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(2)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(np.zeros(1600, dtype="<i2").tobytes())
    return path


@pytest.mark.slow
@pytest.mark.parametrize("argv, needle", [
    (["transcribe", "{run}", "{stereo}"], "expected a mono WAV"),
    (["transcribe", "{run}", "{missing}"], "no such WAV file"),
    (["transcribe", "{run}", "{notwav}"], "expected a 16-bit PCM WAV file"),
    (["transcribe", "{run}", "--beam", "2", "{clip}"], "--beam applies to CTC runs"),
    (["transcribe", "{run}", "--beam", "0", "{clip}"], "--beam must be an int >= 1"),
    (["transcribe", "{nowhere}", "{clip}"], "does not exist"),
    (["predict", "{run}"], "rnnkit transcribe"),   # evaluate scores a speech run; predict points to transcribe
    (["transcribe", "{run}", "--stream", "{clip}"], "--stream transcribes with a CTC run"),
])
def test_transcribe_errors_are_one_line_and_exit_2(speech_run, tmp_path, capsys, argv, needle):
    (tmp_path / "notes.wav").write_text("not audio")
    names = {"run": speech_run, "stereo": _bad_wav(tmp_path / "stereo.wav"), "missing": tmp_path / "gone.wav",
             "notwav": tmp_path / "notes.wav", "clip": RECORDINGS / "7_theo_3.wav", "nowhere": tmp_path / "no_run"}
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err


@pytest.mark.parametrize("argv, needle", [
    (["train", "--task", "speech", "--split", "speaker"], "needs test_speaker"),
    (["train", "--task", "speech", "--split", "speaker", "--test-speaker", "bob"], "test_speaker must be one of"),
    (["train", "--task", "speech", "--data", "timit"], "data must be 'fsdd'"),
    (["train", "--task", "speech", "--n-mfcc", "40"], "n_mfcc must be in"),
    (["train", "--task", "speech", "--normalization", "global"], "SpeechConfig.normalization must be one of"),
    (["train", "--task", "ctc", "--normalization", "speaker"], "CTCConfig.normalization must be one of"),
])
def test_train_config_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err
    assert not any(tmp_path.iterdir())                                    # no run folder left behind


CTC_TINY = ["--train-strings", "30", "--test-strings", "4", "--max-digits", "3", "--units", "8", "--layers", "1",
            "--epochs", "1", "--beam-size", "2"]


@pytest.mark.slow
def test_train_ctc_and_transcribe_a_string(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
    assert main(["train", "-q", "--task", "ctc", "--out", str(tmp_path / "runs"), *CTC_TINY]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["test"]) == {"greedy", "beam 2"} and metrics["test"]["greedy"]["utterances"] == 4
    assert (folder / "test_transcripts.csv").read_text().splitlines()[0] == "speaker,reference,greedy,beam 2"
    capsys.readouterr()
    assert main(["transcribe", str(folder), str(RECORDINGS / "7_theo_3.wav"), "--beam", "1"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert all(w in "0123456789" for w in line.split("\t")[1].split())
    assert main(["transcribe", str(folder), "--stream", str(RECORDINGS / "7_theo_3.wav")]) == 2
    assert "unidirectional" in capsys.readouterr().err                  # the default CTC model is bidirectional


def test_ctc_strings_too_short_for_their_labels_are_an_error_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
    argv = ["train", "--task", "ctc", "--out", str(tmp_path), *CTC_TINY, "--frame-stack", "60", "--min-digits", "3"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "need at least" in err and "--frame-stack" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_unidirectional_globally_normalised_ctc_run_streams(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
    assert main(["train", "-q", "--task", "ctc", "--out", str(tmp_path), *CTC_TINY, "--no-bidirectional",
                 "--normalization", "global"]) == 0
    (folder,) = tmp_path.iterdir()
    wav = str(RECORDINGS / "7_theo_3.wav")
    capsys.readouterr()
    assert main(["transcribe", str(folder), wav, "--beam", "1"]) == 0
    offline = capsys.readouterr().out.split("\t")[1]
    assert main(["transcribe", str(folder), "--stream", wav]) == 0
    assert capsys.readouterr().out.split("\t")[1].split() == offline.split()   # streamed = offline greedy
