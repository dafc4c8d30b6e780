from fastapi import APIRouter, Request, Response

from api.metrics import Metrics
from api.problems import problem, problem_responses
from api.schemas import HealthOut
from api.use_cases import CheckReadinessUseCase
from domain.errors import (
    StorageUnavailableError,
)

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz", response_model=HealthOut, responses=problem_responses(StorageUnavailableError)
)
async def readyz(use_case: CheckReadinessUseCase) -> Response:
    failures = await use_case()
    if failures:
        detail = "; ".join(f"{part}: {reason}" for part, reason in failures.items())
        return problem(503, "storage_unavailable", detail)
    return Response(HealthOut(status="ready").model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
