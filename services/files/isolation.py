"""Run a workbook reader in a child process with a memory and a time limit.

A hostile workbook can make the reader (python-calamine, Rust) ask for hundreds of gigabytes
and abort the whole process, or spin for minutes. Reading in a child process keeps that away
from the bot: whatever happens to the child (an exception, MemoryError, a Rust abort, a
segfault, a hang) reaches the caller as the reader's result, as the exception the reader raised
(an `InputError` listing every problem), or as `ChildFailed` with the reason.

How (Linux and other POSIX systems):

- A **zygote** process is started once per process that reads workbooks (`python -c` running
  `zygote_main`), with the parent's `sys.path`. It imports the readers (numpy, calamine …) once
  and then only forks, so a read starts in milliseconds instead of re-importing for seconds.
  It is a plain subprocess, not multiprocessing's forkserver, because multiprocessing re-runs
  the parent's main script in every child (the `kaohe` entry point, pytest, a benchmark).
- For each read the parent makes a socket pair and hands one end to the zygote (SCM_RIGHTS).
  The zygote forks a **supervisor** for that read, which forks the **worker**. The worker lowers
  its own limits (`RLIMIT_AS` address space, `RLIMIT_CPU`, no core file), reads the request
  (function and arguments, pickled) from the socket, runs it and writes back the answer. The
  supervisor waits for the worker with the wall-clock deadline, kills it when the deadline
  passes, and then writes how it ended (exit status or signal, the tail of its stderr).
- The parent only reads its socket; it never forks (the bot has threads and an event loop)
  and never holds the worker's memory. At most `PARALLEL` reads run at once, so several
  coordinators sending large files cannot take all the memory of the machine between them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Reads running at once; more wait their turn (a district office's server is small).
PARALLEL = 2
# Modules the zygote imports once, so that workers start with them loaded.
PRELOAD = ("services.files.reader", "services.files.task_reader", "services.files.inspection")
# Threads of numerical libraries would only add address space to every worker, and a Rust
# backtrace on an abort takes seconds to symbolise for nobody to read.
_CHILD_ENVIRONMENT = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "RUST_BACKTRACE": "0",
}
_STDERR_TAIL = 2000  # bytes read from either end of a dead worker's stderr
_POLL = 0.01  # seconds between checks of the worker by its supervisor
_SLACK = 30.0  # seconds the parent waits beyond the deadline for the supervisor's report


@dataclass(frozen=True)
class ChildLimits:
    """What one read may use: address space in bytes, and seconds (wall clock and CPU)."""

    memory_bytes: int = 2 * 1024**3
    seconds: float = 120.0


class ChildFailed(Exception):
    """The child gave no answer: `reason` is "memory", "time" or "crash"; `detail` says more
    (a signal name, the last lines the worker wrote on stderr)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def start_readers() -> None:
    """Start the zygote now (it imports the readers in the background), so that the first
    workbook a person sends does not wait for it."""
    _ZYGOTE.start()


