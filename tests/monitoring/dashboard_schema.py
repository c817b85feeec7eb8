"""Checks a dashboard's API answer against the schema the API publishes for it
(api/v1/schema/), as a strict JSON Schema: every field listed, no other field, each of
its type, null only where the schema says nullable."""

import jsonschema


def as_json_schema(schema):
    """OpenAPI 3.0's `nullable: true` as JSON Schema's null type, all the way down."""
    if isinstance(schema, list):
        return [as_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: as_json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def published_schema(client, path: str) -> dict:
    document = client.get("/api/v1/schema/", {"format": "json"}).json()
    response = document["paths"][path]["get"]["responses"]["200"]
    return as_json_schema(response["content"]["application/json"]["schema"])


def check(answer, schema) -> None:
    jsonschema.validate(answer, schema, format_checker=jsonschema.FormatChecker())


def answer_matching_its_schema(client, path: str, params: dict) -> dict:
    """The dashboard's answer, once checked against its published schema."""
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    check(response.json(), published_schema(client, path))
    return response.json()
