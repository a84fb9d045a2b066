"""Executors: where the tasks of a sweep run (``--executor inline | processes | dask``).

A task is one batched group of runs (``sweep.groups_by_condition``). It executes :func:`run_task` and returns
its tidy tables to the client, which writes the shards, so workers need no shared file system. The executor
sends ``("ready", where)`` once it can take tasks; while a task runs it sends messages over a channel:
``("start", task, where)``, ``("progress", task, fraction, metrics)`` and ``("note", task, text)`` (about its
checkpoint: resumed from, ignored, unwritable).

- ``inline``: in this process, one task after the other.
- ``processes``: ``workers`` processes, each with a pipe of its own (inline for one task or one worker), forked
  from a fresh server process that has imported the runner's module once (``forkserver`` with preload), so the
  workers do not each import torch again; they inherit none of the client's files or threads, and the client
  imports torch only when it runs a task itself (:func:`run_task`). If a worker process dies, exactly the task it
  was running is charged one attempt and requeued, a fresh process takes its place, and a task that has used up
  ``retries`` extra attempts is reported lost. The workers share no lock (a ``concurrent.futures`` pool shares
  queues whose locks a killed worker can hold for ever, hanging the sweep), and a worker whose client is gone
  exits at its next message.
- ``dask``: Dask's distributed engine, on the scheduler at ``scheduler`` (an address such as
  ``tcp://host:8786`` or a scheduler file) or on a local cluster of ``workers`` processes on 127.0.0.1.
  Dask reschedules the tasks of a dead worker itself, but it charges the death to every task the worker held,
  also those only queued there, and gives a task up after ``distributed.scheduler.allowed-failures`` charges. So
  each task counts its own attempts in a Dask ``Variable`` on the scheduler as it starts: the attempt after
  ``retries`` dead ones reports the task lost instead of running it, and a task that Dask gave up (an external
  scheduler's setting; a local cluster's is set out of the way) with attempts left is submitted again.

A task that raises (a bad config, a bug) is a failure of its runs, reported with the message and the
traceback; the other tasks go on. Only ``DataError`` (the user's data set is missing or malformed, so every
run would fail) stops the sweep.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing import connection
from pathlib import Path

import pandas as pd

from sgtheory.errors import DataError, ExecutorError
from sgtheory.experiments import RunFunction
from sgtheory.results import tidy

EXECUTORS = ("inline", "processes", "dask")
POLL_S = 0.2  # how often the client looks at its tasks and messages
CONNECT_TIMEOUT = "10s"  # to reach an external Dask scheduler
LOCAL_ALLOWED_FAILURES = 1000  # Dask's own limit on a local cluster, out of the way of the tasks' own (_dask_attempt)
PROGRESS_EVERY_S = 1.0  # a task sends at most one progress message per interval (plus its last)



@dataclass(frozen=True)
class Executor:
    """How a sweep runs: ``kind`` (one of EXECUTORS), ``workers`` processes (processes, local dask cluster),
    Dask ``scheduler`` address or scheduler file, torch ``threads`` per task, ``retries``: extra attempts
    for a task whose worker died, and ``checkpoint_every``: seconds between the checkpoints of a running task
    that can resume (0: none; :mod:`sgtheory.checkpoint`)."""

    kind: str = "processes"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    scheduler: str | None = None
    threads: int = 1
    retries: int = 2
    checkpoint_every: float = 300.0

    def __post_init__(self):
        if self.kind not in EXECUTORS:
            raise ExecutorError(f"--executor={self.kind} is not one of {', '.join(EXECUTORS)}")
        if self.workers < 1:
            raise ExecutorError(f"--workers={self.workers} must be >= 1")
        if self.threads < 1:
            raise ExecutorError(f"--threads={self.threads} must be >= 1")
        if self.retries < 0:
            raise ExecutorError(f"--retries={self.retries} must be >= 0")
        if not self.checkpoint_every >= 0:  # also refuses NaN
            raise ExecutorError(f"--checkpoint-every={self.checkpoint_every} must be >= 0 seconds (0: no checkpoints)")
        if self.scheduler and self.kind != "dask":
            raise ExecutorError("--scheduler needs --executor dask")


@dataclass
class Task:
    index: int
    experiment: str
    configs: list
    length: int = 1  # progress steps of the task (the experiment's task_length), so workers need no registry
    checkpoints: str | None = None  # the folder of the task's checkpoint, for a runner that can resume (None: none)
    checkpoint_every: float = 300.0  # seconds between checkpoints


@dataclass
class TaskOutcome:
    """What a task returns: per run (config, tidy table, early-stop message), or the exception that ended it."""

    index: int
    runs: list[tuple[object, pd.DataFrame, str | None]] | None
    wall_s: float
    error: str | None = None
    traceback: str | None = None
    checkpoint: str | None = None  # the checkpoint file the task kept, to delete once its shards are written


Runner = Callable[[list, Callable | None], list]  # (configs, progress) -> list of RunResult


class _Reporter:
    """The ``progress(step, metrics)`` callback of a runner: forwards the task's fraction done, throttled."""

    def __init__(self, send, task: Task):
        self.send, self.task = send, task
        self.length = task.length
        self.last = 0.0

    def __call__(self, step: int, metrics: dict[str, float]):
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S or step >= self.length:
            self.last = now
            self.send(("progress", self.task.index, min(step / self.length, 1.0), dict(metrics)))