def run_limited(
    function: Callable[P, T], limits: ChildLimits, /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """`function(*args, **kwargs)` in a child process under `limits`: its result, or the
    exception it raised (with the child's traceback as a note); `ChildFailed` if it ran out of
    memory or time, or died. The function, its arguments and its result must pickle."""
    # The working folder goes along: relative paths mean in the child what they mean here.
    request = pickle.dumps(
        (function, args, kwargs, limits, str(Path.cwd())), protocol=pickle.HIGHEST_PROTOCOL
    )
    with _slots:
        mine, theirs = socket.socketpair()
        with mine:
            try:
                _ZYGOTE.hand_over(theirs)
            finally:
                theirs.close()
            mine.settimeout(limits.seconds + _SLACK)
            _send(mine, request)
            answer, ending = _receive_all(mine)
    if answer is not None:
        status, payload = answer
        if status == "ok":
            return payload  # type: ignore[no-any-return]
        if status == "raised":
            exc, trace = payload
            exc.add_note(f"in the workbook reader's child process:\n{trace}")
            raise exc
        if status == "memory":
            raise ChildFailed("memory", str(payload))
        raise ChildFailed("crash", str(payload))
    raise _failure(ending)


def _receive_all(sock: socket.socket) -> tuple[tuple[str, Any] | None, dict[str, Any] | None]:
    """The worker's answer (if it gave one) and the supervisor's report (if it got that far)."""
    answer: tuple[str, Any] | None = None
    ending: dict[str, Any] | None = None
    try:
        while (message := _receive(sock)) is not None:
            kind, body = pickle.loads(message)
            if kind == "answer":
                answer = body
            elif kind == "ending":
                ending = body
    except TimeoutError:
        return answer, {"reason": "time", "detail": "no report from the supervisor"}
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        return answer, {"reason": "crash", "detail": f"lost the child: {exc}"}
    return answer, ending


def _failure(ending: dict[str, Any] | None) -> ChildFailed:
    """Why a worker that gave no answer stopped."""
    if ending is None:
        return ChildFailed("crash", "the reader process stopped without a report")
    return ChildFailed(ending["reason"], ending.get("detail", ""))


# -- framing: an 8-byte length, then the bytes ------------------------------------------------


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack("!Q", len(data)) + data)


def _receive(sock: socket.socket) -> bytes | None:
    """One message, or None at the end of the stream."""
    head = _exactly(sock, 8)
    if head is None:
        return None
    (size,) = struct.unpack("!Q", head)
    body = _exactly(sock, size)
    if body is None:
        raise EOFError("message cut short")
    return body


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks: list[bytes] = []
    left = size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            if left == size and size == 8:
                return None
            raise EOFError("message cut short")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# -- the parent's end: one zygote per process -------------------------------------------------


