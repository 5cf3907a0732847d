"""deploy/ecs/ is what `aws ecs register-task-definition` / `create-service` accept (checked with
botocore's own ECS model, offline), runs real `brx-sync` subcommands with AppConfig's names,
keeps every secret out of plain environment values, and its health checks work in an image
that has Python but no curl (they are run here against a live HTTP server)."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brx_app.cli import build_parser
from brx_app.config import AppConfig

ROOT = Path(__file__).resolve().parents[2]
ECS = ROOT / "deploy" / "ecs"
ALIASES = {field.alias for field in AppConfig.model_fields.values()}
TASKS = {"api": "serve", "worker": "worker", "migrate": "migrate"}
SECRET_NAMES = {"DATABASE_URL", "REDIS_URL", "MYSQL_PASSWORD", "FERNET_KEY", "JWT_PUBLIC_KEY"}


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((ECS / name).read_text()))


def _container(role: str) -> dict[str, Any]:
    containers = _load(f"{role}-task-definition.json")["containerDefinitions"]
    assert len(containers) == 1
    return dict(containers[0])


def _environment(role: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in _container(role)["environment"]}


def test_every_ecs_file_is_a_valid_ecs_request() -> None:
    botocore = pytest.importorskip("botocore.session", reason="botocore comes with [aws]")
    from botocore.validate import ParamValidator

    model = botocore.get_session().get_service_model("ecs")
    requests = {f"{role}-task-definition.json": "RegisterTaskDefinition" for role in TASKS}
    requests |= {"api-service.json": "CreateService", "worker-service.json": "CreateService"}
    assert set(requests) | {"task-role-policy.json", "execution-role-policy.json"} == {
        p.name for p in ECS.glob("*.json")
    }
    for name, operation in requests.items():
        shape = model.operation_model(operation).input_shape
        report = ParamValidator().validate(_load(name), shape)
        assert not report.has_errors(), f"{name}: {report.generate_report()}"


def test_task_definitions_run_brx_sync_subcommands_on_fargate_as_non_root() -> None:
    for role, subcommand in TASKS.items():
        task = _load(f"{role}-task-definition.json")
        container = _container(role)
        argv = container["command"]
        assert argv[0] == "brx-sync"
        assert build_parser().parse_args(argv[1:]).command == subcommand
        assert task["requiresCompatibilities"] == ["FARGATE"]
        assert task["networkMode"] == "awsvpc"
        assert container["user"].split(":")[0] not in {"0", "root"}
        assert container["readonlyRootFilesystem"] is True
        assert {m["containerPath"] for m in container["mountPoints"]} == {"/tmp"}


def test_env_and_secret_names_are_appconfig_settings_and_secrets_are_never_plain() -> None:
    for role in TASKS:
        container = _container(role)
        plain = set(_environment(role))
        injected = {s["name"] for s in container["secrets"]}
        assert (plain | injected) <= ALIASES, role
        assert not plain & SECRET_NAMES, f"{role}: a secret as a plain value"
        for secret in container["secrets"]:
            assert re.fullmatch(r"arn:aws:(secretsmanager|ssm):[^:]+:[^:]+:.+", secret["valueFrom"])


def test_the_keys_come_from_ssm_as_the_seed_deploys_them() -> None:
    policy = json.dumps(_load("task-role-policy.json"))
    for role in TASKS:
        env = _environment(role)
        assert env["ENVIRONMENT"] == "production"
        assert env["AWS_SSM_ENABLED"] == "true"
        for path in ("JWT_PUBLIC_KEY_SSM_PATH", "FERNET_KEY_SSM_PATH"):
            assert f"parameter{env[path]}" in policy, f"{role}: the task role cannot read {path}"
    assert "secretsmanager:GetSecretValue" in json.dumps(_load("execution-role-policy.json"))


def test_the_services_run_their_task_definitions() -> None:
    api, worker = _load("api-service.json"), _load("worker-service.json")
    assert (api["taskDefinition"], worker["taskDefinition"]) == ("brx-sync-api", "brx-sync-worker")
    balancer = api["loadBalancers"][0]
    container = _container("api")
    assert balancer["containerName"] == container["name"]
    assert balancer["containerPort"] in {p["containerPort"] for p in container["portMappings"]}
    assert api["desiredCount"] >= 2 and worker["desiredCount"] >= 1
    assert "loadBalancers" not in worker


def test_the_worker_publishes_its_metrics_port_and_probes_it() -> None:
    container = _container("worker")
    port = int(_environment("worker")["WORKER_METRICS_PORT"])
    assert [p["containerPort"] for p in container["portMappings"]] == [port]
    assert f"127.0.0.1:{port}/metrics" in " ".join(container["healthCheck"]["command"])
    assert container["stopTimeout"] == 120  # Fargate's maximum: time to finish the job in hand


def test_the_api_task_drains_and_finishes_its_requests_before_ecs_kills_it() -> None:
    container = _container("api")
    args = build_parser().parse_args(container["command"][1:])
    assert args.command == "serve" and args.drain_seconds > 0
    assert args.drain_seconds + args.grace_seconds < container["stopTimeout"]


class _Health(http.server.BaseHTTPRequestHandler):
    """Answers 200 on the paths the health checks probe, 503 elsewhere."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path in {"/health/live", "/metrics"} else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _run_health_check(command: list[str], address: str) -> int:
    """The check as the container runs it, aimed at `address` instead of 127.0.0.1:PORT."""
    assert command[:3] == ["CMD", "python", "-c"], "the image has no curl: Python only"
    code = re.sub(r"127\.0\.0\.1:\d+", address, command[3])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, check=False).returncode


@pytest.mark.parametrize("role", ["api", "worker"])
def test_health_checks_succeed_on_200_and_fail_otherwise(role: str, server: str) -> None:
    command = _container(role)["healthCheck"]["command"]
    assert _run_health_check(command, server) == 0
    broken = [*command[:3], command[3].replace("/health/live", "/x").replace("/metrics", "/x")]
    assert _run_health_check(broken, server) != 0
    assert _run_health_check(command, "127.0.0.1:9") != 0  # nothing listening
