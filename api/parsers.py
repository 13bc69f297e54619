"""The API's JSON parser: DRF's, with a nesting limit checked before parsing.

Python's json module recurses once per level of nesting, so a body like `[[[[...]]]]`
1000 levels deep raised RecursionError (a 500) on every JSON route, at a depth that
depended on the interpreter's recursion limit and on how deep the request's stack already
was. This parser refuses JSON nested deeper than MAX_JSON_DEPTH with a 400 `parse_error`
before handing the body to the json module; the kit's request bodies are flat objects.
Everything else json refuses on hostile input (invalid text or encoding, a number longer
than Python's int-string conversion limit, NaN) is a ValueError DRF already turns into
the same 400.
"""

import io
import itertools
import operator
from collections.abc import Mapping
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32

_NOT_A_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
# An opening bracket counts 2, a closing one 0; minus 1 per bracket: +1 and -1.
_STEP = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text in UTF-8 or another
    ASCII-compatible encoding (brackets inside strings do not count), without recursion:
    a few passes over the bytes in C, costing about what the json module's own parse of
    the same body costs."""
    # Escaped backslashes, then escaped quotes, removed left to right as JSON pairs them:
    # each quote left opens or closes a string.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside_strings = b"".join(unescaped.split(b'"')[::2])
    steps = outside_strings.translate(_STEP, _NOT_A_BRACKET)
    # The running sum of +1/-1 per bracket is the depth at each point.
    return max(map(operator.sub, itertools.accumulate(steps), itertools.count(1)), default=0)


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, refusing JSON nested deeper than MAX_JSON_DEPTH (400 parse_error)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = stream.read()
        # The bracket count bounds the depth: most bodies skip the scan.
        openings = body.count(b"[") + body.count(b"{")
        if openings > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            # Not reached at MAX_JSON_DEPTH from any stack a request runs on; kept so that
            # no body is ever a 500 whatever the interpreter's recursion limit.
            raise ParseError("JSON parse error - nested too deep.") from exc
