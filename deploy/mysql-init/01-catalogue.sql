-- The shop's card catalogue for docker compose: a small, read-only stand-in for cards_db.
-- Run by the MariaDB entrypoint on first start, inside MARIADB_DATABASE (cards_db).
--
-- It mirrors the CardTrader sandbox's fixed blueprint layout (src/cardtrader_sandbox/catalogue.py):
-- blueprint number i has CardTrader id 16 + 7 * i and its kind is i % 20 (0-13 Magic singles,
-- 14-16 Pokémon, 17 One Piece, 18-19 sealed). Blueprints from number 38,000 on are left out on
-- purpose, so a demo sync shows products the shop does not know ("skipped").
-- seq_0_to_37999 is MariaDB's built-in SEQUENCE engine (no helper table needed).

CREATE TABLE IF NOT EXISTS cards_prints (
    id            INT UNSIGNED NOT NULL PRIMARY KEY,
    cardtrader_id INT UNSIGNED NOT NULL,
    UNIQUE KEY uq_cards_prints_cardtrader_id (cardtrader_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS pk_prints (
    id            INT UNSIGNED NOT NULL PRIMARY KEY,
    cardtrader_id INT UNSIGNED NOT NULL,
    UNIQUE KEY uq_pk_prints_cardtrader_id (cardtrader_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS sealed_products (
    id            INT UNSIGNED NOT NULL PRIMARY KEY,
    cardtrader_id INT UNSIGNED NOT NULL,
    UNIQUE KEY uq_sealed_products_cardtrader_id (cardtrader_id)
) ENGINE=InnoDB;

-- One Piece exists in the shop's catalogue, but its products are deliberately not imported
-- (CATALOGUE_TABLES leaves it out by default).
CREATE TABLE IF NOT EXISTS op_prints (
    id            INT UNSIGNED NOT NULL PRIMARY KEY,
    cardtrader_id INT UNSIGNED NOT NULL,
    UNIQUE KEY uq_op_prints_cardtrader_id (cardtrader_id)
) ENGINE=InnoDB;

INSERT IGNORE INTO cards_prints (id, cardtrader_id)
SELECT seq + 1, 16 + 7 * seq FROM seq_0_to_37999 WHERE seq % 20 < 14;

INSERT IGNORE INTO pk_prints (id, cardtrader_id)
SELECT seq + 1, 16 + 7 * seq FROM seq_0_to_37999 WHERE seq % 20 BETWEEN 14 AND 16;

INSERT IGNORE INTO op_prints (id, cardtrader_id)
SELECT seq + 1, 16 + 7 * seq FROM seq_0_to_37999 WHERE seq % 20 = 17;

INSERT IGNORE INTO sealed_products (id, cardtrader_id)
SELECT seq + 1, 16 + 7 * seq FROM seq_0_to_37999 WHERE seq % 20 >= 18;
