"""The Multi30k German->English numbers of docs/results.md ("Translation"): the attention model and the
no-attention encoder-decoder trained one after the other on the same time budget, each saved as a run folder,
then the beam's length penalty compared on the validation set.

    RNNKIT_DATA_MIRROR=../shared/datasets python examples/translate_multi30k.py --time-budget 45 --out runs

Each run is what `rnnkit train --task translate --attention ATTENTION --time-budget MINUTES` trains (the same
TranslateConfig); one torch thread.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from rnnkit.tasks.translate import TranslateConfig, corpus_scores, save_translate_run, train_translate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-budget", type=float, default=45.0)
    parser.add_argument("--out", default="runs")
    parser.add_argument("--attention", nargs="+", default=["general", "none"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for attention in args.attention:
        config = TranslateConfig(attention=attention, time_budget=args.time_budget)
        result = train_translate(config, verbose=2)
        model, (val_src, val_ref) = result.model, result.pairs.splits["val"]
        folder = save_translate_run(result, args.out)
        test = result.metrics["test"]
        print(f"[{attention}] {folder}", flush=True)
        for name in ("beam", "greedy", "word_by_word", "copy"):
            s = test[name]
            print(f"  test {name:13s} BLEU {s['bleu']:6.2f}  chrF {s['chrf']:6.2f}  "
                  f"{s.get('sentences_per_second', '')} sent/s  {s.get('decode_seconds', '')} s", flush=True)
        print(f"  {test['beam']['bleu_signature']}", flush=True)
        penalties = {}
        for alpha in (0.0, 0.6, 1.0, 1.5):
            began = time.perf_counter()
            hyp = model.translate(val_src, beam_size=config.beam_size, length_penalty=alpha,
                                  max_length_ratio=config.max_length_ratio, max_length_offset=config.max_length_offset)
            penalties[alpha] = {"val_bleu": corpus_scores(hyp, val_ref)["bleu"],
                                "seconds": round(time.perf_counter() - began, 1)}
            print(f"  val beam {config.beam_size} alpha {alpha}: {penalties[alpha]}", flush=True)
        (folder / "length_penalty_val.json").write_text(json.dumps(penalties, indent=1) + "\n")
        print(json.dumps(result.metrics, indent=1), flush=True)
        print(open(folder / "examples.txt").read(), flush=True)


if __name__ == "__main__":
    main()
