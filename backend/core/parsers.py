"""The JSON request parser: orjson, which refuses nesting past 1,024 levels as bad input.

DRF's JSONParser recurses in the standard library's decoder, so a body of a hundred
thousand `[` ended in a RecursionError and a 500. orjson stops at a fixed depth with a
decode error, and parses faster; like DRF's strict mode it refuses NaN and Infinity.
"""

from collections.abc import Mapping
from typing import IO, Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
