"""The card schema checked to the letter of each number, as a test oracle independent of the publisher's validator.

Documents are parsed with every number as written (`parse_float=Decimal`): `800.0` is then not an integer, and
the schema's `x-decimals: N` annotation (at most N decimals) is enforced, so float noise such as
`670.5000000000002` or `254.10999999999999` fails where a float-parsing validator would let it through.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from publishing.validation import CARD_SCHEMA_PATH


def _decimals(validator, places, instance, schema):
    if isinstance(instance, Decimal) and -instance.as_tuple().exponent > places:
        yield jsonschema.ValidationError(f"{instance} has more than {places} decimals")


@cache
def strict_validator() -> jsonschema.protocols.Validator:
    checker = jsonschema.validators.extend(Draft202012Validator, {"x-decimals": _decimals})
    return checker(json.loads(CARD_SCHEMA_PATH.read_text()), format_checker=FormatChecker())


def strict_problems(body: str | bytes) -> list[str]:
    """Every schema violation of one document's bytes, with its path."""
    document = json.loads(body, parse_float=Decimal)
    return [f"{'/'.join(map(str, error.absolute_path)) or 'document'}: {error.message}"
            for error in strict_validator().iter_errors(document)]
