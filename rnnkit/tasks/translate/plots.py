"""The attention heatmap of one sentence: α_tj, how much target token t read source token j."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.data import DataError
from rnnkit.tasks.plots import pyplot

__all__ = ["plot_attention"]


def _pieces(tokenizer: Any, ids: list[int]) -> list[str]:
    """Each id as the text it spells (byte-level BPE pieces; a partial UTF-8 byte shows as a replacement)."""
    return [tokenizer.decode([i], skip_special=False).replace("\n", "\\n") or "·" for i in ids]


def plot_attention(model: Any, text: str, path: Path, **options: Any) -> Path:
    """Translate ``text`` with ``options`` (as ``model.translate``) and draw α (target × source) to ``path``."""
    if not text.strip():
        raise DataError("--plot-attention: the --text is empty; there is nothing to attend to")
    source_ids = model.encode_sources([text.strip()])[0].tolist()
    target_ids = model.decode_ids([model.encode_sources([text.strip()])[0]], **options)[0]
    weights = model.attention_map(text.strip(), target_ids)      # (T + 1, S): row t predicts token t, the last eos
    if weights is None:
        raise DataError("--plot-attention: this run's model has no attention (attention = \"none\"); train one "
                        "with --attention general (or bahdanau, dot)")
    plt = pyplot()
    rows = _pieces(model.target_tokenizer, target_ids) + ["</s>"]
    cols = _pieces(model.source_tokenizer, source_ids[:-1]) + ["</s>"]
    figure, axis = plt.subplots(figsize=(max(4.0, 0.45 * len(cols) + 1.5), max(3.0, 0.4 * len(rows) + 1.5)))
    axis.imshow(weights.numpy(), cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(len(cols)), cols, rotation=90)
    axis.set_yticks(range(len(rows)), rows)
    axis.set_xlabel("source")
    axis.set_ylabel("translation")
    axis.set_title(model.target_tokenizer.decode(target_ids)[:80], fontsize=9)
    figure.tight_layout()
    path = Path(path)
    if path.is_dir():
        raise DataError(f"--plot-attention {str(path)!r} is a folder; expected a .png file path")
    try:
        figure.savefig(path, dpi=110)
    except OSError as error:
        raise DataError(f"--plot-attention {str(path)!r}: cannot write there ({error.strerror or error})") from None
    finally:
        plt.close(figure)
    return path
