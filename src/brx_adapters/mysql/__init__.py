"""The shop's card catalogue in MySQL/MariaDB: a read-only, cached `BlueprintCatalogue`."""

from brx_adapters.mysql.cache import AnswerCache
from brx_adapters.mysql.catalogue import DEFAULT_TABLES, MySqlCatalogue

__all__ = ["DEFAULT_TABLES", "AnswerCache", "MySqlCatalogue"]
