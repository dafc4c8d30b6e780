"""The PostgreSQL server the database-backed tests get from the postgres_server fixture."""

import uuid

from test.postgres_server import PostgresServer


def test_create_database_gives_each_call_its_own_working_database(
    postgres_server: PostgresServer,
) -> None:
    first = postgres_server.create_database()
    second = postgres_server.create_database()

    assert first != second
    assert postgres_server.run_sql(first, "SELECT 1") == "1"
    assert postgres_server.run_sql(second, "SELECT 1") == "1"
    first_name = postgres_server.run_sql(first, "SELECT current_database()")
    second_name = postgres_server.run_sql(second, "SELECT current_database()")
    assert first_name != second_name


def test_create_database_of_an_existing_name_keeps_it_as_it_is(
    postgres_server: PostgresServer,
) -> None:
    name = f'Reopened "store" {uuid.uuid4().hex}'
    dsn = postgres_server.create_database(name)
    postgres_server.run_sql(dsn, "CREATE TABLE kept (value integer); INSERT INTO kept VALUES (7)")

    assert postgres_server.create_database(name) == dsn
    assert postgres_server.run_sql(dsn, "SELECT current_database()") == name
    assert postgres_server.run_sql(dsn, "SELECT value FROM kept") == "7"


def test_dsn_names_the_database_on_the_admin_connection(postgres_server: PostgresServer) -> None:
    assert postgres_server.dsn("chats").endswith("/chats")
    assert postgres_server.dsn().startswith("postgresql://")
