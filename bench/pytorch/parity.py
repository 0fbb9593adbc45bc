"""PyTorch trained from exactly our inputs: a paired comparison with gradsign that removes seed noise.

Reads a directory written by packages/trainer/bench/pytorch-parity.mjs (our initial weights, GradSign counters,
batch indices and dropout masks), trains blog_cnn.BlogCnn on them with the same optimizer, evaluates in eval mode
on all 10,000 test images, and compares with our per-step losses and result when the directory has them.

    /usr/bin/python3 bench/pytorch/parity.py --data DIR --inputs EXPORT [--threads 2] [--json OUT]
    /usr/bin/python3 bench/pytorch/parity.py --data DIR --inputs EXPORT --eval-final
    /usr/bin/python3 bench/pytorch/parity.py --data DIR --inputs EXPORT --teacher-forced

--eval-final skips training: it loads our final weights and BatchNorm running statistics into PyTorch and
compares its eval-mode logits, accuracy and loss with ours on the same weights. --teacher-forced (an export made
with --trace) starts every step k from OUR weights and optimizer state (GradSign counters, Adam moments) after
step k − 1 and compares the batch loss, the BatchNorm running statistics, the weights and GradSign's counters after
the step: one-step parity at every state our run visits, without accumulated drift.
"""
import argparse, json, os
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from blog_cnn import BlogCnn, GradSign, read_idx


class MaskDropout(nn.Module):
    """Dropout with a given mask (0 or 1/(1 - 0.1) as float32, as ours); the identity in eval mode."""
    mask = None

    def forward(self, x):
        return x * self.mask if self.training else x


def our_names(model):
    """Our tensor names → (PyTorch tensor, layout change from ours)."""
    feats = list(model.features)
    convs = [m for m in feats if isinstance(m, nn.Conv2d)]
    bns = [m for m in feats if isinstance(m, nn.BatchNorm2d)]
    hwio = lambda a: a.transpose(3, 2, 0, 1)  # [3,3,cin,out] → [out,cin,3,3]
    same = lambda a: a
    names = {}
    for i, (conv, bn) in enumerate(zip(convs, bns), 1):
        names[f'conv{i}.weight'] = (conv.weight, hwio)
        names[f'conv{i}.bias'] = (conv.bias, same)
        for k in ('weight', 'bias', 'running_mean', 'running_var'):
            names[f'bn{i}.{k}'] = (getattr(bn, k), same)
    for i, lin in ((1, model.head[0]), (2, model.head[2])):
        names[f'lin{i}.weight'] = (lin.weight, lambda a: a.T)
        names[f'lin{i}.bias'] = (lin.bias, same)
    return names


def read_tensors(path, manifest):
    raw = open(path, 'rb').read() if isinstance(path, str) else path
    out = {}
    for t in manifest:
        n = int(np.prod(t['shape']))
        out[t['name']] = np.frombuffer(raw, np.float32 if t['dtype'] == 'float32' else np.int32, n,
                                       t['offset']).reshape(t['shape'])
    return out


def load_weights(model, values):
    names = our_names(model)
    assert set(names) == set(values), set(names) ^ set(values)
    with torch.no_grad():
        for name, a in values.items():
            target, layout = names[name]
            target.copy_(torch.from_numpy(np.array(layout(a))))
    return names


