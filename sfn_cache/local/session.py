"""One local world for ``verify`` and ``run``: moto, the seams, the real caching handler, task answers."""

from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import boto3

from sfn_cache.local.engine import CACHE_BUCKET, REGION, Engine
from sfn_cache.local.seams import Patcher, install_aws_paths, install_seams, install_service_seams
from sfn_cache.local.tasks import NO_TASKS, TaskTable, stub_result
from sfn_cache.local.world import local_aws


def answering(engine: Engine, tasks: TaskTable) -> None:
    """Lambda tasks: the user's function if the table has one, else the stub (by FunctionName)."""
    engine.lookup = lambda written: tasks.find(written) or (lambda event: stub_result(written, event))


def service_answer(engine: Engine, tasks: TaskTable):
    """Service integrations: the same table by Resource ARN, else the stub; counted like Lambdas."""
    def answer(resource: str, parameters):
        engine.calls[resource] += 1
        task = tasks.find(resource)
        return task(parameters) if task else stub_result(resource, parameters)
    return answer


@contextmanager
def local_session(tasks: TaskTable = NO_TASKS) -> Iterator[Engine]:
    """An Engine whose executions run in an in-process moto, undone on exit."""
    from sfn_cache.runtime.handler import lambda_handler

    with tempfile.TemporaryDirectory(prefix="sfn-cache-local-") as root, Patcher() as patcher, \
            local_aws(patcher, Path(root) / "disdat"):
        patcher.setenv("SFN_CACHE_METRICS", "off")  # the handler's EMF lines would land in the command's output
        engine = Engine({}, lambda_handler)
        answering(engine, tasks)
        install_seams(patcher, engine)
        install_service_seams(patcher, service_answer(engine, tasks))
        install_aws_paths(patcher)  # $.models[0].auc is one value on AWS, a list in moto
        moto_log = logging.getLogger("moto")
        level = moto_log.level
        moto_log.setLevel(logging.CRITICAL)  # its tracebacks are the executions' own failures, reported already
        try:
            yield engine
        finally:
            moto_log.setLevel(level)


def empty_cache() -> None:
    """Delete every stored result, so that the next wrapped run is a miss."""
    bucket = boto3.resource("s3", region_name=REGION).Bucket(CACHE_BUCKET)
    bucket.objects.all().delete()
