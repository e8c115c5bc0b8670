"""The ingest bench's floor: the least an HTTP edge can do on the same server stack.

An aiohttp handler that parses the body (one event or an array), produces every item with
a bare aiokafka producer (`send()` per record, keyed by eventId, acks=all) and awaits the
acknowledgements before answering. No auth, limits, checks, metrics or dead letters.

    python -m bench.ingest_floor BOOTSTRAP TOPIC PORT
"""

from __future__ import annotations

import asyncio
import sys

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer

PRODUCER: web.AppKey[AIOKafkaProducer] = web.AppKey("producer", AIOKafkaProducer)
TOPIC: web.AppKey[str] = web.AppKey("topic", str)


async def events(request: web.Request) -> web.Response:
    producer, topic = request.app[PRODUCER], request.app[TOPIC]
    doc = orjson.loads(await request.read())
    items = doc if isinstance(doc, list) else [doc]
    futures = [await producer.send(topic, orjson.dumps(item), key=item["eventId"].encode())
               for item in items]
    await asyncio.gather(*futures)
    return web.json_response({"accepted": len(items)})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def main(bootstrap: str, topic: str, port: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[PRODUCER] = producer
    app[TOPIC] = topic
    app.router.add_post("/v1/events", events)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
