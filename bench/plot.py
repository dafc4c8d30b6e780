"""Upload and download throughput against file size, from a results JSON, as a PNG.

Run by the bench with the tools venv's Python (which has matplotlib):
`python bench/plot.py RESULTS.json OUT.png`.
"""

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

LABELS = {
    "chatstore": "chatstore",
    "nginx": "nginx (PUT / sendfile)",
    "jupyter": "Jupyter Server contents",
    "starlette": "bare Starlette",
    "fastapi": "naive FastAPI",
}
STYLES: dict[str, dict[str, Any]] = {
    "chatstore": {"color": "tab:red", "linewidth": 2.5, "marker": "o"},
    "nginx": {"color": "tab:green", "marker": "s"},
    "jupyter": {"color": "tab:orange", "marker": "^"},
    "starlette": {"color": "tab:blue", "marker": "D"},
    "fastapi": {"color": "tab:purple", "marker": "v"},
}


def main(results_path: str, out_path: str) -> None:
    results = json.loads(Path(results_path).read_text())
    sweep = results["sweep"]
    sizes = sorted(int(size) for size in sweep)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharex=True)
    for axis, metric, title in (
        (axes[0], "upload_mbps", "Upload"),
        (axes[1], "download_mbps", "Download"),
    ):
        for peer, label in LABELS.items():
            points = [
                (size, sweep[str(size)][peer][metric]) for size in sizes if peer in sweep[str(size)]
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, label=label, **STYLES[peer])
        axis.set_xscale("log", base=2)
        axis.set_xticks(sizes, [f"{s} MiB" if s < 1024 else f"{s // 1024} GiB" for s in sizes])
        axis.set_title(f"{title} throughput (median of runs)")
        axis.set_xlabel("file size")
        axis.set_ylabel("MB/s (10^6 bytes of payload per second)")
        axis.grid(visible=True, which="both", alpha=0.3)
        axis.set_ylim(bottom=0)
    axes[0].legend(loc="best", fontsize="small")
    machine = results.get("machine", {})
    figure.suptitle(
        f"chatstore and peers, server pinned to 1 core, client on another, loopback "
        f"({machine.get('cpu', '')})",
        fontsize="medium",
    )
    figure.tight_layout()
    figure.savefig(out_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
