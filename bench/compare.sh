#!/usr/bin/env bash
# Runs the imbarb-nn update benchmark and the same update in PyTorch back to back, then prints
# the ratios (imbarb-nn time / PyTorch time). Needs torch for the ratios; prints imbarb-nn's own
# figures either way.
set -euo pipefail
cd "$(dirname "$0")/.."
ours=$(cargo bench -p imbarb-nn --bench update 2>/dev/null | grep '^imbarb-nn')
echo "$ours"
theirs=$(python3 bench/torch_update.py)
echo "$theirs"
get() { echo "$1" | sed -n "s/.*$2=\([0-9.e+-]*\).*/\1/p" | head -1; }
if echo "$theirs" | grep -q SKIPPED; then exit 0; fi
for pair in "big_update_1t_ms big_update_1t_ms" "big_update_selected_head_1t_ms big_update_1t_ms" \
            "small_update_1t_ms small_update_1t_ms" "small_update_selected_head_1t_ms small_update_1t_ms" \
            "big_update_2t_ms big_update_2t_ms"; do
  set -- $pair
  a=$(get "$ours" "$1"); b=$(get "$theirs" "$2")
  python3 -c "print(f'ratio imbarb-nn $1 / torch $2 = {$a / $b:.2f}  ($a ms vs $b ms)')"
done
