#!/usr/bin/env python3
"""A WebSocket origin for the tests, on Debian's python3-websockets. By path:

  /echo       echoes each message, text or binary
  /headers    sends, as its first message, the request's x-seen-upgrade field
  /push       sends "tick" every 200 ms, reads nothing
  /close/N    closes at once with code N, reason "closing N"

Logs "open PATH" and "closed CODE" per connection. With --tls, it serves over TLS and
offers ALPN h2 before http/1.1 (as a server that speaks both would).
Usage: ws_origin.py PORT --log FILE [--tls CERT KEY]
"""
import argparse
import asyncio
import resource
import ssl

import websockets

LOG = None


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


async def serve(ws, path):
    log(f"open {path}")
    try:
        if path == "/headers":
            await ws.send(ws.request_headers.get("x-seen-upgrade", ""))
            await ws.wait_closed()
        elif path == "/push":
            while True:
                await ws.send("tick")
                await asyncio.sleep(0.2)
        elif path.startswith("/close/"):
            code = int(path.rsplit("/", 1)[1])
            await ws.close(code=code, reason=f"closing {code}")
        else:
            async for message in ws:
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    finally:
        log(f"closed {ws.close_code}")


async def main(port, tls):
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        context.set_alpn_protocols(["h2", "http/1.1"])
    async with websockets.serve(serve, "127.0.0.1", port, max_size=None, ping_interval=None, backlog=2048,
                                ssl=context):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--log", required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    LOG = args.log
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    asyncio.run(main(args.port, args.tls))
