"""The flow every mode must pass: create over HTTP, resolve over gRPC, click, count."""

from __future__ import annotations

import httpx
from grpclib.client import Channel
from service_pkg.testing import eventually

from example_service.proto.links.v1 import LinksStub, ResolveRequest, StatsRequest


async def create(client: httpx.AsyncClient, url: str) -> str:
    response = await client.post("/links", json={"url": url})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["url"] == url
    return str(body["code"])


async def click(client: httpx.AsyncClient, code: str, url: str) -> None:
    response = await client.get(f"/{code}")
    assert response.status_code == 307, response.text
    assert response.headers["location"] == url


async def http_clicks(client: httpx.AsyncClient, code: str) -> int:
    response = await client.get(f"/links/{code}/stats")
    assert response.status_code == 200, response.text
    return int(response.json()["clicks"])


async def create_resolve_click_count(http_url: str, grpc_port: int, clicks: int = 3) -> str:
    """The issue's flow; returns the code. The rollup job runs on its own (short interval)."""
    url = "https://example.com/some/page?q=1"
    async with httpx.AsyncClient(base_url=http_url) as client:
        code = await create(client, url)
        channel = Channel("127.0.0.1", grpc_port)
        try:
            stub = LinksStub(channel)
            link = await stub.resolve(ResolveRequest(code=code))
            assert (link.code, link.url) == (code, url)
            for _ in range(clicks):
                await click(client, code, url)

            async def counted() -> bool:
                return await http_clicks(client, code) == clicks

            await eventually(counted, timeout=20)
            stats = await stub.stats(StatsRequest(code=code))
            assert (stats.code, stats.clicks) == (code, clicks)
        finally:
            channel.close()
    return code
