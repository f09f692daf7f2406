"""Writing a large output file (outcomes.csv: ~2 GB for 10M outcomes) past the page cache.

A buffered write copies every byte into page-cache pages the kernel must first find and clear. On a machine
whose free memory is handed back to its host (a VM with free-page reporting or DAMON reclaim, as CI's and this
project's), each fresh page costs a fault on the host too: writing 2 GB took 14 s of kernel time there, against
0.8 s for the same bytes written with O_DIRECT straight to the disk (measured with dd; bench/RESULTS.md). And
nobody reads the file back soon: whoever opens outcomes.csv does so later.

``DirectFile`` is a write-only file object (pyarrow's CSV writer takes it as its sink): it gathers the bytes in
page-aligned buffers and writes whole blocks with O_DIRECT from a second thread, so the disk's time overlaps the
producer's. Where O_DIRECT is missing (not Linux) or refused (tmpfs on older kernels, some network file
systems, a block size it does not accept), it writes through the page cache as any file, from the first refused
write on: the bytes and the file are the same either way.
"""

from __future__ import annotations

import errno
import mmap
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

#: O_DIRECT's unit: file offsets and lengths of direct writes are multiples of it (4 KiB covers 512-byte and
#: 4 KiB logical blocks; the buffers are page-aligned, which covers their address)
BLOCK = 4096


class DirectFile:
    """Write-only binary file at ``path`` (created or truncated), written past the page cache where possible."""

    def __init__(self, path: str | Path, *, chunk: int = 8 << 20, direct: bool = True):
        if chunk <= 0 or chunk % BLOCK:
            raise ValueError(f"chunk must be a positive multiple of {BLOCK}")
        self.name = str(path)
        # (O_BINARY: on Windows a descriptor is opened in text mode otherwise, and every \n would become \r\n)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        self._fd = os.open(self.name, flags, 0o666)
        self._direct = bool(direct) and _set_direct(self._fd, True)
        self._bufs = [mmap.mmap(-1, chunk), mmap.mmap(-1, chunk)]  # anonymous maps: page-aligned
        self._pending: list[Future | None] = [None, None]  # the write of each buffer still under way
        self._cur, self._fill, self._chunk = 0, 0, chunk
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paymatch-write")
        self.closed = False

    @property
    def direct(self) -> bool:
        """Whether the writes so far went past the page cache."""
        return self._direct

    # the file-object protocol pyarrow's sink needs
    def writable(self) -> bool:
        """Always: the file is opened for writing only."""
        return True

    def write(self, data) -> int:
        """Take ``data`` (any bytes-like object); a full buffer goes to the writer thread. Returns its length."""
        view = memoryview(data).cast("B")
        n, at = len(view), 0
        while at < n:
            take = min(n - at, self._chunk - self._fill)
            self._bufs[self._cur][self._fill:self._fill + take] = view[at:at + take]
            self._fill += take
            at += take
            if self._fill == self._chunk:
                self._hand_over()
        return n

    def flush(self) -> None:
        """Nothing to do: whole buffers go out as they fill and the rest at ``close`` (a direct write is whole blocks)."""

    def close(self) -> None:
        """Write what is left and close the file (also after a failed write: the error is raised here)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._wait_all()
            if self._fill:
                buf, n = self._bufs[self._cur], self._fill
                whole = n - n % BLOCK
                if whole:
                    self._write_all(memoryview(buf)[:whole])
                if n > whole:  # the last part block: through the page cache (a direct write cannot be partial)
                    if self._direct:
                        self._direct = not _set_direct(self._fd, False)
                    self._write_all(memoryview(buf)[whole:n])
        finally:
            self._pool.shutdown(wait=True)
            os.close(self._fd)
            for b in self._bufs:
                try:
                    b.close()
                except BufferError:  # a failed write's traceback still holds a view of it: freed with that
                    pass

    def __enter__(self) -> DirectFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _hand_over(self) -> None:
        """The current buffer is full: write it from the writer thread, fill the other one meanwhile."""
        cur = self._cur
        self._pending[cur] = self._pool.submit(self._write_all, memoryview(self._bufs[cur])[:self._fill])
        self._cur = 1 - cur
        self._fill = 0
        waiting, self._pending[self._cur] = self._pending[self._cur], None
        if waiting is not None:  # the other buffer's write must be done before it is filled again
            waiting.result()

    def _wait_all(self) -> None:
        for i, f in enumerate(self._pending):
            self._pending[i] = None
            if f is not None:
                f.result()

    def _write_all(self, view: memoryview) -> None:
        at, n = 0, len(view)
        while at < n:
            try:
                wrote = os.write(self._fd, view[at:])
            except OSError as e:
                # O_DIRECT accepted at open but a write refused (a file system that takes the flag and not the
                # writes, a device whose block is larger than BLOCK): the rest goes through the page cache
                if not (self._direct and e.errno == errno.EINVAL):
                    raise
                self._direct = not _set_direct(self._fd, False)
                if self._direct:
                    raise
                continue
            at += wrote
            if self._direct and at < n and at % BLOCK:  # a short direct write left an unaligned offset
                self._direct = not _set_direct(self._fd, False)


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for ``fd``; whether that worked (False where the platform or file system lacks it)."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    import fcntl

    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | flag) if on else (flags & ~flag))
    except OSError:
        return False
    return True
