"""PyTorch reference for the tsdl benchmarks (test/bench/*.bench.ts).

Reads one command per line on stdin and answers one JSON line on stdout, so that the Node
benchmark can interleave PyTorch rounds with its own in the same run:

  step N                  N training steps of the article MLP; answers {"ms": total}
  mm M K N TA TB REPS     REPS products (M x K)(K x N), operands transposed as TA/TB (0/1);
                          answers {"ms": total}
  quit

The article MLP: 784 -> 256 ReLU -> dropout 0.5 -> 128 ReLU -> dropout 0.5 -> 10 logits, Adam
lr 0.001, batch 64, softmax cross-entropy on the logits. A step is zero_grad, forward, loss,
backward, Adam update and reading the loss, like tfjs's trainOnBatch.

Usage: python3 torch-worker.py THREADS   (set OMP_WAIT_POLICY in the environment if wanted)
"""
import json
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5),
    torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Dropout(0.5),
    torch.nn.Linear(128, 10))
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
loss_fn = torch.nn.CrossEntropyLoss()
x = torch.rand(64, 784)
y = torch.randint(0, 10, (64,))


def step():
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "version": torch.__version__}), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if not cmd or cmd[0] == "quit":
        break
    if cmd[0] == "step":
        n = int(cmd[1])
        t = time.perf_counter()
        for _ in range(n):
            step()
        print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)
    elif cmd[0] == "mm":
        m, k, n, ta, tb, reps = (int(v) for v in cmd[1:7])
        a = torch.randn(k, m).t() if ta else torch.randn(m, k)
        b = torch.randn(n, k).t() if tb else torch.randn(k, n)
        torch.mm(a, b)
        t = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)
    else:
        print(json.dumps({"error": "unknown command " + line.strip()}), flush=True)