class _Zygote:
    """The zygote subprocess of this process, started on first use and again if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._owner = 0  # the pid that started it: a forked copy of this process starts its own

    def start(self) -> None:
        """Start the zygote if it is not running."""
        with self._lock:
            self._running()

    def hand_over(self, end: socket.socket) -> None:
        """Give one end of a read's socket pair to the zygote (starting it if needed)."""
        with self._lock:
            for attempt in (1, 2):
                control = self._running()
                try:
                    socket.send_fds(control, [b"r"], [end.fileno()])
                    return
                except OSError:
                    if attempt == 2:
                        raise
                    log.warning("the workbook reader's zygote was gone; starting it again")
                    self._stop()

    def _running(self) -> socket.socket:
        if (
            self._process is None
            or self._control is None
            or self._owner != os.getpid()
            or self._process.poll() is not None
        ):
            self._stop()
            self._start()
        assert self._control is not None
        return self._control

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        env = {**os.environ, **_CHILD_ENVIRONMENT, "KAOHE_ZYGOTE_PATH": json.dumps(sys.path)}
        bootstrap = (
            "import json, os, sys; sys.path[:] = json.loads(os.environ['KAOHE_ZYGOTE_PATH']); "
            "from services.files.isolation import zygote_main; zygote_main()"
        )
        self._process = subprocess.Popen(
            [sys.executable, "-c", bootstrap, str(theirs.fileno()), *PRELOAD],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        theirs.close()
        self._control = ours
        self._owner = os.getpid()

    def _stop(self) -> None:
        if self._control is not None:
            with contextlib.suppress(OSError):
                self._control.close()
        if self._process is not None and self._owner == os.getpid():
            with contextlib.suppress(OSError):
                self._process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
        self._process = None
        self._control = None


_ZYGOTE = _Zygote()
_slots = threading.BoundedSemaphore(PARALLEL)


# -- the zygote, the supervisor and the worker (in the child processes) -----------------------


def zygote_main() -> None:
    """The zygote: import the readers, then fork a supervisor for every socket handed over,
    until the parent closes the control socket."""
    control = socket.socket(fileno=int(sys.argv[1]))
    for module in sys.argv[2:]:
        __import__(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 16, 1)
        except (OSError, ValueError):
            break
        if not fds:
            break  # the parent closed the control socket: it is gone
        if os.fork() == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = 1
            try:
                _supervise(socket.socket(fileno=fds[0]))
                code = 0
            finally:
                os._exit(code)
        os.close(fds[0])
    os._exit(0)


def _supervise(sock: socket.socket) -> None:
    """Run one worker with its deadline, then report how it ended."""
    with tempfile.TemporaryFile() as errors:
        head = _receive(sock)
        if head is None:
            return
        limits: ChildLimits = pickle.loads(head)[3]
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(errors.fileno(), 2)
                _work(sock, head, limits)
            finally:
                os._exit(0)
        status = _wait_for(pid, time.monotonic() + limits.seconds)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            _send(sock, pickle.dumps(("ending", {"reason": "time", "detail": ""})))
            return
        _send(sock, pickle.dumps(("ending", _ending(status, _tail(errors)))))


def _wait_for(pid: int, deadline: float) -> int | None:
    """The worker's wait status once it ends, or None at the deadline. Woken at once by a
    pidfd where the system has them (Linux 5.3+), else by polling."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(_POLL, left))
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _ending(status: int, stderr: str) -> dict[str, Any]:
    """How a worker ended, from its wait status."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        detail = f"{name} {stderr}".strip()
        # Rust aborts (SIGABRT) when an allocation fails; RLIMIT_CPU ends with SIGXCPU.
        if signum == signal.SIGABRT:
            return {"reason": "memory", "detail": detail}
        if signum in (signal.SIGXCPU, signal.SIGKILL):
            return {"reason": "time", "detail": detail}
        return {"reason": "crash", "detail": detail}
    return {"reason": "crash", "detail": f"exit status {os.WEXITSTATUS(status)} {stderr}".strip()}


def _tail(errors: BinaryIO) -> str:
    """The first and the last line the worker wrote on stderr (a Rust abort's message comes
    first, a Python traceback's last)."""
    errors.seek(0)
    lines = errors.read(_STDERR_TAIL).decode("utf-8", "replace").strip().splitlines()
    errors.seek(0, os.SEEK_END)
    errors.seek(max(0, errors.tell() - _STDERR_TAIL))
    last = errors.read().decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return ""
    return lines[0] if not last or last[-1] == lines[0] else f"{lines[0]} … {last[-1]}"


def _work(sock: socket.socket, request: bytes, limits: ChildLimits) -> None:
    """The worker: lower the limits, run the request, send back the answer."""
    _limit(resource.RLIMIT_AS, limits.memory_bytes)
    cpu = max(1, int(limits.seconds) + 1)
    _limit(resource.RLIMIT_CPU, cpu, cpu + 5)
    _limit(resource.RLIMIT_CORE, 0)  # a crash on a hostile file leaves no core file behind
    answer: tuple[str, Any]
    try:
        function, args, kwargs, _, folder = pickle.loads(request)
        os.chdir(folder)
        answer = ("ok", function(*args, **kwargs))
    except MemoryError:
        answer = ("memory", "MemoryError")
    except Exception as exc:
        answer = ("raised", (exc, _trace()))
    except BaseException as exc:
        answer = ("crash", f"{type(exc).__name__}: {exc}")
    try:
        data = pickle.dumps(("answer", answer), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps(("answer", ("memory", "MemoryError while sending the answer")))
    except Exception:
        # An exception or result that does not pickle: say what it was instead.
        data = pickle.dumps(("answer", ("crash", _trace())))
    _send(sock, data)


def _trace() -> str:
    import traceback

    return traceback.format_exc(limit=8)


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Lower a resource limit of this process (never above the current hard limit)."""
    _, current_hard = resource.getrlimit(kind)
    wanted = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        wanted = min(wanted, current_hard)
    resource.setrlimit(kind, (min(soft, wanted), wanted))
