"""Webhook acknowledgement (verify + store + 200) against a trivial page of the same process.

    .venv/bin/python bench/hooks.py [--quick] [--db sqlite|postgres] [--requests 4000] [--processes 2]

Starts a real `cercle serve` (uvicorn, ASGI, one process unless --processes) on a
throw-away database (see `serving.Deployment`), and a load generator on loopback
(asyncio, keep-alive connections) in this process. It sends signed simulator
deliveries, each a new comment with its own delivery id, to `/hooks/<channel>`: the
view verifies the signature, validates and stores the RawEvent (no task row: the
pending RawEvent is the queue), then answers 200 (the route's lean path, without the
pages' middleware; concurrent deliveries are stored by one writer in one transaction,
each answered after that commit). The baseline is `/healthz` (a trivial page through the full
middleware stack) served by the same process in the same run. Every 200 must have
stored its RawEvent exactly once (checked at the end). No worker runs: ingestion is
not timed.

The machine-readable line:

    bench=hooks db=… requests=… rps=… p50_ms=… p99_ms=… baseline_rps=… ratio=…

Target (issue 12): ≥ 500 requests/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serving import (
    Deployment,
    add_db_argument,
    delivery,
    free_port,
    load,
    percentile,
    request_bytes,
    seed_workspace,
)

TARGET_RPS = 500


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="600 requests of each kind")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--processes", type=int, default=1, help="uvicorn worker processes of `cercle serve`"
    )
    add_db_argument(parser)
    args = parser.parse_args(argv)
    total = 600 if args.quick else args.requests

    with Deployment(args.db) as deployment:
        seeded = seed_workspace()
        port = free_port()
        deployment.serve(port, args.processes)
        path = f"/hooks/{seeded.channel_uuid}"
        # Every request a distinct signed delivery, built before the clock starts: the
        # load generator shares the 2 cores with the server, so it does as little as it can.
        requests = [
            request_bytes("POST", path, headers, body)
            for body, headers in (delivery(seeded, n) for n in range(total + 200))
        ]

        def hook(n: int) -> bytes:
            return requests[n]

        def warm_hook(n: int) -> bytes:
            return requests[total + n]

        healthz = request_bytes("GET", "/healthz")
        load(port, lambda n: healthz, 200, args.connections)  # warm-up
        load(port, warm_hook, 200, args.connections)
        baseline = load(port, lambda n: healthz, total, args.connections)
        hooks = load(port, hook, total, args.connections)

        from cercle.pipeline.models import RawEvent

        stored = RawEvent.objects.count()
        ok = hooks.statuses.get(200, 0)
        expected = ok + 200  # and the warm-up's
        print(
            f"db={deployment.vendor} connections={args.connections} processes={args.processes}",
            file=sys.stderr,
        )
        load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average {load_average}")
        print(f"baseline /healthz: {baseline.rate:.0f} req/s, statuses {baseline.statuses}")
        print(
            f"webhooks: {hooks.rate:.0f} req/s, statuses {hooks.statuses}, "
            f"p50 {percentile(hooks.latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(hooks.latencies, 0.99) * 1000:.1f} ms; RawEvents stored {stored}"
        )
        if stored != expected or ok != total:
            print(f"FAILED: {ok}/{total} acknowledged, {stored} stored (expected {expected})")
            return 1
        print(
            f"bench=hooks db={deployment.vendor} processes={args.processes} "
            f"requests={total} rps={hooks.rate:.0f} "
            f"p50_ms={percentile(hooks.latencies, 0.5) * 1000:.1f} "
            f"p99_ms={percentile(hooks.latencies, 0.99) * 1000:.1f} "
            f"baseline_rps={baseline.rate:.0f} ratio={hooks.rate / baseline.rate:.2f} "
            f"target_rps={TARGET_RPS} load={os.getloadavg()[0]:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
