"""A TCP proxy for tests that break connections on purpose, on 127.0.0.1 only.

``cut()`` closes every open connection at once, in the middle of whatever it carries (an SSE
stream, say). ``drop_responses(n)`` lets the next ``n`` requests reach the server and then
closes their connections when the answer starts to come back: the request took effect, and
the client never learns it.
"""

from __future__ import annotations

import socket
import threading

# Small buffers, so that a stream the client stops reading backs up in the server rather than
# in the proxy: a cut then really falls in the middle of the stream. (Much smaller ones, 16 KiB,
# slow loopback transfers down to a crawl.)
_BUFFER_BYTES = 64 * 1024


class CuttingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``host:target_port``."""

    def __init__(self, host: str, target_port: int) -> None:
        self._target = (host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._drops = 0
        self.dropped = 0
        """How many responses were dropped."""
        self.cuts = 0
        """How many connections ``cut()`` closed."""
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_responses(self, count: int = 1) -> None:
        """Drops the connection of each of the next ``count`` responses."""
        with self._lock:
            self._drops += count

    def cut(self) -> int:
        """Closes every open connection now; how many there were."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            self._close(pair)
        self.cuts += len(pairs)
        return len(pairs)

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        finally:
            self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                downstream.close()
                continue
            upstream.settimeout(None)
            for sock in (downstream, upstream):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _BUFFER_BYTES)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BUFFER_BYTES)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (downstream, upstream)
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, True), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket], answers: bool) -> None:
        downstream, upstream = pair
        source, sink = (upstream, downstream) if answers else (downstream, upstream)
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if answers and self._take_drop():
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)
            self._close(pair)

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops == 0:
                return False
            self._drops -= 1
            self.dropped += 1
            return True

    @staticmethod
    def _close(pair: tuple[socket.socket, socket.socket]) -> None:
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