def evaluate(model, tx, ty):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(tx[i:i + 250]) for i in range(0, len(tx), 250)])
    loss = F.cross_entropy(logits, ty, reduction='sum').item() / len(tx)
    return logits.numpy(), dict(testAccuracy=(logits.argmax(1) == ty).float().mean().item(), testLoss=loss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--inputs', required=True)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--json')
    ap.add_argument('--eval-final', action='store_true')
    ap.add_argument('--teacher-forced', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta = json.load(open(os.path.join(args.inputs, 'meta.json')))
    cfg, ours = meta['config'], meta.get('ours')
    norm = lambda a: torch.from_numpy(a.astype(np.float32) / 128 - 0.5).unsqueeze(1)
    tx = norm(read_idx(f'{args.data}/t10k-images-idx3-ubyte'))
    ty = torch.from_numpy(read_idx(f'{args.data}/t10k-labels-idx1-ubyte').astype(np.int64))

    model = BlogCnn()
    drops = [i for i, m in enumerate(model.features) if isinstance(m, nn.Dropout)]
    for i in drops:
        model.features[i] = MaskDropout()
    drops = [model.features[i] for i in drops]

    if args.eval_final:
        load_weights(model, read_tensors(os.path.join(args.inputs, 'weights-final.bin'), meta['weights']))
        logits, result = evaluate(model, tx, ty)
        mine = np.fromfile(os.path.join(args.inputs, 'logits.bin'), np.float32).reshape(logits.shape)
        result.update(maxAbsLogitDiff=float(np.abs(logits - mine).max()),
                      argmaxDisagreements=int((logits.argmax(1) != mine.argmax(1)).sum()),
                      oursTestAccuracy=ours['testAccuracy'], oursTestLoss=ours['testLoss'])
        print(json.dumps(result))
        return

    names = load_weights(model, read_tensors(os.path.join(args.inputs, 'weights0.bin'), meta['weights']))
    opt_name, lr = cfg['optimizer'], cfg['learningRate']
    if opt_name not in ('gradsign', 'adam', 'sgd'):
        raise SystemExit(f'unsupported optimizer {opt_name}')
    opt = (GradSign(model.parameters(), lr) if opt_name == 'gradsign' else
           torch.optim.Adam(model.parameters(), lr=lr) if opt_name == 'adam' else
           torch.optim.SGD(model.parameters(), lr=lr))

    def load_state(state, done):
        """Our optimizer state (names '@model/<tensor>/<slot>') after `done` steps into PyTorch's."""
        slots = {}
        for name, a in state.items():
            tensor, slot = name[len('@model/'):].rsplit('/', 1)
            p, layout = names[tensor]
            slots.setdefault(p, {})[slot] = torch.from_numpy(np.array(layout(a)))
        assert len(slots) == (0 if opt_name == 'sgd' else len(names) - 16), len(slots)  # 16 running stats
        for p, st in slots.items():
            if opt_name == 'gradsign':
                opt.state[p]['counts'] = st['counts'].to(torch.int8)
            elif done > 0:  # Adam: PyTorch allocates zeros at its first step, as we do
                opt.state[p] = dict(step=torch.tensor(float(done)), exp_avg=st['m'], exp_avg_sq=st['v'])

    opt0 = read_tensors(os.path.join(args.inputs, 'opt0.bin'), meta['optimizerState'])
    load_state(opt0, 0)

    steps, b = cfg['steps'], cfg['batchSize']
    indices = np.fromfile(os.path.join(args.inputs, 'indices.bin'), np.int32).reshape(steps, b)
    sizes = [n * b for n in meta['dropoutSizes']]
    bits = np.unpackbits(np.fromfile(os.path.join(args.inputs, 'masks.bin'), np.uint8)).reshape(steps, sum(sizes))
    scale = np.float32(1) / np.float32(0.9)  # 1/(1 − rate) in float32, as dropoutMask
    xs = norm(read_idx(f'{args.data}/train-images-idx3-ubyte'))
    ys = torch.from_numpy(read_idx(f'{args.data}/train-labels-idx1-ubyte').astype(np.int64))

    def forward_step(step):
        split = np.split(bits[step], [sizes[0]])
        for drop, m, side in zip(drops, split, (14, 7)):
            mask = (m.astype(np.float32) * scale).reshape(b, side, side, 32).transpose(0, 3, 1, 2)
            drop.mask = torch.from_numpy(np.ascontiguousarray(mask))
        idx = torch.from_numpy(indices[step].astype(np.int64))
        opt.zero_grad()
        loss = F.cross_entropy(model(xs[idx]), ys[idx])
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    if args.teacher_forced:
        sizes_w = sum(4 * int(np.prod(t['shape'])) for t in meta['weights'])
        raw = np.memmap(os.path.join(args.inputs, 'trace.bin'), np.uint8, 'r').reshape(steps, -1)
        at = lambda k: (read_tensors(raw[k, :sizes_w].tobytes(), meta['weights']),
                        read_tensors(raw[k, sizes_w:].tobytes(), meta['optimizerState']))
        prev, rows = (read_tensors(os.path.join(args.inputs, 'weights0.bin'), meta['weights']), opt0), []
        for step in range(steps):
            load_weights(model, prev[0])
            load_state(prev[1], step)
            loss = forward_step(step)
            cur = at(step)
            d = {n: np.abs(p.detach().numpy() - lay(cur[0][n])) for n, (p, lay) in names.items()}
            worst = lambda keep: max((float(v.max()), n) for n, v in d.items() if keep(n))
            row = dict(step=step + 1, lossDiff=abs(loss - ours['losses'][step]),
                       runningStatsDiff=worst(lambda n: 'running' in n), weightsDiff=worst(lambda n: 'running' not in n),
                       weightsOver1e5=int(sum((v > 1e-5).sum() for n, v in d.items() if 'running' not in n)))
            if opt_name == 'gradsign':
                row['countersDiffering'] = 0
                for name, c in cur[1].items():
                    p, layout = names[name[len('@model/'):].rsplit('/', 1)[0]]
                    row['countersDiffering'] += int((opt.state[p]['counts'].numpy() != layout(c)).sum())
            rows.append(row)
            prev = cur
        # Largest differences over the steps; elements over 1e-5 (and GradSign counters) counted over all steps.
        summary = {k: (sum if k in ('weightsOver1e5', 'countersDiffering') else max)(r[k] for r in rows)
                   for k in rows[0] if k != 'step'}
        summary.update(stepsWithWeightsOver1e5=sum(r['weightsOver1e5'] > 0 for r in rows), steps=steps)
        if args.json:
            json.dump(dict(summary=summary, rows=rows), open(args.json, 'w'))
        print(json.dumps(summary))
        return

    losses = []
    for step in range(steps):
        losses.append(forward_step(step))
    _, result = evaluate(model, tx, ty)
    result = dict(framework=f'pytorch {torch.__version__}', optimizer=opt_name, lr=lr, seed=cfg['seed'],
                  steps=steps, **result, losses=losses)
    if ours:
        d = np.abs(np.array(losses) - np.array(ours['losses']))
        result.update(oursTestAccuracy=ours['testAccuracy'], oursTestLoss=ours['testLoss'],
                      maxAbsLossDiff=float(d.max()), absLossDiffPerStep=d.tolist())
        # Our final weights and running statistics against PyTorch's: per tensor, the largest |difference|.
        final = read_tensors(os.path.join(args.inputs, 'weights-final.bin'), meta['weights'])
        diff = {n: float(np.abs(names[n][0].detach().numpy() - layout(final[n])).max())
                for n, (_, layout) in names.items()}
        result['finalStateMaxAbsDiff'] = max(diff.items(), key=lambda kv: kv[1])
    if args.json:
        json.dump(result, open(args.json, 'w'))
    print(json.dumps({k: v for k, v in result.items() if k not in ('losses', 'absLossDiffPerStep')}))


if __name__ == '__main__':
    main()
