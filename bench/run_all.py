"""`make bench`: run every benchmark under bench/ (each prints its figures and ratios)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
failed = []
only = sys.argv[1:]
for path in sorted(here.glob("bench_*.py")):
    if only and not any(o in path.stem for o in only):
        continue
    print(f"\n=== {path.stem} ===", flush=True)
    if subprocess.run([sys.executable, "-W", "ignore", str(path)], cwd=here.parent).returncode != 0:
        failed.append(path.stem)
if failed:
    print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    sys.exit(1)
