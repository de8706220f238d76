#!/usr/bin/env bash
# imbarb's DQN and QR-DQN beside Stable-Baselines3's DQN and sb3-contrib's QR-DQN (issue #27):
# the frozen configs here, 3 seeds each, one thread each side. About 25 minutes on 2 cores.
# Needs the imbarb wheel and bench/requirements-peer.txt in the active Python
# (scripts/python_test.sh builds both into target/py-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
python bench/peer_sb3.py --config-dir experiments/python-peer --seeds 0 1 2 \
  --out experiments/python-peer 2>&1 | tee experiments/python-peer/run.log
