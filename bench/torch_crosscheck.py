"""Cross-checks imbarb-nn against PyTorch: the same weights and batch must give the same
quantile-Huber loss and the same gradients (parameters and input) within 1e-4 relative.

    cargo run --release -p imbarb-nn --example crosscheck -- /tmp/crosscheck.safetensors
    python3 bench/torch_crosscheck.py /tmp/crosscheck.safetensors

Skips cleanly (exit 0, message) when torch is not installed.
"""
import json
import sys

try:
    import torch
except Exception as e:  # ImportError, or a torch wheel whose CUDA libraries are missing
    print(f"SKIPPED: torch is not importable here ({type(e).__name__}: {str(e)[:120]})")
    sys.exit(0)

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import safetensors_min  # noqa: E402

torch.set_default_dtype(torch.float64)


def main(path):
    t, meta = safetensors_min.load(path)
    cfg = json.loads(meta["net.config"])
    widths = [cfg["input"], *cfg["hidden"], cfg["output"]]
    x = torch.tensor(t["x"], dtype=torch.float64, requires_grad=True)
    params = {}
    h = x
    for l in range(len(widths) - 1):
        w = torch.tensor(t[f"net.layers.{l}.weight"], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(t[f"net.layers.{l}.bias"], dtype=torch.float64, requires_grad=True)
        params[f"layers.{l}.weight"], params[f"layers.{l}.bias"] = w, b
        h = h @ w + b  # imbarb stores W as [in, out]
        if l < len(widths) - 2:
            if cfg["layer_norm"]:
                g = torch.tensor(t[f"net.layers.{l}.ln_gain"], dtype=torch.float64, requires_grad=True)
                s = torch.tensor(t[f"net.layers.{l}.ln_shift"], dtype=torch.float64, requires_grad=True)
                params[f"layers.{l}.ln_gain"], params[f"layers.{l}.ln_shift"] = g, s
                h = torch.nn.functional.layer_norm(h, (widths[l + 1],), g, s, eps=1e-5)
            h = torch.relu(h) if cfg["activation"] == "relu" else torch.tanh(h)
    n = int(meta["quantiles"])
    kappa = float(meta["kappa"])
    actions = torch.tensor(t["actions"]).long()
    q = h.view(h.shape[0], -1, n)[torch.arange(h.shape[0]), actions]  # [B, N]
    targets = torch.tensor(t["targets"], dtype=torch.float64)
    taus = torch.tensor(t["taus"], dtype=torch.float64)
    u = targets[:, None, :] - q[:, :, None]  # [B, N, M]
    huber = torch.where(u.abs() <= kappa, 0.5 * u**2, kappa * (u.abs() - 0.5 * kappa))
    weight = (taus[None, :, None] - (u < 0).double()).abs()
    loss = (weight * huber / kappa).mean(dim=2).sum(dim=1).mean()
    loss.backward()

    worst = 0.0
    rust_loss = float(t["loss"][0])
    rel = abs(rust_loss - loss.item()) / abs(loss.item())
    print(f"loss: imbarb {rust_loss:.8f}  torch {loss.item():.8f}  rel {rel:.2e}")
    worst = max(worst, rel)
    for name, p in [*params.items(), ("input", x)]:
        ours = t["dx"] if name == "input" else t[f"grad.{name}"]
        theirs = p.grad.numpy()
        scale = max(np.abs(theirs).max(), 1e-12)
        err = np.abs(ours - theirs).max() / scale
        worst = max(worst, err)
        print(f"grad {name:22s} max |diff| / max |grad| = {err:.2e}")
    ok = worst <= 1e-4
    print(("PASS" if ok else "FAIL") + f": worst relative difference {worst:.2e} (limit 1e-4)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/crosscheck.safetensors")
