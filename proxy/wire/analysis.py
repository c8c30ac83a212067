"""Statement analysis off the event loop, within the analysis budgets.

Parsing and deciding a statement is CPU work of up to seconds for a large one; on the event
loop it would stall every session of the process. Sessions hand it to a small pool of
analysis threads and await the answer, so the loop keeps serving everyone else.

Why threads suffice: the loop only needs the GIL for short moments (a socket read, a write),
and CPython hands the GIL over every few milliseconds (sys.getswitchinterval), so other
sessions keep being answered while an analysis runs; bench/analysis_stall.py measures it.
What bounds an analysis' CPU is the budget, not the thread: the size, node and depth limits
(proxy.sql.budget) are checked before the costly phases, every later phase is linear in the
tree they bound, and the analysis stops at its next checkpoint once it is over time. The
client waiting for it is answered at the deadline (54001) either way.

Analysis threads get a large stack and the interpreter a recursion limit to match, so that
nesting the depth budget allows is analyzed rather than refused; a RecursionError that still
happens is answered as 54001 too, never as an internal error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from proxy.sql.budget import (
    AnalysisBudget,
    AnalysisInterrupted,
    analysis_deadline,
    out_of_stack,
    over_time,
)

T = TypeVar("T")

STACK_BYTES = 64 * 1024 * 1024  # address space reserved; only pages used become memory
RECURSION_LIMIT = 20_000

_Job = Callable[[], None]


class AnalysisPool:
    """A fixed set of analysis threads shared by all sessions of the process.

    A session has at most one analysis in flight (it awaits it), so `threads` sessions must
    send pathological statements at once before anyone else's analysis waits for a thread.
    """

    def __init__(self, budget: AnalysisBudget, threads: int) -> None:
        self.budget = budget
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
        previous = threading.stack_size(STACK_BYTES)
        try:
            self._threads = [
                threading.Thread(target=self._serve, name=f"analysis-{n}", daemon=True)
                for n in range(threads)
            ]
            for thread in self._threads:
                thread.start()
        finally:
            threading.stack_size(previous)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` on an analysis thread; 54001 if it is not done within max_seconds."""
        loop = asyncio.get_running_loop()
        started: asyncio.Future[float] = loop.create_future()
        outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
        max_seconds = self.budget.max_seconds

        def job() -> None:
            deadline = time.monotonic() + max_seconds
            loop.call_soon_threadsafe(_resolve, started, deadline)
            try:
                with analysis_deadline(deadline):
                    outcome.set_result(work())
            except AnalysisInterrupted:
                outcome.set_exception(over_time(self.budget))
            except RecursionError:
                outcome.set_exception(out_of_stack())
            except BaseException as error:  # the session sees it as it would have inline
                outcome.set_exception(error)

        result = asyncio.wrap_future(outcome, loop=loop)
        result.add_done_callback(_observe)  # an answer that comes too late is dropped quietly
        self._jobs.put(job)
        deadline = await started  # the clock runs from the start of the analysis, not the queue
        try:
            return await asyncio.wait_for(
                asyncio.shield(result), max(0.0, deadline - time.monotonic())
            )
        except TimeoutError:
            # The thread stops at its next checkpoint (proxy.sql.budget); nobody waits for it.
            raise over_time(self.budget) from None


def _resolve(future: asyncio.Future[float], value: float) -> None:
    if not future.done():
        future.set_result(value)


def _observe(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
