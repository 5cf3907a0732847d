"""The field types of the request models, each bounded once (from `brx_domain.limits`) and
described exactly as it is checked, so the OpenAPI document and the validation are one thing.

An optional request field is `T | MISSING = MISSING`: it may be left out but is never null,
and the document says exactly that (no `"default": null`, no `null` type). Integers accept
2.0 as 2, as JSON Schema does. Vocabulary fields take the domain's spelling tables as their
enum and store CardTrader's spelling; the document lists that spelling apart from the aliases
(`anyOf`: the stored values first), so a client (the console's lists) can read it from there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from brx_domain.inventory import CONDITION_SPELLINGS, CONDITIONS, LANGUAGE_SPELLINGS, LANGUAGES
from brx_domain.limits import (
    ID_TEXT_MAX,
    INT32_MAX,
    INT64_MAX,
    PROPERTY_KEY_MAX,
    PROPERTY_TEXT_MAX,
    TEXT_MAX,
    TOKEN_MAX,
)


def refused(message: str, field: str = "body") -> PydanticCustomError:
    """A model-level refusal; `field` names it when the error has no location of its own
    (`errors.on_validation_error` reads it)."""
    return PydanticCustomError("invalid_input", message, {"field": field})


def _integral(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer, so the API does too (2.5, "2" and true stay out)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


NO_NUL = r"^[^\u0000]*$"  # Postgres text and jsonb cannot hold U+0000
Text = Annotated[StrictStr, StringConstraints(max_length=TEXT_MAX, pattern=NO_NUL)]
INTEGRAL = BeforeValidator(_integral)  # last in an Annotated, after the bounds
Count = Annotated[StrictInt, Field(ge=0, le=INT32_MAX), INTEGRAL]
Units = Annotated[StrictInt, Field(ge=1, le=INT32_MAX), INTEGRAL]
BigId = Annotated[StrictInt, Field(ge=1, le=INT64_MAX), INTEGRAL]
BlueprintId = Annotated[int, Field(ge=1, le=INT32_MAX)]
ItemId = Annotated[int, Field(ge=1, le=INT64_MAX)]
OpaqueId = Annotated[
    str, StringConstraints(min_length=1, max_length=ID_TEXT_MAX, pattern=r"^[!-~]+$")
]
PathId = Annotated[  # URL-unreserved characters: the id reads back the same from any path
    str, StringConstraints(min_length=1, max_length=ID_TEXT_MAX, pattern=r"^[A-Za-z0-9._~-]+$")
]
Token = Annotated[
    StrictStr,
    StringConstraints(min_length=1, max_length=TOKEN_MAX, pattern=r"^[!-~]+$"),
    Field(description="Printable ASCII without spaces (it travels in an HTTP header)."),
]
PropertyKey = Annotated[
    StrictStr, StringConstraints(min_length=1, max_length=PROPERTY_KEY_MAX, pattern=NO_NUL)
]
_SCALAR: TypeAdapter[Any] = TypeAdapter(
    Annotated[StrictStr, StringConstraints(max_length=PROPERTY_TEXT_MAX, pattern=NO_NUL)]
    | StrictInt  # of any size: jsonb keeps it exact
    | Annotated[StrictFloat, Field(allow_inf_nan=False)]
    | StrictBool
)
PROPERTY_KEY: TypeAdapter[str] = TypeAdapter(PropertyKey)


def _scalar(value: Any) -> Any:
    try:
        return _SCALAR.validate_python(value)
    except ValidationError:
        raise PydanticCustomError(
            "property_value",
            f"must be a string of at most {PROPERTY_TEXT_MAX} characters, a number or a boolean",
        ) from None


PropertyValue = Annotated[Any, PlainValidator(_scalar), WithJsonSchema(_SCALAR.json_schema())]


def _canonical(spellings: Mapping[str, str], what: str, canonical: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        found = spellings.get(value)
        if found is None:
            raise PydanticCustomError(
                "vocabulary", f"unknown {what}; expected one of {list(canonical)} or an alias"
            )
        return found

    return check


def _vocabulary(spellings: Mapping[str, str], what: str, canonical: tuple[str, ...]) -> Any:
    aliases = [spelling for spelling in spellings if spelling not in canonical]
    return WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "enum": list(canonical),
                    "title": f"{what.capitalize()} as stored",
                },
                {
                    "type": "string",
                    "enum": aliases,
                    "title": f"{what.capitalize()} alias",
                    "description": "Accepted and stored as the value it stands for.",
                },
            ]
        }
    )


Condition = Annotated[
    StrictStr,
    AfterValidator(_canonical(CONDITION_SPELLINGS, "condition", CONDITIONS)),
    _vocabulary(CONDITION_SPELLINGS, "condition", CONDITIONS),
    Field(description="Stored in CardTrader's spelling (NM -> Near Mint)."),
]
Language = Annotated[
    StrictStr,
    AfterValidator(_canonical(LANGUAGE_SPELLINGS, "language", LANGUAGES)),
    _vocabulary(LANGUAGE_SPELLINGS, "language", LANGUAGES),
    Field(description="Stored as CardTrader's code (Japanese -> jp)."),
]
