#!/usr/bin/env python3
"""The epoch table of issue 5: zerotune's pad-free epoch beside the peer's padded one, from JSON lines.

Reads the JSON lines of `zerotune bench --lengths hh` (engine "zerotune", lengths "hh") and of
../shared/peers/peer_torch.py (engine "peer_torch" as scripts/gpu-bench-single.sh tags it, or no engine key)
from the files given (or stdin). DeepSpeed-Chat pads every sample to max_seq_len, so the peer's epoch is
epoch_steps x its step_s at the same micro-batch and seq = max_seq_len; zerotune's is its own estimate (epoch_s,
with the +-2 standard-error band from the sampled steps). Prints a Markdown table row per matching pair and, with
--json, one JSON line per row instead. The last zerotune line wins; the peer line must match mbs, seq, layers,
LoRA rank and checkpointing. Standard library only (runs with the GPU machine's python3).

Usage: python3 scripts/bench-epoch.py [--json] FILE...
"""
import json
import sys


def read_lines(paths):
    rows = []
    streams = [open(p, encoding="utf-8") for p in paths] if paths else [sys.stdin]
    for f in streams:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def is_peer(r):
    return r.get("engine", "peer_torch") == "peer_torch" and "step_s" in r and not r.get("full", 0)


def matches(z, p):
    return (p.get("mbs") == z.get("mbs") and p.get("seq") == z.get("max_seq_len") and p.get("layers") == z.get("layers")
            and p.get("lora") == z.get("lora") and p.get("ckpt") == z.get("ckpt"))


def fmt_s(s):
    return f"{s:,.0f} s ({s / 60:.1f} min)"


def main(argv):
    as_json = "--json" in argv
    paths = [a for a in argv if a != "--json"]
    rows = read_lines(paths)
    zs = [r for r in rows if r.get("engine") == "zerotune" and r.get("lengths") == "hh" and "epoch_s" in r]
    if not zs:
        sys.exit("bench-epoch: no `zerotune bench --lengths hh` line (engine zerotune, lengths hh, epoch_s) in the input")
    z = zs[-1]
    peers = [r for r in rows if is_peer(r) and matches(z, r)]
    if not peers:
        sys.exit(f"bench-epoch: no peer_torch line with mbs {z.get('mbs')}, seq {z.get('max_seq_len')}, layers "
                 f"{z.get('layers')}, lora {z.get('lora')}, ckpt {z.get('ckpt')} in the input "
                 "(run peer_torch.py with the same settings)")
    p = peers[-1]
    if z.get("world_size", 1) != 1:
        sys.exit("bench-epoch: the zerotune line is from several ranks; peer_torch.py runs on one GPU")
    steps = z["epoch_steps"]
    peer_epoch = steps * p["step_s"]
    out = {
        "device": z.get("device"), "peer_device": p.get("device"), "ckpt": z["ckpt"], "mbs": z["mbs"],
        "max_seq_len": z["max_seq_len"], "epoch_samples": z["epoch_samples"], "epoch_steps": steps,
        "zerotune_epoch_s": z["epoch_s"], "zerotune_epoch_s_lo": z["epoch_s_lo"], "zerotune_epoch_s_hi": z["epoch_s_hi"],
        "zerotune_epoch_s_fit": z.get("epoch_s_fit"), "zerotune_timed_steps": z.get("steps"),
        "peer_step_s": p["step_s"], "peer_padded_epoch_s": round(peer_epoch, 1),
        "ratio": round(peer_epoch / z["epoch_s"], 2),
        "real_tokens_per_epoch": z.get("real_tokens_per_epoch"), "padded_tokens_per_epoch": z.get("padded_tokens_per_epoch"),
    }
    if as_json:
        print(json.dumps(out))
        return
    if out["device"] != out["peer_device"]:
        print(f"warning: zerotune ran on {out['device']}, the peer on {out['peer_device']}", file=sys.stderr)
    print("| device | checkpointing | samples (micro-batches of {}) | zerotune pad-free epoch (±2 SE) | "
          "peer padded epoch (step_s × micro-batches) | ratio | real / padded tokens |".format(z["mbs"]))
    print("|---|---|---|---|---|---|---|")
    print("| {} | {} | {:,} ({:,}) | {} ({:,.0f}–{:,.0f}) | {} ({:.4f} s × {:,}) | {:.2f}× | {:,} / {:,} |".format(
        out["device"], "on" if z["ckpt"] else "off", z["epoch_samples"], steps, fmt_s(z["epoch_s"]), z["epoch_s_lo"],
        z["epoch_s_hi"], fmt_s(peer_epoch), p["step_s"], steps, out["ratio"], out["real_tokens_per_epoch"] or 0,
        out["padded_tokens_per_epoch"] or 0))


if __name__ == "__main__":
    main(sys.argv[1:])
