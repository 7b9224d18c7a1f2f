"""Server instructions per request under callgrind, shared by grpc.py, http.py and metrics.py.

Calls/s and CPU time on a shared machine move by ±10 % between runs of the same code, as much
as the margins the benchmarks measure. Instruction counts do not: a server child runs under
``valgrind --tool=callgrind``, ``callgrind_control -d LABEL`` dumps its counters before and
after a batch of requests, and the dump's ``summary`` is the instructions the batch cost.
Under valgrind a server handles a few dozen requests a second, so each request is handled
alone (the unbatched regime); kernel time is not counted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ("Callgrind", "h2load_requests")


class Callgrind:
    """One server child's callgrind output file and the tools to dump and read it."""

    def __init__(self, out: Path) -> None:
        valgrind, control = shutil.which("valgrind"), shutil.which("callgrind_control")
        if valgrind is None or control is None or shutil.which("h2load") is None:
            raise RuntimeError("needs valgrind and h2load: apt-get install valgrind nghttp2-client")
        self.out = out
        self._valgrind = valgrind
        self._control = control

    def command(self, *argv: str) -> list[str]:
        """``argv`` run under callgrind, writing to :attr:`out`."""
        return [self._valgrind, "-q", "--tool=callgrind", f"--callgrind-out-file={self.out}", *argv]

    def dump(self, pid: int, label: str) -> None:
        """Dump the counters of ``pid`` since its last dump, labelled ``label``."""
        subprocess.run([self._control, "-d", label, str(pid)], capture_output=True, check=True)

    def instructions(self, label: str) -> int:
        """The instructions counted in the dump labelled ``label``."""
        for path in self.out.parent.glob(f"{self.out.name}.*"):
            text = path.read_text(errors="replace")
            if f"desc: Trigger: dump {label}\n" in text:
                found = re.search(r"^summary: (\d+)", text, re.MULTILINE)
                if found is not None:
                    return int(found.group(1))
        raise RuntimeError(f"no callgrind dump labelled {label!r} in {self.out.parent}")

    def per_request(self, pid: int, label: str, send: Sequence[str], calls: int) -> float:
        """Instructions per request of ``calls`` requests sent by ``h2load`` args ``send``."""
        h2load_requests(send, 64)
        self.dump(pid, f"warm-{label}")
        h2load_requests(send, calls)
        self.dump(pid, f"run-{label}")
        return self.instructions(f"run-{label}") / calls

    def per_variant(
        self, argv: Sequence[str], send: Callable[[int], Sequence[str]], calls: int
    ) -> dict[str, float]:
        """Instructions per request of each variant of one server child, in its order.

        The child (``argv``, run under callgrind) prints one JSON line ``{variant: port}``
        and serves until its stdin closes; ``send(port)`` gives the h2load arguments.
        """
        child = subprocess.Popen(
            self.command(*argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        assert child.stdin is not None
        try:
            ports: dict[str, int] = json.loads(child.stdout.readline())
            return {
                name: self.per_request(child.pid, name, send(port), calls)
                for name, port in ports.items()
            }
        finally:
            child.stdin.close()
            child.wait(timeout=120)


def h2load_requests(send: Sequence[str], calls: int) -> None:
    """``h2load -n calls -c 8`` with ``send`` (URL and options); every request must succeed."""
    out = subprocess.run(
        ["h2load", "-n", str(calls), "-c", "8", *send],  # noqa: S607 - the PATH's h2load
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    ).stdout
    if f"{calls} succeeded" not in out:
        raise RuntimeError(f"h2load did not finish every request:\n{out}")
