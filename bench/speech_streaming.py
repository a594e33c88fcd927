"""Streaming latency of a unidirectional CTC run: each test string is pushed 10 ms (80 samples) at a time
through `StreamingTranscriber`; the wall time of every push is one frame's processing latency.

    rnnkit train --task ctc --no-bidirectional --normalization global --out runs
    RNNKIT_DATA_MIRROR=../shared/datasets python bench/speech_streaming.py runs/ctc-fsdd-...   # -> bench/results/speech_streaming.json

Reported: per-10-ms-chunk latency (mean, median, 95th percentile, max), the real-time factor (processing
time / audio time), the algorithmic latency (window + delta look-ahead + frame stack), and the WER of the
streamed greedy transcripts beside the offline greedy ones of the same run (they should be equal).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.tasks.runs import open_run
from rnnkit.tasks.speech.ctc import TEST_SEED, _split_clips, ctc_scores, transcribe_features, utterance_features
from rnnkit.tasks.speech.connected import make_strings
from rnnkit.tasks.speech.run import front_end_of
from rnnkit.tasks.speech.streaming import StreamingTranscriber


def main(folder: str, count: int = 100) -> None:
    torch.set_num_threads(1)
    run = open_run(folder, task="ctc")
    config, front_end = run.config, front_end_of(run)
    _, test_clips = _split_clips(config)
    strings = make_strings(test_clips, count=count, min_digits=config.min_digits, max_digits=config.max_digits,
                           seed=TEST_SEED)
    model = run.model()
    chunk = front_end.hop_length                                            # 80 samples: 10 ms
    latencies, streamed, audio_seconds, busy = [], [], 0.0, 0.0
    for string in strings:
        transcriber = StreamingTranscriber(model, front_end, frame_stack=run.state["frame_stack"],
                                           scaler=run.state["scaler"])
        for i in range(0, len(string.signal), chunk):
            start = time.perf_counter()
            transcriber.push(string.signal[i:i + chunk])
            latencies.append(time.perf_counter() - start)
        start = time.perf_counter()
        transcriber.flush()
        busy += time.perf_counter() - start
        streamed.append(transcriber.text)
        audio_seconds += len(string.signal) / front_end.sample_rate
    busy += sum(latencies)
    features = [utterance_features(s.signal, front_end, run.state["frame_stack"], run.state["scaler"]) for s in strings]
    offline = [text for text, _ in transcribe_features(model, features, beam_size=1)]
    references = [s.text for s in strings]
    ms = np.array(latencies) * 1000
    lookahead_ms = front_end.delta_width * front_end.delta_order * front_end.hop_ms
    out = {"command": " ".join(["python", *sys.argv]), "run": str(run.path), "strings": count,
           "chunk_ms": front_end.hop_ms, "threads": 1,
           "latency_ms_per_10ms_chunk": {"mean": round(float(ms.mean()), 3), "median": round(float(np.median(ms)), 3),
                                         "p95": round(float(np.percentile(ms, 95)), 3), "max": round(float(ms.max()), 3)},
           "real_time_factor": round(busy / audio_seconds, 4),
           "algorithmic_latency_ms": {"window": front_end.frame_ms, "delta_lookahead": lookahead_ms,
                                      "frame_stack": (run.state["frame_stack"] - 1) * front_end.hop_ms},
           "streamed_equals_offline": streamed == offline,
           "wer_streamed_greedy": ctc_scores(references, streamed), "wer_offline_greedy": ctc_scores(references, offline)}
    path = Path(__file__).parent / "results" / "speech_streaming.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
