"""The resident memory (RSS) of the web and worker processes under load.

    .venv/bin/python bench/memory.py [--quick] [--db sqlite|postgres] [--seconds 60]

Starts a real `cercle serve` (uvicorn, ASGI, one process) and a `cercle worker` on
a throw-away database (see `serving.Deployment`), then loads them for `--seconds`:
signed webhook deliveries (each a new comment the worker ingests: parse, thread,
classify, Activity), mixed with pages (the inbox, a conversation, the API's
conversation list) and 20 open live streams. It samples the RSS of each process
(and its children) every 0.5 s. The baseline is each process's RSS once started
and warmed by one request, before the load.

The machine-readable line:

    bench=memory db=… web_peak_mb=… worker_peak_mb=… web_idle_mb=… worker_idle_mb=… …

Targets (issue 12): ≤ 250 MB for web and ≤ 300 MB for a worker.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
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
    read_response,
    request_bytes,
    rss_mb,
    seed_workspace,
)

WEB_TARGET_MB = 250
WORKER_TARGET_MB = 300
STREAMS = 20


async def _stream(port: int, seeded: Seeded, stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = {"Cookie": f"sessionid={seeded.session_cookie}", "Accept": "text/event-stream"}
    writer.write(request_bytes("GET", "/live/", headers))
    try:
        while not stop.is_set():
            try:
                if not await asyncio.wait_for(reader.read(65536), 0.5):
                    return
            except TimeoutError:
                continue
    finally:
        writer.close()


async def _load(port: int, seeded: Seeded, token: str, seconds: float) -> dict[str, int]:
    counts = {"webhooks": 0, "pages": 0}
    stop = asyncio.Event()
    streams = [asyncio.create_task(_stream(port, seeded, stop)) for _ in range(STREAMS)]
    cookie = {"Cookie": f"sessionid={seeded.session_cookie}"}
    api = {"Authorization": f"Bearer {token}"}
    pages = [
        request_bytes("GET", "/", cookie),
        request_bytes("GET", "/api/v1/conversations?view=all&limit=50", api),
        request_bytes("GET", "/api/v1/contacts?limit=50", api),
    ]
    hook_path = f"/hooks/{seeded.channel_uuid}"
    deadline = time.perf_counter() + seconds
    sequence = iter(range(10**9))

    async def hooks() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            body, headers = delivery(seeded, next(sequence), tag="mem")
            writer.write(request_bytes("POST", hook_path, headers, body))
            await read_response(reader)
            counts["webhooks"] += 1
        writer.close()

    async def browse() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        while time.perf_counter() < deadline:
            writer.write(pages[n % len(pages)])
            await read_response(reader)
            counts["pages"] += 1
            n += 1
        writer.close()

    await asyncio.gather(*(hooks() for _ in range(4)), *(browse() for _ in range(2)))
    stop.set()
    await asyncio.gather(*streams, return_exceptions=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="30 seconds of load")
    parser.add_argument("--seconds", type=float, default=120)
    add_db_argument(parser)
    args = parser.parse_args(argv)
    seconds = 30 if args.quick else args.seconds

    with Deployment(args.db) as deployment:
        seeded = seed_workspace()
        from cercle.api.actions import do_create_api_token
        from cercle.workspaces.models import Member

        owner = Member.objects.get(workspace_id=seeded.workspace_id)
        token = do_create_api_token(owner, "bench", "owner").secret
        port = free_port()
        web = deployment.serve(port)
        worker = deployment.worker()
        # Warm: one of each request, and the worker's first ingest.
        asyncio.run(_load(port, seeded, token, 0.5))
        time.sleep(5)
        web_idle, worker_idle = rss_mb(web.pid), rss_mb(worker.pid)
        samples: dict[str, list[float]] = {"web": [], "worker": []}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples["web"].append(rss_mb(web.pid))
                samples["worker"].append(rss_mb(worker.pid))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        counts = asyncio.run(_load(port, seeded, token, seconds))
        time.sleep(3)  # the worker drains what is left
        done.set()
        sampler.join()
        from cercle.pipeline.models import RawEvent

        raw = RawEvent.objects.count()

    web_peak, worker_peak = max(samples["web"]), max(samples["worker"])
    print(f"{'process':<8} {'idle_mb':>8} {'peak_mb':>8} {'target_mb':>9}")
    print(f"{'web':<8} {web_idle:>8.0f} {web_peak:>8.0f} {WEB_TARGET_MB:>9}")
    print(f"{'worker':<8} {worker_idle:>8.0f} {worker_peak:>8.0f} {WORKER_TARGET_MB:>9}")
    print(
        f"load: {counts['webhooks']} webhooks, {counts['pages']} pages, {STREAMS} live streams "
        f"over {seconds:.0f} s; {raw} raw events stored"
    )
    print(
        f"bench=memory db={deployment.vendor} seconds={seconds:.0f} webhooks={counts['webhooks']} "
        f"pages={counts['pages']} web_peak_mb={web_peak:.0f} worker_peak_mb={worker_peak:.0f} "
        f"web_idle_mb={web_idle:.0f} worker_idle_mb={worker_idle:.0f} "
        f"web_target_mb={WEB_TARGET_MB} worker_target_mb={WORKER_TARGET_MB}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
