# Sourced (not executed: keep it non-executable, it needs the entrypoint's docker_process_sql)
# by the MariaDB entrypoint on first start: the service's own account may only read the
# catalogue (the service never writes to it). The password comes from the environment, never
# from this file.
: "${BRX_READER_USER:?set BRX_READER_USER}"
: "${BRX_READER_PASSWORD:?set BRX_READER_PASSWORD}"
docker_process_sql <<SQL
CREATE USER IF NOT EXISTS '${BRX_READER_USER}'@'%' IDENTIFIED BY '${BRX_READER_PASSWORD}';
GRANT SELECT ON \`${MARIADB_DATABASE}\`.* TO '${BRX_READER_USER}'@'%';
FLUSH PRIVILEGES;
SQL
