"""Every size and range limit of the service's input, in one place.

The HTTP models (`brx_app.http.schemas`) enforce them and publish them in the OpenAPI document,
and the domain's own parsers (CardTrader's webhook envelope, the JSON reader) use the same
numbers, so a bound is changed once. Most follow from a column type: `INTEGER` is 32-bit,
`BIGINT` 64-bit, `VARCHAR(255)` holds ids."""

from __future__ import annotations

INT32_MAX = 2**31 - 1  # INTEGER columns: quantity, price_cents, blueprint_id
INT64_MAX = 2**63 - 1  # BIGINT columns: item ids, order ids

ID_TEXT_MAX = 255  # VARCHAR(255): task / operation ids, webhook delivery ids
TEXT_MAX = 2000  # description, user_data_field
SEARCH_MAX = 100  # characters of a card-name search
TOKEN_MAX = 4096  # a CardTrader API token (a JWT of a few hundred characters in practice)

PROPERTY_KEYS_MAX = 50  # keys in one `properties` object
PROPERTY_KEY_MAX = 64  # characters of one key
PROPERTY_TEXT_MAX = 256  # characters of one free-form string value

PAGE_DEFAULT = 100
PAGE_MAX = 1000
OFFSET_MAX = 1_000_000_000
DEBUG_LOGS_DEFAULT = 100
DEBUG_LOGS_MAX = 500

JSON_BODY_MAX = 64 * 1024  # bytes of an API request body (webhooks: WEBHOOK_MAX_BODY_BYTES)
JSON_DEPTH_MAX = 32  # nesting of objects and arrays; CardTrader's order webhook uses 4
