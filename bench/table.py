"""Print the tables of docs/performance.md: `python bench/table.py bench/results.json`."""

import json
import sys
from pathlib import Path


def main(path):
    results = json.loads(Path(path).read_text())
    print("| endpoint | req/s | p50 ms | p99 ms | x baseline |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in results["endpoints"]:
        if "median_rps" not in row:
            print(f"| {row['label']} | {row['state']} | | | |")
            continue
        print(
            f"| {row['label']} | {row['median_rps']:.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row.get('ratio_to_baseline', 0):.2f} |"
        )
    print()
    print("| target | measured | verdict |")
    print("| --- | ---: | --- |")
    for target in results["targets"]:
        if "minimum_ratio" in target:
            measured = "-" if target["ratio"] is None else f"{target['ratio']:.2f}x"
            name = f"{target['endpoint']} >= {target['minimum_ratio']}x {target['reference']}"
        else:
            measured = f"p50 {target['p50_ms']} ms"
            name = f"{target['endpoint']} < {target['reference']}"
        print(f"| {name} | {measured} | {target['verdict']} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
