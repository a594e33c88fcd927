"""`rnnkit evaluate RUN` of speech runs: on the run's own test split it reproduces metrics.json; on --data (a
folder of FSDD-named WAVs, or a CSV of path,text) it scores those recordings; bad --data is a clear error."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from rnnkit.cli import main
from rnnkit.data import DataError
from rnnkit.tasks.runs import open_run
from rnnkit.tasks.speech import save_speech_run, train_digit_classifier
from rnnkit.tasks.speech.ctc import save_ctc_run, train_ctc_model
from rnnkit.tasks.speech.evaluate import evaluate_ctc_run, evaluate_speech_run, labelled_wavs
from tests.speech.conftest import RECORDINGS, needs_mirror
from tests.speech.test_ctc_task import TINY as TINY_CTC
from tests.speech.test_ctc_task import _write
from tests.speech.test_digits import TINY, tiny_data


@pytest.fixture(scope="module")
def ctc_run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
        result = train_ctc_model(TINY_CTC)
        folder = save_ctc_run(result, tmp_path_factory.mktemp("ctc_runs"))
    return folder, result


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory):
    data = tiny_data()
    result = train_digit_classifier(TINY, data=data, baseline=False)
    root = tmp_path_factory.mktemp("speech_runs")
    clips = root / "test_clips"
    clips.mkdir()
    for clip in data.test_clips:
        shutil.copy(clip.path, clips / clip.path.name)
    return save_speech_run(result, root), result, clips


@pytest.mark.slow
@needs_mirror
def test_evaluate_of_a_ctc_run_reproduces_its_test_scores(ctc_run, monkeypatch, capsys):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
    folder, result = ctc_run
    scores, frame = evaluate_ctc_run(open_run(folder))
    assert scores == result.metrics["test"]
    assert list(frame["greedy"]) == result.transcripts["greedy"]
    assert main(["evaluate", str(folder), "-q"]) == 0
    out = capsys.readouterr().out
    assert "beam 3" in out and f"{result.metrics['test']['greedy']['wer']:.4f}" in out


@pytest.mark.slow
@needs_mirror
def test_evaluate_of_a_ctc_run_on_a_csv_of_wavs_scores_those_strings(ctc_run, tmp_path, capsys):
    folder, result = ctc_run
    strings = result.test_strings[:4]
    for i, s in enumerate(strings):
        _write(tmp_path / f"u{i}.wav", s.signal)
    # references written both ways ("4 0 7" and "407"); the paths relative to the CSV
    texts = [s.text if i % 2 else s.text.replace(" ", "") for i, s in enumerate(strings)]
    pd.DataFrame({"path": [f"u{i}.wav" for i in range(4)], "text": texts}).to_csv(tmp_path / "mine.csv", index=False)
    scores, frame = evaluate_ctc_run(open_run(folder), str(tmp_path / "mine.csv"))
    assert scores["greedy"]["utterances"] == 4 and list(frame["reference"]) == [s.text for s in strings]
    # the WAV round trip (16-bit) changes the features a little; the transcripts stay those of training
    assert list(frame["greedy"]) == result.transcripts["greedy"][:4]
    out = tmp_path / "scored.csv"
    assert main(["evaluate", str(folder), "--data", str(tmp_path / "mine.csv"), "-o", str(out), "-q"]) == 0
    assert pd.read_csv(out, dtype=str).columns.tolist() == ["path", "speaker", "reference", "greedy", "beam 3"]


@needs_mirror
def test_evaluate_of_a_digit_run_on_a_folder_equals_its_test_scores(speech_run, tmp_path, capsys):
    folder, result, clips = speech_run
    report, frame = evaluate_speech_run(open_run(folder), str(clips))
    test = result.metrics["test"]
    assert report["accuracy"] == test["accuracy"] and report["per_speaker"] == test["per_speaker"]
    assert report["confusion_matrix"] == test["confusion_matrix"] and len(frame) == 100
    assert main(["evaluate", str(folder), "--data", str(clips), "-q"]) == 0
    assert f"{test['accuracy']:.4f}" in capsys.readouterr().out
    # a CSV of the same files, with speakers, gives the same report
    pd.DataFrame({"path": [str(p) for p in sorted(clips.iterdir())],
                  "text": [p.name[0] for p in sorted(clips.iterdir())],
                  "speaker": [p.name.split("_")[1] for p in sorted(clips.iterdir())]}).to_csv(tmp_path / "c.csv",
                                                                                            index=False)
    again, _ = evaluate_speech_run(open_run(folder), str(tmp_path / "c.csv"))
    assert again["accuracy"] == report["accuracy"] and again["per_speaker"] == report["per_speaker"]


@pytest.mark.slow
@needs_mirror
def test_evaluate_of_a_digit_run_on_its_own_split_reads_all_of_fsdd(speech_run, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA_MIRROR", str(RECORDINGS.parents[1]))
    folder, _, _ = speech_run
    report, frame = evaluate_speech_run(open_run(folder))
    assert report["samples"] == 300 and len(report["per_speaker"]) == 6                # takes 0-4 of 6 speakers
    assert set(frame.columns) == {"file", "speaker", "actual", "predicted", "confidence"}


def test_labelled_wavs_says_what_is_wrong(tmp_path):
    (tmp_path / "seven.wav").write_bytes(b"")
    with pytest.raises(DataError, match="'seven.wav' is not named"):
        labelled_wavs(str(tmp_path), ctc=False)
    with pytest.raises(DataError, match="is a folder; a CTC run is scored on a CSV"):
        labelled_wavs(str(tmp_path), ctc=True)
    (tmp_path / "bad.csv").write_text("path,text\nseven.wav,seven\n")
    with pytest.raises(DataError, match=r"row 1 \(after the header\) has text 'seven'"):
        labelled_wavs(str(tmp_path / "bad.csv"), ctc=True)
    (tmp_path / "two.csv").write_text("path,text\nseven.wav,4 0\n")
    with pytest.raises(DataError, match="expected one digit"):
        labelled_wavs(str(tmp_path / "two.csv"), ctc=False)
    assert list(labelled_wavs(str(tmp_path / "two.csv"), ctc=True)["text"]) == ["4 0"]
    (tmp_path / "gone.csv").write_text("path,text\nnothere.wav,4\n")
    with pytest.raises(DataError, match="row 1 names .*nothere.wav'?, which does not exist"):
        labelled_wavs(str(tmp_path / "gone.csv"), ctc=False)
    (tmp_path / "cols.csv").write_text("file,label\nseven.wav,4\n")
    with pytest.raises(DataError, match="no column 'path' or 'text'"):
        labelled_wavs(str(tmp_path / "cols.csv"), ctc=False)
    with pytest.raises(DataError, match="does not exist"):
        labelled_wavs(str(tmp_path / "nope"), ctc=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no .wav files"):
        labelled_wavs(str(empty), ctc=False)


@needs_mirror
def test_predict_of_a_speech_run_points_to_transcribe(speech_run, capsys):
    folder, _, _ = speech_run
    assert main(["predict", str(folder)]) == 2
    assert "rnnkit transcribe" in capsys.readouterr().err
    assert main(["evaluate", str(folder), "--fill", "ffill"]) == 2
    assert "--fill: not options of a speech run" in capsys.readouterr().err
    assert json.loads((folder / "run.json").read_text())["task"] == "speech"
