"""Train a small LSTM with rnnkit's hand-derived BPTT: predict the next value of a noisy sine wave.

    python examples/train_lstm.py
"""

import math

import torch

import rnnkit.nn as rnn

torch.manual_seed(0)
T, B = 40, 64
t = torch.linspace(0, 8 * math.pi, 2000)
series = torch.sin(t) + 0.05 * torch.randn_like(t)
starts = torch.randint(0, len(series) - T - 1, (B * 8,))
windows = torch.stack([series[s:s + T + 1] for s in starts]).unsqueeze(-1)    # (N, T+1, 1)
x, y = windows[:, :-1], windows[:, 1:]

lstm = rnn.LSTM(1, 32, batch_first=True)
head = torch.nn.Linear(32, 1)
optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-2)
for epoch in range(15):
    for i in range(0, len(x), B):
        out, _ = lstm(x[i:i + B])
        loss = torch.nn.functional.mse_loss(head(out), y[i:i + B])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1:2d}  mse {loss.item():.5f}")
