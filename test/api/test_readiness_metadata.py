"""A PostgreSQL metadata store that stops answering: /readyz says so, requests answer 503
(never 500), and both recover once the database answers again."""

from pathlib import Path
from uuid import uuid4

import pytest

from test.api.conftest import assert_problem, in_process_client, make_settings, running_app
from test.postgres_server import PostgresServer

pytestmark = pytest.mark.anyio

REFUSE = """
ALTER DATABASE :"db" ALLOW_CONNECTIONS false;
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'db';
"""
ALLOW = 'ALTER DATABASE :"db" ALLOW_CONNECTIONS true;'


async def test_readyz_and_requests_answer_503_while_postgres_refuses_then_recover(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    dsn = postgres_server.create_database()
    database = dsn.rsplit("/", 1)[1]
    settings = make_settings(tmp_path).model_copy(update={"metadata_url": dsn})
    user = {"X-User-Id": str(uuid4())}

    async with running_app(settings) as app, in_process_client(app) as client:
        assert (await client.get("/readyz")).status_code == 200

        postgres_server.run_sql(postgres_server.dsn(), REFUSE, db=database)
        try:
            body = assert_problem(await client.get("/readyz"), 503, "storage_unavailable")
            assert "metadata" in body["detail"]
            assert_problem(
                await client.put("/v1/workspace", headers=user), 503, "storage_unavailable"
            )
        finally:
            postgres_server.run_sql(postgres_server.dsn(), ALLOW, db=database)

        assert (await client.get("/readyz")).status_code == 200
        assert (await client.put("/v1/workspace", headers=user)).status_code == 201
