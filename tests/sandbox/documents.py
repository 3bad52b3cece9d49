"""Helpers for the simulator tests: JSON:API request documents and response checks."""

from __future__ import annotations

import re
from typing import Any

import httpx

JSONAPI = "application/vnd.api+json"
ID_PATTERN = re.compile(r"^[a-z]+_[0-9A-Za-z]{7}$")


def jsonapi_body(
    type_name: str, attributes: dict[str, Any], **relationships: Any
) -> dict[str, Any]:
    """A JSON:API request document."""
    data: dict[str, Any] = {"type": type_name, "attributes": attributes}
    if relationships:
        data["relationships"] = relationships
    return {"data": data}


def link(type_name: str, resource_id: str) -> dict[str, Any]:
    return {"data": {"type": type_name, "id": resource_id}}


def links(type_name: str, ids: list[str]) -> dict[str, Any]:
    return {"data": [{"type": type_name, "id": i} for i in ids]}


def assert_error(
    response: httpx.Response, status: int, *, pointer: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The response is a JSON:API error document with `status` (and the pointer/code given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(JSONAPI)
    errors = response.json()["errors"]
    assert errors
    assert all(e["status"] == str(status) for e in errors)
    if pointer is not None:
        pointers = [e.get("source", {}).get("pointer") for e in errors]
        assert pointer in pointers, pointers
        match = errors[pointers.index(pointer)]
    else:
        match = errors[0]
    if code is not None:
        assert match["code"] == code, match
    assert isinstance(match["detail"], str)
    assert match["detail"]
    return dict(match)


def assert_resource(resource: dict[str, Any], type_name: str, prefix: str) -> None:
    """A JSON:API resource object of `type_name` with a Rupa-style id."""
    assert set(resource) >= {"id", "type", "attributes", "relationships"}
    assert resource["type"] == type_name
    assert ID_PATTERN.match(resource["id"])
    assert resource["id"].startswith(prefix + "_")
