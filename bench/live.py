"""Webhook to a subscribed live stream (SSE), with 50 concurrent subscribers.

    .venv/bin/python bench/live.py [--quick] [--db sqlite|postgres] [--subscribers 50]

Starts a real `cercle serve` (uvicorn, ASGI) and a `cercle worker` on a throw-away
database (see `serving.Deployment`), opens `--subscribers` live streams (`/live/`,
logged in as the workspace's owner), then sends signed webhook deliveries one at a
time, each a new comment. For each delivery it times, from the moment the request
is sent:

- ack: the webhook's 200 (verify + store);
- stored: the `received` Activity is in the database (polled by this process every
  10 ms): the floor of any live stream, since the stream shows Activity rows and the
  worker writes them. This is the baseline;
- live: the `received` event reaches each subscriber (one sample per subscriber and
  delivery).

The machine-readable line:

    bench=live db=… subscribers=… deliveries=… p50_ms=… p95_ms=… baseline_p95_ms=… ack_p95_ms=…

Target (issue 12): p95 ≤ 1 s with 50 subscribers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serving import (
    Deployment,
    Seeded,
    add_db_argument,
    delivery,
    free_port,
    median,
    percentile,
    read_response,
    request_bytes,
    seed_workspace,
)

TARGET_P95_MS = 1000
TIMEOUT = 10.0


class Subscriber:
    def __init__(self) -> None:
        self.armed_at: float | None = None
        self.latencies: list[float] = []
        self.connected = asyncio.Event()
        self.got = asyncio.Event()

    async def run(self, port: int, seeded: Seeded, after: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        headers = {"Cookie": f"sessionid={seeded.session_cookie}", "Accept": "text/event-stream"}
        writer.write(request_bytes("GET", f"/live/?after={after}", headers))
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"the live stream answered {head[:200]!r}")
        self.connected.set()
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                text = line.decode("utf-8", "replace").strip()
                # Chunked framing: size lines and blank lines carry no "data:".
                if not text.startswith("data:"):
                    continue
                event = json.loads(text[5:])
                if event.get("verb") == "received" and self.armed_at is not None:
                    self.latencies.append(time.perf_counter() - self.armed_at)
                    self.armed_at = None
                    self.got.set()
        finally:
            writer.close()


def _received_count(workspace_id: int) -> int:
    from django.db import close_old_connections

    from cercle.workspaces.models import Activity

    close_old_connections()
    return Activity.objects.filter(workspace_id=workspace_id, verb="received").count()


async def _stored_after(workspace_id: int, before: int, start: float, timeout: float) -> None:
    """Wait until one more `received` Activity is in the database (polled every 10 ms)."""
    while await asyncio.to_thread(_received_count, workspace_id) <= before:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"the worker did not ingest the delivery in {timeout:.0f} s")
        await asyncio.sleep(0.01)


async def run(
    port: int, seeded: Seeded, subscribers: int, deliveries: int
) -> dict[str, list[float]]:
    from cercle.inbox.live import latest_event_id

    after = await asyncio.to_thread(latest_event_id, seeded.workspace_id)
    subs = [Subscriber() for _ in range(subscribers)]
    tasks = [asyncio.create_task(s.run(port, seeded, after)) for s in subs]
    await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in subs)), TIMEOUT * 3)
    acks: list[float] = []
    stored: list[float] = []
    missed = 0
    path = f"/hooks/{seeded.channel_uuid}"

    async def post(body: bytes, headers: dict[str, str]) -> int:
        # A connection per delivery: they are seconds apart, past the server's keep-alive.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request_bytes("POST", path, headers, body))
            return await read_response(reader)
        finally:
            writer.close()

    # Warm-up: the worker has started and ingests (not timed).
    await post(*delivery(seeded, 0, tag="warm"))
    await _stored_after(seeded.workspace_id, 0, time.perf_counter(), 120)
    await asyncio.sleep(1)
    for n in range(deliveries):
        before = await asyncio.to_thread(_received_count, seeded.workspace_id)
        body, headers = delivery(seeded, n, tag="live")
        for s in subs:
            s.got.clear()
        start = time.perf_counter()
        for s in subs:
            s.armed_at = start
        status = await post(body, headers)
        acks.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"the webhook answered {status}")
        await _stored_after(seeded.workspace_id, before, start, TIMEOUT)
        stored.append(time.perf_counter() - start)
        try:
            await asyncio.wait_for(asyncio.gather(*(s.got.wait() for s in subs)), TIMEOUT)
        except TimeoutError:
            missed += sum(1 for s in subs if not s.got.is_set())
        for s in subs:
            s.armed_at = None
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    live = [latency for s in subs for latency in s.latencies]
    return {"ack": acks, "stored": stored, "live": live, "missed": [float(missed)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="15 deliveries")
    parser.add_argument("--deliveries", type=int, default=60)
    parser.add_argument("--subscribers", type=int, default=50)
    add_db_argument(parser)
    args = parser.parse_args(argv)
    deliveries = 15 if args.quick else args.deliveries

    with Deployment(args.db) as deployment:
        seeded = seed_workspace()
        port = free_port()
        deployment.serve(port)
        deployment.worker()
        result = asyncio.run(run(port, seeded, args.subscribers, deliveries))

    ms = {k: [v * 1000 for v in values] for k, values in result.items() if k != "missed"}
    missed = int(result["missed"][0])
    print(f"{'step':<8} {'p50_ms':>8} {'p95_ms':>8} {'max_ms':>8} samples")
    for name in ("ack", "stored", "live"):
        values = ms[name]
        print(
            f"{name:<8} {median(values):>8.0f} {percentile(values, 0.95):>8.0f} "
            f"{max(values, default=float('nan')):>8.0f} {len(values)}"
        )
    if missed:
        print(f"FAILED: {missed} subscriber events did not arrive within {TIMEOUT:.0f} s")
    print(
        f"bench=live db={deployment.vendor} subscribers={args.subscribers} deliveries={deliveries} "
        f"p50_ms={median(ms['live']):.0f} p95_ms={percentile(ms['live'], 0.95):.0f} "
        f"baseline_p95_ms={percentile(ms['stored'], 0.95):.0f} "
        f"ack_p95_ms={percentile(ms['ack'], 0.95):.0f} missed={missed} target_p95_ms={TARGET_P95_MS}"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
