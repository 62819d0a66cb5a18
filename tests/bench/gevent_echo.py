#!/usr/bin/env python3
"""gevent_echo.py: the reference for threading_echo.py: gevent's
StreamServer echo (one greenlet per connection), as gevent's own
examples write it.

    python3 gevent_echo.py

Listens on a free loopback port, prints "port N", echoes every byte
until killed."""
from gevent.server import StreamServer


def echo(sock, _addr):
    while True:
        data = sock.recv(65536)
        if not data:
            return
        sock.sendall(data)


srv = StreamServer(("127.0.0.1", 0), echo, backlog=4096)
srv.init_socket()
print("port", srv.server_port, flush=True)
srv.serve_forever()
