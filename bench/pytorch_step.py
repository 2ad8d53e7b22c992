#!/usr/bin/env python3
"""PyTorch baseline of bench/train_step.ts: one training step (forward, loss, backward,
torch.optim.SGD update with momentum) of the same network, on the same weights and batch.

bench/train_step.ts writes an .npz holding the batch (``input.<name>``), the labels
(``target``) and every parameter under its ONNX initializer name, which for the models
exported by PyTorch is the PyTorch ``state_dict`` key. This script rebuilds the network
(``--arch``), loads those weights, times ``--warmup`` + ``--steps`` steps on
``--threads`` intra-op threads and prints one JSON object on stdout.

PyTorch is never a dependency of splitgate; when ``import torch`` fails the script prints
``{"unavailable": "..."}`` and exits with status 3 so the caller can say so and carry on.

Architectures (checked against /work/shared/models/pneumonia_cnn.onnx: Conv 3x3 pads 1,
Relu, MaxPool 2x2 stride 2 pads 0, Flatten, Gemm transB=1):

- ``pneumonia_cnn``: features = Conv(1,16,3,p1)-ReLU-MaxPool2-Conv(16,32,3,p1)-ReLU-MaxPool2,
  head = Flatten-Linear(1568,64)-ReLU-Linear(64,1)
- ``zoo_cnn`` (models/zoo/cnn.ts buildCnn, the fallback when /work/shared is missing):
  blockK = Conv3x3 p1 - BatchNorm - ReLU - MaxPool2, head = fc1 - ReLU - fc2 (no dropout)
- ``tiny_encoder``, ``lstm_cls``: tests/fixtures/models/seq_models.py's transformer encoder
  (2 layers, d_model 16, batch_first, GELU, class token) and bidirectional 2-layer LSTM
  classifiers, on (N, 6, 5) sequences, 3 classes

Usage: python3 bench/pytorch_step.py --npz FILE --arch pneumonia_cnn --loss bce
       [--steps 20] [--warmup 3] [--threads 2] [--lr 0.01] [--momentum 0.9]
"""

import argparse
import json
import resource
import statistics
import sys
import time


def build(arch, torch):
    nn = torch.nn
    if arch == "pneumonia_cnn":
        class PneumoniaCnn(nn.Module):
            # Names match the ONNX initializers (features.0.weight, head.1.weight, ...).
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                )
                self.head = nn.Sequential(nn.Flatten(), nn.Linear(1568, 64), nn.ReLU(), nn.Linear(64, 1))

            def forward(self, x):
                return self.head(self.features(x))

        return PneumoniaCnn()
    if arch == "zoo_cnn":
        class Block(nn.Module):
            def __init__(self, cin, cout):
                super().__init__()
                self.conv = nn.Conv2d(cin, cout, 3, padding=1)
                self.bn = nn.BatchNorm2d(cout)

            def forward(self, x):
                return torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(1568, 64)
                self.fc2 = nn.Linear(64, 1)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))

        class Zoo(nn.Module):
            def __init__(self):
                super().__init__()
                self.block1 = Block(1, 16)
                self.block2 = Block(16, 32)
                self.head = Head()

            def forward(self, x):
                return self.head(self.block2(self.block1(x)))

        return Zoo()
    if arch == "tiny_encoder":
        class TinyEncoder(nn.Module):
            # tests/fixtures/models/seq_models.py's Encoder(batch_first=True, "gelu").
            def __init__(self):
                super().__init__()
                self.embed = nn.Linear(5, 16)
                self.cls = nn.Parameter(torch.zeros(1, 1, 16))
                layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0,
                                                   activation="gelu", batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                self.head = nn.Linear(16, 3)

            def forward(self, x):
                h = torch.cat([self.cls.expand(x.shape[0], -1, -1), self.embed(x)], dim=1)
                return self.head(self.encoder(h).mean(dim=1))

        return TinyEncoder()
    if arch == "lstm_cls":
        class LstmCls(nn.Module):
            # tests/fixtures/models/seq_models.py's Recurrent(nn.LSTM, 2).
            def __init__(self):
                super().__init__()
                self.embed = nn.Linear(5, 8)
                self.rnn = nn.LSTM(8, 8, num_layers=2, batch_first=True, bidirectional=True)
                self.head = nn.Linear(16, 3)

            def forward(self, x):
                y, _ = self.rnn(torch.tanh(self.embed(x)))
                return self.head(y[:, -1])

        return LstmCls()
    raise SystemExit(
        f"pytorch_step.py: unknown --arch {arch!r}: expected pneumonia_cnn, zoo_cnn, tiny_encoder or lstm_cls")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npz", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--loss", choices=["bce", "ce"], default="bce")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    args = ap.parse_args()
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(json.dumps({"unavailable": f"{type(e).__name__}: {e}"}))
        sys.exit(3)

    torch.set_num_threads(args.threads)
    arrays = np.load(args.npz)
    model = build(args.arch, torch)
    state = model.state_dict()
    loaded = {}
    for key in state:
        if key.endswith("num_batches_tracked"):
            loaded[key] = state[key]
            continue
        if key not in arrays:
            raise SystemExit(f"pytorch_step.py: {args.npz} has no array {key!r} for the {args.arch} model")
        loaded[key] = torch.from_numpy(np.array(arrays[key]))
    model.load_state_dict(loaded)
    model.train()
    inputs = [k for k in arrays.files if k.startswith("input.")]
    if len(inputs) != 1:
        raise SystemExit(f"pytorch_step.py: expected one input.* array in {args.npz}, got {inputs}")
    x = torch.from_numpy(np.array(arrays[inputs[0]]))
    y = torch.from_numpy(np.array(arrays["target"]))
    loss_fn = torch.nn.BCEWithLogitsLoss() if args.loss == "bce" else torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

    graph_ms, update_ms, losses = [], [], []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        losses.append(float(loss.detach()))
        if i >= args.warmup:
            graph_ms.append((t1 - t0) * 1e3)
            update_ms.append((t2 - t1) * 1e3)
    # ru_maxrss: the kernel's high-water mark of this process's RSS, in KiB on Linux
    # (getrusage(2)); bench/_timing.ts kernelPeakRss reports the same for the engines.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "engine": "pytorch",
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "graphMs": graph_ms,
        "updateMs": update_ms,
        "stepMs": [g + u for g, u in zip(graph_ms, update_ms)],
        "firstLoss": losses[0],
        "lastLoss": losses[-1],
        "steps": len(losses),
        "kernelPeakRss": peak,
        "medianStepMs": statistics.median([g + u for g, u in zip(graph_ms, update_ms)]),
    }))


if __name__ == "__main__":
    main()
