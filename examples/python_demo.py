# SPDX-License-Identifier: MIT
"""The Python part of `make demo`: worker threads share a weighted pool.

A pool of 4 tokens stands for, say, 4 GiB of memory.  Jobs take 1 to 3
tokens each for as long as they run, through `with pool.hold(weight)`, which
gives back exactly what it took.  Meanwhile a reporter makes progress in
pure Python (the waiting workers do not hold the GIL), a planner shows a
timed acquire that gives up, an event loop in a thread of its own runs
upload tasks against the same pool (`async with pool.hold(1)`), and at the
end the pool is closed, which wakes a worker still queued for tokens with
qsem.ClosedError.

Run: python3 examples/python_demo.py [--quick]
"""
from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time

import qsem

POOL_TOKENS = 4
JOBS: list[tuple[str, int]] = [
    ("resize", 1), ("encode", 3), ("thumbnail", 1), ("index", 2),
    ("transcode", 3), ("upload", 1), ("checksum", 2), ("archive", 3),
]


class Demo:
    def __init__(self, step: float) -> None:
        self.step = step
        self.pool = qsem.BoundedSemaphore(POOL_TOKENS)
        self.jobs: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self.start = time.monotonic()
        self.print_lock = threading.Lock()
        self.ticks = 0
        self.done = threading.Event()

    def say(self, who: str, text: str) -> None:
        with self.print_lock:
            print(f"{time.monotonic() - self.start:6.2f}s  {who:<9} {text}", flush=True)

    def worker(self, name: str) -> None:
        while (job := self.jobs.get()) is not None:
            title, weight = job
            try:
                with self.pool.hold(weight):
                    self.say(name, f"runs {title} with {weight} token(s); "
                             f"{self.pool.available()} free")
                    time.sleep(self.step * weight)
                self.say(name, f"finished {title}, gave back {weight}")
            except qsem.ClosedError:
                self.say(name, f"gave up {title}: the pool was closed while it waited")
                return

    def reporter(self) -> None:
        # Pure Python work: it runs while the workers sleep in acquire().
        # It pauses briefly between bursts, since a thread that never lets go
        # of the GIL can starve the others of it for seconds.
        last = -1.0
        while not self.done.is_set():
            for _ in range(10000):
                self.ticks += 1
            time.sleep(0.001)
            now = time.monotonic()
            if now - last >= self.step * 2:
                last = now
                self.say("reporter", f"{self.ticks:>9} ticks; {self.pool.waiting()} "
                         f"waiting, {self.pool.available()} free")

    def planner(self) -> None:
        time.sleep(self.step * 0.5)
        # A timed acquire: the whole pool, or give up after a short while.
        wait = self.step
        if self.pool.acquire(timeout=wait, n=POOL_TOKENS):
            self.say("planner", "had the whole pool to itself")
            self.pool.release(POOL_TOKENS)
        else:
            self.say("planner", f"could not get all {POOL_TOKENS} tokens within "
                     f"{wait:.2f}s; gives up")

    async def upload(self, name: str) -> None:
        # A task waits for its token without blocking its loop, in the
        # same queue as the worker threads.
        async with self.pool.hold(1):
            self.say("loop", f"uploads {name}; {self.pool.available()} free")
            await asyncio.sleep(self.step)

    def uploads(self) -> None:
        async def main() -> None:
            await asyncio.gather(*(self.upload(f"part-{i}") for i in (1, 2, 3)))
            self.say("loop", "all parts uploaded")

        asyncio.run(main())

    def run(self) -> int:
        threads = [threading.Thread(target=self.worker, args=(f"worker-{i}",)) for i in (1, 2, 3)]
        helpers = [threading.Thread(target=self.reporter), threading.Thread(target=self.planner),
                   threading.Thread(target=self.uploads)]
        for job in JOBS:
            self.jobs.put(job)
        for t in threads + helpers:
            t.start()
        helpers[1].join()
        helpers[2].join()
        while not self.jobs.empty():
            time.sleep(self.step / 4)

        # One last job that cannot start while the others hold the pool;
        # closing the pool sends it away instead of leaving it hanging.
        with self.pool.hold(2):
            self.jobs.put(("cleanup", 3))
            while self.pool.waiting() == 0:
                time.sleep(self.step / 10)
            self.say("main", f"closes the pool; {self.pool.waiting()} waiting")
            self.pool.close()
        for _ in threads:
            self.jobs.put(None)
        for t in threads:
            t.join()
        self.done.set()
        helpers[0].join()

        free = self.pool.available()
        self.say("main", f"pool closed={self.pool.closed}, {free}/{POOL_TOKENS} tokens free, "
                 f"reporter ticked {self.ticks} times")
        return 0 if free == POOL_TOKENS and self.ticks > 0 else 1


def main(argv: list[str]) -> int:
    step = 0.05 if "--quick" in argv else 0.3
    print(f"qsem {qsem.__version__}: {len(JOBS)} jobs, 3 workers, a pool of {POOL_TOKENS} tokens")
    return Demo(step).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
