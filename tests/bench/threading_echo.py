#!/usr/bin/env python3
"""threading_echo.py: the Python standard library's thread-per-connection
echo server (socketserver.ThreadingTCPServer), run natively or under
libgreen by scripts/bench-threads.

    python3 threading_echo.py

Listens on a free loopback port, prints "port N", echoes every byte
until killed."""
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        while True:
            data = s.recv(65536)
            if not data:
                return
            s.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096
    block_on_close = False


with Server(("127.0.0.1", 0), Echo) as srv:
    print("port", srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
