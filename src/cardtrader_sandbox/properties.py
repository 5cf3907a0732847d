"""Property rules of the simulator: which keys a seller may set per game, their allowed values,
and CardTrader's answer to anything else (a warning and the default, or an error when strict)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cardtrader_sandbox.catalogue import CONDITIONS, LANGUAGES, MAGIC, ONE_PIECE, POKEMON, GameKind

Allowed = tuple[object, ...]
_BOOL: Allowed = (True, False)

_EDITABLE: dict[str, dict[str, Allowed]] = {
    MAGIC.name: {
        "condition": CONDITIONS,
        "mtg_language": LANGUAGES,
        "mtg_foil": _BOOL,
        "signed": _BOOL,
        "altered": _BOOL,
    },
    POKEMON.name: {
        "condition": CONDITIONS,
        "pokemon_language": LANGUAGES,
        "first_edition": _BOOL,
        "pokemon_reverse": _BOOL,
    },
    ONE_PIECE.name: {"condition": CONDITIONS, "onepiece_language": LANGUAGES, "signed": _BOOL},
}


def editable(kind: GameKind) -> dict[str, Allowed]:
    """Editable keys of a game with their allowed values (sealed products have none)."""
    return _EDITABLE.get(kind.name, {})


def defaults(kind: GameKind) -> dict[str, object]:
    """What CardTrader stores when a property is missing or refused."""
    out: dict[str, object] = {}
    for key in editable(kind):
        out[key] = (
            "Near Mint" if key == "condition" else "en" if key.endswith("language") else False
        )
    return out


@dataclass
class PropertyOutcome:
    """The merged properties plus the warnings (or errors, in strict mode) CardTrader reports."""

    properties: dict[str, object]
    messages: dict[str, list[str]] = field(default_factory=dict)

    def note(self, key: str, message: str) -> None:
        self.messages.setdefault(key, []).append(message)


def apply_properties(
    kind: GameKind,
    read_only: dict[str, object],
    current: dict[str, object],
    given: object,
    foil_false_refused: bool,
) -> PropertyOutcome:
    """Merge `given` over `current` key by key; refused keys keep their current/default value."""
    outcome = PropertyOutcome(properties=dict(current))
    if given is None:
        return outcome
    if not isinstance(given, dict):
        outcome.note("properties", "must be an object")
        return outcome
    rules = editable(kind)
    for key, value in given.items():
        if key in read_only:
            outcome.note(key, f"Read only property {key} has been ignored")
        elif key not in rules:
            outcome.note(key, f"Unknown property {key} has been ignored")
        elif key == "mtg_foil" and value is False and foil_false_refused:
            outcome.note(key, "Property mtg_foil value false is not allowed")
        elif value not in rules[key] or type(value) is not type(rules[key][0]):
            outcome.note(key, f"Invalid value {value!r} for {key}, default used")
            outcome.properties[key] = current.get(key, defaults(kind)[key])
        else:
            outcome.properties[key] = value
    return outcome