def run_task(task: Task, threads: int, send, runner: Runner) -> TaskOutcome:
    """Execute one task with ``runner`` (which batches its runs) and tidy its tables. Torch and the checkpoint code
    are imported here, in the process that computes, so that a client whose tasks run in workers needs neither."""
    import torch

    from sgtheory.checkpoint import Checkpointer, group_key, resumable

    torch.set_num_threads(threads)
    send(("start", task.index, f"{os.uname().nodename}:{os.getpid()}"))
    start = time.perf_counter()
    options, path = {}, None
    if task.checkpoints is not None and resumable(runner):
        path = str(Path(task.checkpoints) / f"{group_key(task.configs)}.ckpt")
        options["checkpoint"] = Checkpointer(path, task.configs, task.checkpoint_every,
                                             lambda text: send(("note", task.index, text)))
    try:
        results = runner(task.configs, _Reporter(send, task), **options)
        runs = [(r.config, tidy(r.config, task.experiment, r.rows), r.error) for r in results]
        return TaskOutcome(task.index, runs, time.perf_counter() - start, checkpoint=path)
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - a run failing for its own reasons is reported, the sweep goes on
        return TaskOutcome(task.index, None, time.perf_counter() - start, f"{type(err).__name__}: {err}",
                           traceback.format_exc())


@dataclass
class Lost:
    """A task given up after its worker died ``attempts`` times."""

    index: int
    attempts: int
    message: str


Events = Callable[[object], None]  # receives channel messages, TaskOutcome and Lost


def run_tasks(executor: Executor, tasks: list[Task], events: Events, runner: Runner) -> None:
    """Run ``tasks`` on ``executor``, passing every message, outcome and loss to ``events`` as it happens."""
    if executor.kind == "dask":
        _run_dask(executor, tasks, events, runner)
    elif executor.kind == "processes" and len(tasks) > 1 and executor.workers > 1:
        events(("ready", f"{min(executor.workers, len(tasks))} worker processes"))
        _run_processes(executor, tasks, events, runner)
    else:  # inline, or nothing to run in parallel
        events(("ready", "this process"))
        for task in tasks:
            events(run_task(task, executor.threads, events, runner))


# -- process pool ---------------------------------------------------------------------------------------------


def _worker_main(conn, runner: Runner, threads: int, environ: dict[str, str], cwd: str) -> None:
    """A pool worker: runs each task that arrives on its own pipe ``conn`` and sends back the task's messages and
    outcome, until the client closes the pipe or is gone (the worker then exits: it is never orphaned). It takes the
    client's environment and working directory of now (the fork server keeps those of its own start, which may be
    an earlier sweep's)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the client's to handle
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    try:
        while True:
            task = conn.recv()
            try:
                conn.send(run_task(task, threads, conn.send, runner))
            except DataError as err:
                conn.send(("data error", str(err)))
    except (EOFError, BrokenPipeError):
        pass


@dataclass
class _Worker:
    """A worker process, the client's end of its pipe and the task it is running."""

    process: multiprocessing.process.BaseProcess
    conn: connection.Connection
    task: Task | None = None


def _start_worker(context, runner: Runner, threads: int) -> _Worker:
    """Start a worker that ignores SIGINT from its first instruction (the disposition is inherited by the fork
    server, started here, and its children), so a Ctrl-C while it starts up prints no traceback from it."""
    ours, theirs = context.Pipe()
    process = context.Process(target=_worker_main, args=(theirs, runner, threads, dict(os.environ), os.getcwd()),
                              daemon=True)
    main = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        process.start()
    finally:
        if main:
            signal.signal(signal.SIGINT, handler)
    theirs.close()
    return _Worker(process, ours)


def _run_processes(executor: Executor, tasks: list[Task], events: Events, runner: Runner) -> None:
    """Run ``tasks`` on ``executor.workers`` processes, each with a pipe of its own: no lock is shared between
    workers, so a worker killed at any instant cannot block the others, and a death is charged to exactly the task
    its worker was running. Every worker is killed on the way out, whatever ends the sweep."""
    context = multiprocessing.get_context("forkserver")
    module = runner.path.partition(":")[0] if isinstance(runner, RunFunction) else runner.__module__
    context.set_forkserver_preload([__name__, module])  # imported once, by the server (if not yet running)
    todo = deque(tasks)
    attempts = {task.index: 0 for task in tasks}
    workers: list[_Worker] = []

    def assign(worker: _Worker) -> None:
        worker.task = todo.popleft() if todo else None
        if worker.task is not None:
            worker.conn.send(worker.task)

    def drain(worker: _Worker) -> bool:
        """Pass on every message waiting in the worker's pipe; False if the pipe is closed (the worker died)."""
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if isinstance(message, TaskOutcome):
                    events(message)
                    assign(worker)
                elif message[0] == "data error":
                    raise DataError(message[1])
                else:
                    events(message)
        except (EOFError, ConnectionError):
            return False
        return True

    try:
        for _ in range(min(executor.workers, len(tasks))):
            workers.append(_start_worker(context, runner, executor.threads))
            assign(workers[-1])
        while busy := [w for w in workers if w.task is not None]:
            connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=POLL_S)
            for worker in busy:
                alive = worker.process.is_alive()  # before draining: whatever it sent before dying is read
                if (drain(worker) and alive) or worker.task is None:
                    continue
                task = worker.task
                attempts[task.index] += 1
                if attempts[task.index] > executor.retries:
                    events(Lost(task.index, attempts[task.index], "its worker process died"))
                else:
                    todo.appendleft(task)
                _stop(worker)
                workers[workers.index(worker)] = replacement = _start_worker(context, runner, executor.threads)
                assign(replacement)
    finally:
        for worker in workers:
            _stop(worker)


