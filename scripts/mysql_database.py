"""Create or drop a MySQL/MariaDB database (and its test_ twin) for a test run.

python scripts/mysql_database.py create|drop mysql://user:password@host:port/name
"""

import sys
from urllib.parse import unquote, urlparse

import MySQLdb


def main(action, url):
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing a database name that is not plain: {name!r}")
    try:
        connection = MySQLdb.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            charset="utf8mb4",
        )
    except MySQLdb.OperationalError as error:
        raise SystemExit(
            f"MySQL is not reachable at {parts.hostname}:{parts.port or 3306} ({error}). "
            "Start MariaDB or MySQL, or point MYSQL_URL at one."
        ) from None
    cursor = connection.cursor()
    for database in (name, f"test_{name}"):
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    if action == "create":
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    connection.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in {"create", "drop"}:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
