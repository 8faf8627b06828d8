#!/usr/bin/env python3
"""A WebSocket echo origin and load client for bench/grpc_ws_bench.sh, in plain asyncio
(python3-websockets would cost the proxies' figures nothing, but caps the load far lower).

  ws_echo.py origin PORT                 answers the upgrade (RFC 6455's accept key), then
                                         echoes every byte back as it came
  ws_echo.py client PORT CONNS SECONDS   CONNS connections, each sending a 32-byte masked
                                         text message and waiting for its echo, in turn,
                                         for SECONDS; prints the messages echoed

The origin echoes frames as they are (masked): the proxies tunnel bytes and never read
the frames, so a message's cost to them is the same.
"""
import asyncio
import base64
import hashlib
import os
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def serve(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:  # a probe of the port
        writer.close()
        return
    key = next(line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key:"))
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def origin(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def frame():
    payload = b"x" * 32
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def one(port, until, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16))
    writer.write(b"GET /echo HTTP/1.1\r\nHost: bench.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    message = frame()
    n = 0
    while time.monotonic() < until:
        writer.write(message)
        await reader.readexactly(len(message))
        n += 1
    counts.append(n)
    writer.close()


async def client(port, connections, seconds):
    counts = []
    until = time.monotonic() + seconds
    await asyncio.gather(*(one(port, until, counts) for _ in range(connections)))
    print(sum(counts))


if __name__ == "__main__":
    if sys.argv[1] == "origin":
        asyncio.run(origin(int(sys.argv[2])))
    else:
        asyncio.run(client(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
