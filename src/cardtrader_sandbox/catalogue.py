"""The sandbox's fixed blueprint catalogue: the same for every seed, so a MySQL catalogue fixture
can mirror any subset of it without running the sandbox.

Layout (documented contract for fixtures):

- `BLUEPRINT_COUNT` blueprints; blueprint number `i` (0-based) has id
  `FIRST_BLUEPRINT_ID + i * BLUEPRINT_STEP` (16, 23, 30, ... up to about 280,000).
- Its kind is `KINDS[i % 20]`: 14 of 20 are Magic singles (table `cards_prints`), 3 Pokémon
  (`pk_prints`), 1 One Piece (`op_prints`) and 2 sealed products (`sealed_products`).
- Its expansion is number `i // EXPANSION_SIZE`; `blueprint(bid)` returns everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FIRST_BLUEPRINT_ID = 16
BLUEPRINT_STEP = 7
BLUEPRINT_COUNT = 40_000
EXPANSION_SIZE = 250

# CardTrader's vocabularies, kept apart from brx_domain on purpose: the simulator speaks for
# CardTrader, so a mistake in the domain's lists shows up as a failing test, not a blind spot.
CONDITIONS = (
    "Mint",
    "Near Mint",
    "Slightly Played",
    "Moderately Played",
    "Played",
    "Heavily Played",
    "Poor",
)
LANGUAGES = (
    "en",
    "fr",
    "de",
    "it",
    "jp",
    "kr",
    "pt",
    "ru",
    "es",
    "zh-CN",
    "zh-TW",
    "nl",
    "cz",
    "hu",
    "pl",
)
RARITIES = ("Common", "Uncommon", "Rare", "Mythic", "Special")
COLORS = ("", "White", "Blue", "Black", "Red", "Green", "Blue,Red", "Black,Green")
_WORDS_A = ("Tranquil", "Ancient", "Burning", "Silent", "Verdant", "Shadow", "Crystal", "Iron")
_WORDS_B = ("Cove", "Dragon", "Oracle", "Golem", "Tide", "Warden", "Spire", "Bloom", "Pact")
_CODES = ("m", "dom", "eld", "khm", "neo", "one", "mom", "woe", "lci", "mkm", "otj", "blb")


@dataclass(frozen=True, slots=True)
class GameKind:
    """What a blueprint is: CardTrader game/category ids and the shop's catalogue table."""

    name: str
    game_id: int
    category_id: int
    table: str
    language_key: str | None


MAGIC = GameKind("magic", 1, 1, "cards_prints", "mtg_language")
POKEMON = GameKind("pokemon", 5, 73, "pk_prints", "pokemon_language")
ONE_PIECE = GameKind("onepiece", 15, 192, "op_prints", "onepiece_language")
SEALED = GameKind("sealed", 1, 5, "sealed_products", None)
KINDS: tuple[GameKind, ...] = (MAGIC,) * 14 + (POKEMON,) * 3 + (ONE_PIECE,) + (SEALED,) * 2


@dataclass(frozen=True, slots=True)
class Expansion:
    id: int
    code: str
    name_en: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "code": self.code, "name_en": self.name_en}


@dataclass(frozen=True, slots=True)
class Blueprint:
    """One printable thing; `read_only` are the properties sellers cannot change."""

    id: int
    index: int
    name_en: str
    kind: GameKind
    expansion: Expansion
    read_only: dict[str, object]


def blueprint_id_at(index: int) -> int:
    return FIRST_BLUEPRINT_ID + index * BLUEPRINT_STEP


def expansion_at(number: int) -> Expansion:
    code = f"{_CODES[number % len(_CODES)]}{number // len(_CODES) + 1}"
    return Expansion(id=8 + number * 3, code=code, name_en=f"Sandbox Set {number + 1}")


def _read_only(index: int, kind: GameKind) -> dict[str, object]:
    rarity = RARITIES[(index * 7 + index // 13) % len(RARITIES)]
    number = str(index % EXPANSION_SIZE + 1)
    if kind is MAGIC:
        return {
            "mtg_rarity": rarity,
            "collector_number": number,
            "cmc": f"{(index * 5) % 9}.0",
            "mtg_card_colors": COLORS[index % len(COLORS)],
            "tournament_legal": index % 11 != 0,
        }
    if kind is SEALED:
        return {}
    return {f"{kind.name}_rarity": rarity, "collector_number": number}


_CACHE: dict[int, Blueprint] = {}


def blueprint_at(index: int) -> Blueprint:
    """The blueprint number `index`, built once and cached (products share it)."""
    found = _CACHE.get(index)
    if found is None:
        kind = KINDS[index % len(KINDS)]
        name = f"{_WORDS_A[index % len(_WORDS_A)]} {_WORDS_B[(index // 8) % len(_WORDS_B)]}"
        if kind is SEALED:
            name = f"{name} Booster Box"
        found = Blueprint(
            id=blueprint_id_at(index),
            index=index,
            name_en=f"{name} {index}",
            kind=kind,
            expansion=expansion_at(index // EXPANSION_SIZE),
            read_only=_read_only(index, kind),
        )
        _CACHE[index] = found
    return found


def blueprint(blueprint_id: int) -> Blueprint | None:
    """The blueprint with this CardTrader id, or None when the catalogue has no such id."""
    offset = blueprint_id - FIRST_BLUEPRINT_ID
    if offset < 0 or offset % BLUEPRINT_STEP or offset // BLUEPRINT_STEP >= BLUEPRINT_COUNT:
        return None
    return blueprint_at(offset // BLUEPRINT_STEP)


def iter_blueprints() -> Iterator[Blueprint]:
    """Every blueprint in id order (a catalogue fixture filters this by `kind.table`)."""
    for index in range(BLUEPRINT_COUNT):
        yield blueprint_at(index)


def ids_by_table(blueprint_ids: Iterable[int]) -> dict[str, list[int]]:
    """Split CardTrader blueprint ids by the shop's catalogue table that would hold them (a MySQL
    catalogue fixture inserts `cardtrader_id` rows from this); unknown ids are left out."""
    tables: dict[str, list[int]] = {}
    for bid in sorted(set(blueprint_ids)):
        found = blueprint(bid)
        if found is not None:
            tables.setdefault(found.kind.table, []).append(bid)
    return tables
