#!/usr/bin/env python3
"""Scaling-efficiency plot (SVG, standard library only) from the JSON lines of one device call.

Input: `zerotune bench` lines (engine "zerotune", world_size, zero_stage) and peer_fsdp.py lines (world), as
scripts/gpu-bench-zero.sh or the device scripts collect them. Efficiency at N GPUs = per-GPU tokens/s at N over the
1-GPU figure: for zerotune its best 1-GPU line (any ZeRO stage), for FSDP2 its own 1-GPU line.

Usage: scripts/plot-scaling.py RUNS.jsonl "title" > docs/scaling_efficiency.svg
"""
import json
import sys


def load(path):
    zt, peer = {}, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            tps = float(r["tokens_per_s_per_gpu"])
            if r.get("engine") == "zerotune":
                n = int(r["world_size"])
                if n == 1 or int(r.get("zero_stage", 0)) == 3:
                    zt[n] = max(zt.get(n, 0.0), tps)
            elif "world" in r:
                peer[int(r["world"])] = tps
    return zt, peer


def efficiency(series):
    if 1 not in series:
        sys.exit("no 1-GPU line to scale against")
    return {n: series[n] / series[1] for n in sorted(series)}


def svg(title, lines):
    w, h, left, right, top, bottom = 520, 320, 60, 500, 60.9, 270.0
    lo, hi = 0.5, 1.0
    counts = sorted({n for _, _, e in lines for n in e})
    x = {n: left + (right - left) * i / max(1, len(counts) - 1) for i, n in enumerate(counts)}

    def y(v):
        return bottom - (bottom - top) * (min(max(v, lo), hi) - lo) / (hi - lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for pct in range(50, 101, 10):
        yy = y(pct / 100)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end">{pct}%</text>')
    for n in counts:
        out.append(f'<text x="{x[n]:.1f}" y="288" text-anchor="middle">{n} GPU{"s" if n > 1 else ""}</text>')
    for k, (name, colour, e) in enumerate(lines):
        pts = " ".join(f"{x[n]:.1f},{y(v):.1f}" for n, v in e.items())
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        for n, v in e.items():
            anchor = "end" if n == counts[-1] else "start"
            dx = -6 if anchor == "end" else 6
            dy = -8 if k == 0 else 16
            out.append(f'<circle cx="{x[n]:.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
            out.append(f'<text x="{x[n] + dx:.1f}" y="{y(v) + dy:.1f}" text-anchor="{anchor}" fill="{colour}">{v * 100:.1f}%</text>')
        out.append(f'<text x="{left + 10 + 220 * k}" y="310" fill="{colour}">&#9632; {name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    zt, peer = load(sys.argv[1])
    lines = [("zerotune ZeRO-3 (vs its best 1 GPU)", "#1f77b4", efficiency(zt))]
    if peer:
        lines.append(("FSDP2 + peft (vs its 1 GPU)", "#ff7f0e", efficiency(peer)))
    sys.stdout.write(svg(sys.argv[2], lines))


if __name__ == "__main__":
    main()