def _stop(worker: _Worker) -> None:
    """Kill the worker's process (if it still runs) and close its pipe."""
    worker.process.kill()
    worker.process.join(timeout=5)
    worker.conn.close()


# -- Dask -----------------------------------------------------------------------------------------------------


@dataclass
class _DaskChannel:
    """Sends a task's messages to the client as Dask worker events on ``topic``."""

    topic: str

    def __call__(self, message):
        from distributed import get_worker

        get_worker().log_event(self.topic, message)


@contextmanager
def dask_client(executor: Executor):
    """A Dask client on ``executor.scheduler`` (address or scheduler file), or on a new local cluster of
    ``executor.workers`` single-threaded processes on 127.0.0.1; both are closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    with ExitStack() as stack:
        try:
            if executor.scheduler:
                where = ({"scheduler_file": executor.scheduler} if Path(executor.scheduler).is_file()
                         else {"address": executor.scheduler})
                client = Client(**where, timeout=CONNECT_TIMEOUT)
            else:
                # the tasks count their own attempts (_dask_attempt): Dask's count, which includes deaths a task
                # was only queued in, must not give a task up first
                with dask.config.set({"distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES}):
                    cluster = stack.enter_context(LocalCluster(
                        n_workers=executor.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=":0", silence_logs=logging.ERROR))
                client = Client(cluster)
        except (OSError, TimeoutError, ValueError) as err:
            where = executor.scheduler or "a local cluster"
            raise ExecutorError(f"cannot reach the Dask scheduler at {where}: {err}") from None
        with client:
            yield client


def _dask_attempt(task: Task, threads: int, send: _DaskChannel, runner: Runner, retries: int) -> TaskOutcome | Lost:
    """One attempt of a task on a Dask worker. Its start count lives in a Dask ``Variable`` (set and read on the
    scheduler before the task runs, so a worker killed right after still leaves it counted); the attempt after
    ``retries`` dead ones reports the task lost without running it."""
    from distributed import Variable

    counter = Variable(_attempts_name(send.topic, task.index))
    try:
        attempts = counter.get(timeout=0) + 1
    except TimeoutError:  # never set: the first attempt
        attempts = 1
    counter.set(attempts)
    if attempts > retries + 1:
        return Lost(task.index, attempts - 1, f"its Dask worker died {attempts - 1} times")
    return run_task(task, threads, send, runner)


def _attempts_name(topic: str, index: int) -> str:
    return f"{topic}-attempts-{index}"


def _run_dask(executor: Executor, tasks: list[Task], events: Events, runner: Runner) -> None:
    from distributed import KilledWorker, Variable
    from distributed import wait as dask_wait

    with dask_client(executor) as client:
        events(("ready", f"Dask at {client.scheduler.address}"))
        topic = f"sgtheory-{uuid.uuid4().hex}"
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        client.subscribe_topic(topic, lambda event: inbox.put(event[1]))
        by_index = {task.index: task for task in tasks}
        submitted = dict.fromkeys(by_index, 0)

        def submit(task: Task):
            submitted[task.index] += 1
            return client.submit(_dask_attempt, task, executor.threads, _DaskChannel(topic), runner, executor.retries,
                                 pure=False, key=f"{task.experiment}-{task.index}-{submitted[task.index]}-{topic}")

        futures = {submit(task): task.index for task in tasks}

        def drain():
            while not inbox.empty():
                events(inbox.get())

        try:
            while futures:
                try:
                    dask_wait(list(futures), timeout=POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                drain()
                for future in [f for f in futures if f.done()]:
                    index = futures.pop(future)
                    try:
                        outcome = future.result()
                    except KilledWorker:  # the scheduler's own limit, charged also for deaths the task only queued in
                        futures[submit(by_index[index])] = index
                        continue
                    events(outcome)
            time.sleep(POLL_S)  # the last progress events may still be on their way
            drain()
        finally:
            client.cancel(list(futures))
            client.unsubscribe_topic(topic)
            for index in by_index:
                Variable(_attempts_name(topic, index), client=client).delete()
