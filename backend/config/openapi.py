"""The error answers every operation may give, written into the OpenAPI schema.

The views document their successes (and the refusals particular to them); the answers the
contract allows everywhere come from the framework around them: 400 for bad input, 403 for a
missing login or CSRF token, 404 for an unknown object or path, 408 and 413 for a body too
slow or too large, 429 when throttled, 503 when a dependency is down. A client (and a schema
fuzzer) is told about all of them here, in one place, with the error shape they share.
"""

from typing import Any

ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": 'Either {"detail": "..."} or, for bad fields, {"field": ["message", ...]}.',
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
ERROR_ANSWERS = {
    "400": "Bad input: the fields (or the query) are named with their messages.",
    "403": "Not logged in, or the CSRF token is missing.",
    "404": "No such object, or no such path.",
    "408": "The request body did not arrive in time.",
    "413": "The request body is too large.",
    "429": "Throttled; Retry-After says when to try again.",
    "503": "A dependency (the database) is down; Retry-After says when to try again.",
}


def document_error_answers(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the shared error answers an operation lacks."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_ANSWERS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result
