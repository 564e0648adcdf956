"""Markdown table from queue_latency.py --json files, side by side.

    .venv/bin/python bench/report.py before.json after.json
"""
import json
import sys


def cell(res: dict | None, key: str) -> str:
    if not res:
        return "–"
    r = res.get(key, res) if key else res
    if "p50" not in r:
        return "–"
    return f"{r['p50']:.0f} / {r['p95']:.0f}"


def main(paths: list[str]) -> None:
    runs = [json.load(open(p)) for p in paths]
    names = []
    for run in runs:
        for part in ("service", "http"):
            for name in (run.get(part) or {}):
                if name not in names and isinstance(run[part][name], dict):
                    names.append(name)
    head = ["page (user/scenario)"]
    for p, run in zip(paths, runs):
        label = run.get("patch") or "as is"
        head += [f"SQL {label}", f"HTTP {label}"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        row = [name]
        for run in runs:
            row.append(cell((run.get("service") or {}).get(name), "total"))
            http = run.get("http") or {}
            row.append(cell(http.get(name) if isinstance(http, dict) else None, ""))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
