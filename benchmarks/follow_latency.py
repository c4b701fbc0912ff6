"""How long a presenter's change takes to reach a follower (issue #5: within a second).

A presenter process publishes a new configuration every 0.37 s and prints when; this
process polls every 0.25 s, as the app does, and notes when it saw each one.

    python benchmarks/follow_latency.py [changes]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gru_tui.share.follow import POLL_SECONDS, Follower

PRESENTER = """
import sys, time
from gru_tui import GRUConfig
from gru_tui.share.follow import Publisher
publisher = Publisher(sys.argv[1])
for hidden in range(1, int(sys.argv[2]) + 1):
    time.sleep(0.37)
    publisher.publish(GRUConfig(hidden_size=hidden))
    print(hidden, time.time(), flush=True)
"""


def main(changes: int = 20) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "follow.json"
        follower = Follower(path)
        presenter = subprocess.Popen(
            [sys.executable, "-c", PRESENTER, str(path), str(changes)], stdout=subprocess.PIPE, text=True
        )
        seen: dict[int, float] = {}
        poll_costs = []
        while True:
            running = presenter.poll() is None
            start = time.perf_counter()
            config = follower.poll()
            poll_costs.append(time.perf_counter() - start)
            if config is not None:
                seen[config.hidden_size] = time.time()
            if not running:
                break
            time.sleep(POLL_SECONDS)
        published = {int(h): float(t) for h, t in (line.split() for line in presenter.stdout.read().splitlines())}
    latencies = [seen[h] - published[h] for h in published if h in seen]
    print(f"changes published: {len(published)}, seen: {len(latencies)} (a follower may skip one replaced within a poll)")
    print(f"latency: median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"one poll: median {statistics.median(poll_costs) * 1e6:.0f} µs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
