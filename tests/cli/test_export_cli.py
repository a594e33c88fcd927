"""`rnnkit export RUN --onnx FILE`: the run's model in ONNX, checked in onnxruntime, the run's facts in its metadata;
bad requests are one-line errors with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.cli import main
from tests.cli.test_cli import run_cli, tiny_text_run

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
onnx = pytest.importorskip("onnx")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "-q", "--data", "japanese_vowels", "--units", "8", "--epochs", "1", "--patience", "0",
                 "--baseline", "none", "--out", str(out)]) == 0
    (folder,) = out.iterdir()
    return folder


def test_export_writes_a_checked_file_with_the_run_facts(capsys, tmp_path, classify_run):
    path = tmp_path / "model.onnx"
    code, out, err = run_cli(capsys, "export", str(classify_run), "--onnx", str(path))
    assert code == 0, err
    assert "inputs x, lengths -> outputs y" in out and "max |diff|" in out
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    facts = json.loads(props["rnnkit.run"])
    assert props["rnnkit.task"] == "classify" and "scaler" in facts
    assert "torch_version" not in facts and "status" not in facts          # the machine and the run's life stay out
    # the file agrees with the run's model on the run's own (scaled) test sequences, padded
    from rnnkit.tasks.classify.pipeline import scale_sequences
    from rnnkit.tasks.classify.run import _data_for_run
    from rnnkit.tasks.runs import open_run
    from rnnkit.tasks.scaling import Standardizer

    run = open_run(classify_run)
    data = _data_for_run(run, None)
    sequences = scale_sequences(Standardizer.from_dict(facts["scaler"]), data.test_sequences[:20])
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    x = np.zeros((len(sequences), lengths.max(), sequences[0].shape[1]), dtype=np.float32)
    for i, s in enumerate(sequences):
        x[i, :len(s)] = s
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x, "lengths": lengths})[0]
    np.testing.assert_allclose(got, run.model().predict(sequences), rtol=0, atol=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["--onnx", "model.txt"], "ending in .onnx"),
    (["--onnx", "m.onnx", "--opset", "x"], "invalid int"),
])
def test_bad_requests_are_one_line_errors(capsys, classify_run, argv, message):
    code, out, err = run_cli(capsys, "export", str(classify_run), *argv)
    assert code == 2 and message in err


def test_missing_run(capsys, tmp_path):
    code, out, err = run_cli(capsys, "export", str(tmp_path / "nope"), "--onnx", str(tmp_path / "m.onnx"))
    assert code == 2 and "does not exist" in err and not (tmp_path / "m.onnx").exists()


def test_text_run_exports_the_network_after_its_vectorizer(capsys, tmp_path):
    folder = tiny_text_run(tmp_path, epochs=1)
    path = tmp_path / "text.onnx"
    code, out, err = run_cli(capsys, "export", str(folder), "--onnx", str(path))
    assert code == 0, err
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    vocabulary = json.loads(props["rnnkit.text_vectorization"])["vocabulary"]
    from rnnkit.tasks.runs import open_run

    model = open_run(folder).model()
    texts = ["great fresh love", "awful bland stale bad bad", "tasty"]
    assert vocabulary == model.layers[0].get_vocabulary()
    ids, lengths = model.layers[0].vectorize(texts)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": ids.numpy(), "lengths": lengths.numpy()})[0]
    np.testing.assert_allclose(got, model.predict(texts), rtol=0, atol=1e-5)
