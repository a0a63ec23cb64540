#!/usr/bin/env python
"""One TextRNN training step on the CPU: torch's packed sequence (hf_lth before 2026-12-06) against one call a layer
and direction on the padded batch (`recur_over_real_tokens`, today), fp32.

The model is the full-size LSTM study's (`experiments/imdb_lstm_full.json`: 25k vocabulary, embedding 100, hidden
128, one bidirectional layer) and the vanilla RNN's; a batch is 64 reviews at most 200 tokens, their lengths those
of 64 reviews of the shipped IMDb sample (words, capped at 200). Each setting runs in a fresh process, `--processes`
times, interleaved; each process times `--steps` steps after one warm-up step and reports the median. Printed: the
median over processes, the range, and padded / packed step time (the median of the per-process pairs' ratios;
its inverse, the speed-up, in the note).

    bash scripts/quiet.sh python benchmarks/bench_rnn_step.py     # about 6 minutes on 2 cores, on a quiet machine
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

STEP = r"""
import json, statistics, sys, time
import pandas as pd, torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from hf_lth.models import TextRNNConfig, TextRNNForSequenceClassification, modeling_text_rnn
cell, path, steps, sample = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def packed(self, embedded, lengths):  # the recurrence of hf_lth before the padded path, for the comparison
    sequence = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
    torch_module = next(c for c in type(self).__mro__ if c in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU))
    output, hidden = torch_module.forward(self, sequence)
    hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    directions = 2 if self.bidirectional else 1
    last = hidden.view(self.num_layers, directions, hidden.shape[1], self.hidden_size)[-1]
    output, _ = pad_packed_sequence(output, batch_first=True, total_length=embedded.shape[1])
    return output, torch.cat(list(last.unbind(0)), dim=-1)

if path == "packed":
    modeling_text_rnn.RealTokensRecurrence.forward = packed
torch.manual_seed(0)
model = TextRNNForSequenceClassification(TextRNNConfig(vocab_size=25000, embedding_dim=100, hidden_size=128,
                                                       num_layers=1, bidirectional=True, cell=cell))
optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
words = pd.read_parquet(sample, columns=["text"])["text"].head(64).str.split().str.len().clip(upper=200)
mask = (torch.arange(200)[None, :] < torch.tensor(words.to_numpy())[:, None]).long()
labels = torch.randint(0, 2, (64,))
def step():
    ids = torch.randint(1, 25000, (64, 200)) * mask
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward(); optimizer.step(); optimizer.zero_grad()
step()
times = []
for _ in range(steps):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
print(json.dumps({"median_ms": 1000 * statistics.median(times), "threads": torch.get_num_threads(),
                  "equal_length_share": float((mask.sum(1) == 200).float().mean())}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--cells", default="lstm,rnn")
    parser.add_argument("--threads", type=int, default=2, help="torch threads a process (a one-job study has 2)")
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    args = parser.parse_args()
    sample = common.SAMPLE_DATA / "imdb_train.parquet"
    cells = args.cells.split(",")
    settings = [(cell, path) for cell in cells for path in ("packed", "padded")]
    raw: dict[str, list[float]] = {f"{cell} {path}": [] for cell, path in settings}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    for _ in range(args.processes):
        for cell, path in settings:
            out = subprocess.run([sys.executable, "-c", STEP, cell, path, str(args.steps), str(sample)], env=env,
                                 check=True, capture_output=True, text=True).stdout
            raw[f"{cell} {path}"].append(json.loads(out.strip().splitlines()[-1])["median_ms"])
    rows = []
    for cell in cells:
        packed, padded = raw[f"{cell} packed"], raw[f"{cell} padded"]
        speedups = [old / new for old, new in zip(packed, padded)]
        time_ratios = [new / old for old, new in zip(packed, padded)]
        rows.append(common.Row(
            f"{cell}: training step, padded batch, one call a layer and direction (batch 64 x 200, {args.threads} "
            f"threads, fp32)", statistics.median(padded), "ms", "packed sequence (nn.LSTM/nn.RNN)",
            statistics.median(packed), paired_ratio=statistics.median(time_ratios),
            note=(f"speed-up {statistics.median(speedups):.2f}x (range {min(speedups):.2f}-{max(speedups):.2f}) over "
                  f"{len(speedups)} process pairs; padded {min(padded):.0f}-{max(padded):.0f} ms, packed "
                  f"{min(packed):.0f}-{max(packed):.0f} ms")))
    command = (f"bash scripts/quiet.sh python benchmarks/bench_rnn_step.py --processes {args.processes} "
               f"--steps {args.steps} --cells {args.cells} --threads {args.threads}")
    common.report("rnn_step", "TextRNN training step: packed sequence against the padded batch", rows, raw,
                  args.out, {"command": command, "sample": str(sample.relative_to(common.REPO_ROOT))})


if __name__ == "__main__":
    main()
