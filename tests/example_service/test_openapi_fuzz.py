"""schemathesis against the service's own OpenAPI schema, over a real socket.

Every generated request (valid and invalid bodies, odd codes) must get no 5xx, a status code,
content type, headers and body that the schema declares, and must neither lose nor corrupt
a stored link: links created before the run still resolve to their URL afterwards, and every
link the run creates resolves to exactly the URL it was created with.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.example_service.process import ServiceProcess

pytestmark = pytest.mark.integration

EXAMPLES = 40
CREATED: dict[str, str] = {}
"""Links the generated requests created (code → URL), checked again at the end."""
SEEDS = ("https://example.com/", "http://localhost:8080/a?b=c&d=%20#frag", "https://x.io/ü")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cwd: Path = tmp_path_factory.mktemp("fuzz")
    process = ServiceProcess({"LINKS_HTTP_PORT": "0", "LINKS_GRPC_PORT": "0"}, cwd)
    try:
        http_url, _ = process.ready()
        yield http_url
        assert process.terminate() == 0
    finally:
        process.close()


@pytest.fixture(scope="module")
def seeded(service: str) -> dict[str, str]:
    """Links stored before the run: code → URL (non-ASCII is refused, so skip that one)."""
    codes = {}
    for url in SEEDS:
        response = httpx.post(f"{service}/links", json={"url": url}, timeout=5)
        if response.status_code == 201:
            codes[response.json()["code"]] = url
    assert len(codes) == 2
    return codes


@pytest.fixture(scope="module")
def links_api(service: str, seeded: dict[str, str]) -> Any:
    return schemathesis.openapi.from_url(f"{service}/schema/openapi.json")


def created_link_resolves(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 201 from POST /links: the body echoes the URL, and the code redirects to it."""
    del ctx
    if case.path != "/links" or response.status_code != 201:
        return None
    sent = case.body["url"]
    body = response.json()
    assert body["url"] == sent, f"created {body!r} for {sent!r}"
    base = response.request.url.rsplit("/links", 1)[0]
    follow = httpx.get(f"{base}/{body['code']}", timeout=5)
    assert follow.status_code == 307, follow.text
    assert follow.headers["location"] == sent, f"{follow.headers['location']!r} != {sent!r}"
    CREATED[body["code"]] = sent
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    created_link_resolves,
]


# schemathesis' own pytest integration (`from_fixture` / `parametrize`) does not work with
# pytest 9 (it reads a private attribute pytest dropped): the test drives hypothesis with the
# operation's strategies itself, which is what that integration does.
# Negative cases exist only for the body: any string is a valid path parameter.
@pytest.mark.parametrize(
    ("mode", "method", "path"),
    [
        (GenerationMode.POSITIVE, "POST", "/links"),
        (GenerationMode.NEGATIVE, "POST", "/links"),
        (GenerationMode.POSITIVE, "GET", "/{code}"),
        (GenerationMode.POSITIVE, "GET", "/links/{code}/stats"),
    ],
)
def test_generated_requests_get_no_5xx_and_answers_within_the_schema(
    links_api: Any, mode: GenerationMode, method: str, path: str
) -> None:
    operation = links_api[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, allow_redirects=False, timeout=10)

    check()


VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
VALID_URLS = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z]{2,6}){0,2}(:[1-9][0-9]{0,3})?", fullmatch=True),
    st.text(alphabet=VISIBLE_ASCII, max_size=80).map(lambda p: "/" + p),
)


def test_every_valid_url_is_stored_and_redirected_to_exactly(links_api: Any) -> None:
    """Generated valid URLs (any visible ASCII in the path): 201, then a 307 to the same URL."""
    operation = links_api["/links"]["POST"]

    @given(url=VALID_URLS)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(url: str) -> None:
        response = operation.Case(body={"url": url}).call_and_validate(checks=CHECKS, timeout=10)
        assert response.status_code == 201, response.text

    check()


def test_links_stored_before_and_during_the_run_are_intact(
    service: str, seeded: dict[str, str]
) -> None:
    assert CREATED, "the generated requests created no link: the run checked nothing stored"
    for code, url in {**seeded, **CREATED}.items():
        response = httpx.get(f"{service}/{code}", timeout=5)
        assert response.status_code == 307
        assert response.headers["location"] == url
