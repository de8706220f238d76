"""The QR-DQN update of crates/nn/benches/update.rs in PyTorch, timed at 1 and 2 threads:
target forward, online forward, gather of the chosen action's quantiles, quantile-Huber loss,
backward, gradient clipping (10), Adam. Prints `torch <name>_ms=<median>` lines.

    python3 bench/torch_update.py

Skips cleanly (exit 0, message) when torch is not installed.
"""
import copy
import sys
import time

try:
    import torch
except Exception as e:
    print(f"SKIPPED: torch is not importable here ({type(e).__name__}: {str(e)[:120]})")
    sys.exit(0)

OBS, N, GAMMA = 40, 32, 0.99


def make(hidden, actions, batch):
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(OBS, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, actions * N))
    target = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    s = torch.rand(batch, OBS) * 2 - 1
    s2 = torch.rand(batch, OBS) * 2 - 1
    a = torch.arange(batch) % actions
    r = torch.rand(batch) * 2 - 1
    d = (torch.arange(batch) % 50 == 0).float()
    taus = (2 * torch.arange(N) + 1).float() / (2 * N)

    def update():
        with torch.no_grad():
            nq = target(s2).view(batch, actions, N)
            best = nq.mean(2).argmax(1)
            t = r[:, None] + GAMMA * (1 - d[:, None]) * nq[torch.arange(batch), best]
        q = net(s).view(batch, actions, N)[torch.arange(batch), a]
        u = t[:, None, :] - q[:, :, None]
        huber = torch.where(u.abs() <= 1.0, 0.5 * u**2, u.abs() - 0.5)
        loss = ((taus[None, :, None] - (u.detach() < 0).float()).abs() * huber).mean(2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()

    return update


def median_ms(f, runs):
    f()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


for threads in (1, 2):
    torch.set_num_threads(threads)
    print(f"torch big_update_{threads}t_ms={median_ms(make(256, 21, 256), 41):.3f}")
    print(f"torch small_update_{threads}t_ms={median_ms(make(64, 5, 64), 201):.4f}")
