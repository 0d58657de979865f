#!/usr/bin/env python
"""``g``'s last convolution (8 channels → one, 7×7) in fp32 on the CPU: ``models.Conv2d``'s depthwise convolution
and channel sum against oneDNN's convolution (``nn.Conv2d.forward``), in the ``cpu`` preset's whole training
iteration (``discriminator_losses`` → backward → Adam, ``generator_losses`` → backward → Adam), one thread,
channels-last as in ``train``; the two settings interleaved in one process (A/B rounds), so that a machine whose
speed drifts hits both alike. Also ``g``'s forward pass alone (what separation runs) and the largest difference
of ``g``'s output and weight gradients between the two (float rounding).

Run it as the CPU to be judged would run it: on a CPU with bf16 kernels the preset trains in bf16 and this
convolution is not used, so pass ``--no-avx512`` (``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``, fp32).

Usage::

    python benchmarks/bench_conv_one_channel.py --no-avx512 [--rounds 6] [--json benchmarks/results/conv_one_channel.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common as C  # noqa: E402

def run(rounds: int, per_round: int) -> dict:
    import numpy as np
    import torch

    from semisep_lib.method import losses, models
    from semisep_lib.method.config import Config
    from semisep_lib.method.spectral import STFT, crop

    torch.set_num_threads(1)
    cfg = Config.from_preset("cpu")
    tc = cfg.train
    stft = STFT(cfg.spectral)
    n, bs = cfg.spectral.segment_samples, tc.batch_size
    pool = torch.from_numpy(C.test_signal(20.0, cfg.spectral.sample_rate, 2, seed=1).reshape(-1))
    rng = np.random.default_rng(0)
    forwards = {"depthwise + channel sum (models.Conv2d)": models.Conv2d.forward,
                "oneDNN (nn.Conv2d.forward)": torch.nn.Conv2d.forward}

    def batch():
        starts = rng.integers(0, pool.numel() - n, size=bs)
        return crop(stft(torch.stack([pool[s:s + n] for s in starts])))

    def build():
        torch.manual_seed(0)
        g, d_A, d_C = (m.to(memory_format=torch.channels_last) for m in models.build_models(cfg))
        adam = lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=tuple(tc.betas), weight_decay=tc.weight_decay)  # noqa: E731
        return g, d_A, d_C, adam(g.parameters(), tc.lr_g), adam([*d_A.parameters(), *d_C.parameters()], tc.lr_d)

    state = {k: build() for k in forwards}

    def iteration(label):
        models.Conv2d.forward = forwards[label]
        g, d_A, d_C, opt_g, opt_d = state[label]
        d_loss, _ = losses.discriminator_losses(g, d_A, d_C, batch(), batch(), batch(), cfg.loss)
        opt_d.zero_grad(set_to_none=True), d_loss.backward(), opt_d.step()
        g_loss, _ = losses.generator_losses(g, d_A, d_C, batch(), batch(), cfg.loss, cfg.spectral.compress)
        opt_g.zero_grad(set_to_none=True), g_loss.backward(), opt_g.step()

    try:
        mag = batch().abs()
        grads, fwd = [], {}
        for label in forwards:  # same weights before any step: outputs and gradients side by side
            models.Conv2d.forward = forwards[label]
            g = state[label][0]
            y = g(mag)
            y.square().mean().backward()
            grads.append([y.detach()] + [p.grad.clone() for p in g.parameters()])
            g.zero_grad(set_to_none=True)
            with torch.no_grad():
                x = torch.cat([mag, mag])
                g(x)
                t = time.perf_counter()
                for _ in range(5):
                    g(x)
                fwd[label] = (time.perf_counter() - t) / 5
        rel = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(*grads) if b.abs().max() > 1e-6)
        for label in forwards:
            iteration(label)
        times = {k: [] for k in forwards}
        for _ in range(rounds):
            for label in forwards:
                t = time.perf_counter()
                for _ in range(per_round):
                    iteration(label)
                times[label].append((time.perf_counter() - t) / per_round)
    finally:
        models.Conv2d.forward = forwards["depthwise + channel sum (models.Conv2d)"]
    base = times["oneDNN (nn.Conv2d.forward)"]
    return {"precision": "fp32", "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "rounds": rounds, "per_round": per_round, "load_average": C.load_average(),
            "max_relative_difference": rel,  # over g's output and every gradient not ~0 (biases before a norm)
            "rows": [{"label": k, "iteration_s": round(statistics.median(v), 3),
                      "speedup": round(statistics.median(b / x for b, x in zip(base, v)), 3),
                      "g_forward_batch16_s": round(fwd[k], 4), "times": [round(x, 3) for x in v]}
                     for k, v in times.items()]}


def main(argv=None) -> dict | None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-avx512", action="store_true", help="AVX2 kernels only (fp32), in a subprocess")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--per-round", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--case", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        C.emit_case(run(args.rounds, args.per_round))
        return None
    t0 = time.perf_counter()
    env = C.NO_AVX512 if args.no_avx512 else {}
    case = C.run_case(Path(__file__), ["--case", "--rounds", str(args.rounds), "--per-round", str(args.per_round)],
                      env=env)
    result = {"benchmark": "conv_one_channel", "environment": env, "machine": C.machine_info(), **case}
    for r in result["rows"]:
        print(f"  {r['label']:<42} {r['iteration_s']:.3f} s/iteration  {r['speedup']:.2f}x  "
              f"g forward (16 examples) {r['g_forward_batch16_s'] * 1e3:.0f} ms")
    return C.finish(result, t0, args.json)


if __name__ == "__main__":
    main()
