"""Save a translation run to its folder; load its model; translate or score with it again.

    <run>/model.rnnkit          the TranslationModel, its tokenizers inside (`rnnkit translate <run> --text ...`)
    <run>/metrics.json          test BLEU / chrF (beam and greedy, with sacreBLEU's signatures), the baselines
    <run>/examples.txt          three test sentences: source, reference, beam, greedy
    <run>/test_beam.txt         the whole test set translated with the run's beam
    <run>/training_curve.csv    the loss of every step against time; validation.csv: loss and BLEU per epoch
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks.runs import RunFolder, finish_run, start_run

__all__ = ["load_translation_model", "save_translate_run"]


def save_translate_run(result: Any, out: str | Path | None = None, *, folder: Path | None = None) -> Path:
    """Write the run's results into ``folder`` (made by ``start_run``), or a new folder under ``out``."""
    import pandas as pd

    if folder is None:
        if out is None:
            raise TypeError("save_translate_run: pass out= (a folder for run folders) or folder= (a started run)")
        folder = start_run(out, task="translate", config=result.config)
    model = result.model
    state = {"data_source": result.pairs.source, "languages": list(result.pairs.languages),
             "source_vocab_size": model.source_tokenizer.vocab_size,
             "target_vocab_size": model.target_tokenizer.vocab_size, "vocab": result.config.vocab}
    finish_run(folder, task="translate", config=result.config, state=state, metrics=result.metrics, model=model)
    lines = []
    for e in result.examples:
        lines += [f"source:    {e['source']}", f"reference: {e['reference']}", f"beam:      {e['beam']}",
                  f"greedy:    {e['greedy']}", ""]
    (folder / "examples.txt").write_text("\n".join(lines), encoding="utf-8")
    if result.test_translations:
        (folder / "test_beam.txt").write_text("\n".join(result.test_translations) + "\n", encoding="utf-8")
    pd.DataFrame(result.curve, columns=["seconds", "loss"]).to_csv(folder / "training_curve.csv", index=False)
    pd.DataFrame(result.val_points).to_csv(folder / "validation.csv", index=False)
    return folder


def load_translation_model(run: RunFolder | str | Path) -> Any:
    """The TranslationModel of a run folder."""
    import rnnkit.tasks.translate.model  # noqa: F401  (registers TranslationModel, which the file names)
    from rnnkit.tasks.runs import open_run

    if not isinstance(run, RunFolder):
        run = open_run(run, task="translate")
    model = run.model()
    if not callable(getattr(model, "translate", None)):
        raise DataError(f"{str(run.path)!r} holds a {type(model).__name__}, not a translation model; pass a run "
                        f"folder trained with --task translate")
    return model
