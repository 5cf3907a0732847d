"""The deployment files agree with the code: env names are AppConfig's, commands are real
`brx-sync` subcommands, probes hit the health routes, and every container runs as non-root."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from brx_app.cli import build_parser
from brx_app.config import AppConfig
from cardtrader_sandbox import catalogue

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
ALIASES = {field.alias for field in AppConfig.model_fields.values()}
SUBCOMMANDS = {
    "serve", "worker", "migrate", "sync", "reencrypt", "sandbox", "demo", "token", "keys"
}  # fmt: skip
DATABASES = ("postgres", "redis", "mysql")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _app_services() -> dict[str, dict[str, Any]]:
    """The compose services that run our own image (the rest are off-the-shelf databases)."""
    services = _compose()["services"]
    return {name: s for name, s in services.items() if s.get("image") == "brx-sync:dev"}


def _k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def _workloads() -> dict[str, dict[str, Any]]:
    """Deployments and Jobs by name: the things that run the image."""
    return {d["metadata"]["name"]: d for d in _k8s_docs() if d["kind"] in {"Deployment", "Job"}}


def _container(name: str) -> dict[str, Any]:
    containers = _workloads()[name]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _dockerfile_final_stage() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the last stage, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    instructions = [line.strip().split(None, 1) for line in logical.splitlines() if line.strip()]
    last_from = max(i for i, parts in enumerate(instructions) if parts[0].upper() == "FROM")
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in instructions[last_from:]
    ]


def _probe(probe: dict[str, Any]) -> tuple[str, int, int]:
    """(path, initial delay, period): what the seed fixes for a probe."""
    return probe["httpGet"]["path"], probe["initialDelaySeconds"], probe["periodSeconds"]


def _as_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _parses_as_brx_sync(argv: list[str]) -> str:
    assert argv[0] == "brx-sync", argv
    return str(build_parser().parse_args(argv[1:]).command)


def _serve_stop_seconds(argv: list[str]) -> float:
    """How long `brx-sync serve` with these arguments may take to stop after SIGTERM: its
    drain, then its grace for the requests in flight (brx_app.shutdown)."""
    args = build_parser().parse_args(_as_argv(argv)[1:])
    assert args.command == "serve" and args.drain_seconds > 0, argv
    return float(args.drain_seconds + args.grace_seconds)


# --- docker compose ------------------------------------------------------------------------


def test_every_compose_environment_name_is_an_appconfig_setting() -> None:
    for name, service in _app_services().items():
        unknown = set(service.get("environment", {})) - ALIASES
        assert not unknown, f"{name}: {sorted(unknown)}"


def test_compose_commands_are_real_brx_sync_subcommands() -> None:
    expected = {"api": "serve", "worker": "worker", "migrate": "migrate", "sandbox": "sandbox"}
    for name, subcommand in expected.items():
        assert _parses_as_brx_sync(_as_argv(_app_services()[name]["command"])) == subcommand


def test_compose_points_the_service_at_the_sandbox_and_the_sandbox_at_the_api_webhook() -> None:
    app = _app_services()
    sandbox = build_parser().parse_args(_as_argv(app["sandbox"]["command"])[1:])
    env = app["api"]["environment"]
    assert env["CARDTRADER_API_BASE_URL"] == f"http://sandbox:{sandbox.port}/api/v2"
    assert env["ENVIRONMENT"] == "development"
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert re.fullmatch(
        r"http://api:8000/api/v1/sync/webhook/user/[0-9a-f-]{36}", sandbox.webhook_url
    )


def test_compose_secrets_come_from_the_env_file_never_from_the_compose_file() -> None:
    env = _app_services()["api"]["environment"]
    for secret in ("FERNET_KEY", "JWT_PUBLIC_KEY"):
        assert re.fullmatch(rf"\$\{{{secret}:\?.+\}}", env[secret]), env[secret]


def test_api_and_worker_start_after_migrations_and_healthy_dependencies() -> None:
    services = _compose()["services"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        for dependency in DATABASES:
            assert depends[dependency]["condition"] == "service_healthy"
            assert "test" in services[dependency]["healthcheck"]


def test_each_service_is_checked_on_what_it_serves() -> None:
    app = _app_services()
    assert app["migrate"]["healthcheck"] == {"disable": True}  # a one-shot serves nothing
    port = AppConfig.model_fields["worker_metrics_port"].default
    assert f"127.0.0.1:{port}/metrics" in " ".join(app["worker"]["healthcheck"]["test"])
    assert "8900" in " ".join(app["sandbox"]["healthcheck"]["test"])
    assert "/health/ready" in " ".join(app["api"]["healthcheck"]["test"])


def test_compose_catalogue_init_creates_the_four_tables_with_ids() -> None:
    sql = (ROOT / "deploy" / "mysql-init" / "01-catalogue.sql").read_text()
    created = dict(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\) ENGINE", sql, re.S))
    assert set(created) == {"cards_prints", "pk_prints", "sealed_products", "op_prints"}
    for table, body in created.items():
        assert re.search(r"\bid\b", body) and "cardtrader_id" in body, table
    tables = _app_services()["api"]["environment"]["CATALOGUE_TABLES"].split(",")
    assert set(tables) <= set(created) and "op_prints" not in tables


def test_compose_catalogue_mirrors_the_sandbox_blueprint_layout() -> None:
    sql = (ROOT / "deploy" / "mysql-init" / "01-catalogue.sql").read_text()
    step, first = catalogue.BLUEPRINT_STEP, catalogue.FIRST_BLUEPRINT_ID
    assert f"{first} + {step} * seq" in sql
    assert {kind.table for kind in catalogue.KINDS} == set(
        re.findall(r"INSERT IGNORE INTO (\w+)", sql)
    )


def test_the_catalogue_account_script_is_sourced_not_executed() -> None:
    script = ROOT / "deploy" / "mysql-init" / "02-readonly-user.sh"
    assert not os.access(script, os.X_OK), "the entrypoint only sources non-executable scripts"
    assert "GRANT SELECT ON" in script.read_text()


def test_the_compose_file_follows_the_compose_specification() -> None:
    vendored = pytest.importorskip(
        "check_jsonschema.builtin_schemas.vendor", reason="check-jsonschema: `nox -s deploy`"
    )
    import jsonschema  # check-jsonschema's dependency

    schema = json.loads((files(vendored) / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert not errors, errors


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_accepts_the_file() -> None:
    env = {**os.environ, "FERNET_KEY": "placeholder", "JWT_PUBLIC_KEY": "placeholder"}
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_gives_the_api_the_time_to_drain_before_it_kills_it() -> None:
    api = _app_services()["api"]
    grace = re.fullmatch(r"(\d+)s", str(api["stop_grace_period"]))
    assert grace, api.get("stop_grace_period")
    assert _serve_stop_seconds(api["command"]) < int(grace.group(1))


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for op, args in _dockerfile_final_stage() if op == "USER"]
    assert users, "no USER in the final stage"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_final_stage_has_no_compilers_and_installs_the_built_wheel() -> None:
    stage = _dockerfile_final_stage()
    runs = " ".join(args for op, args in stage if op == "RUN")
    assert not re.search(r"\b(gcc|g\+\+|build-essential|clang)\b", runs)
    assert "--no-index" in runs and "from=builder" in runs
    assert stage[0][1].startswith("${PYTHON_IMAGE}")
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in (ROOT / "Dockerfile").read_text()


def test_the_image_installs_the_server_and_aws_extras_at_the_locked_versions() -> None:
    text = (ROOT / "Dockerfile").read_text()
    builder = re.search(r"RUN pip wheel (.+)", text)
    assert builder, "the builder stage builds the wheels"
    assert "--constraint constraints.txt" in builder.group(1)
    assert "'.[server,aws]'" in builder.group(1)
    assert re.search(r"COPY [^\n]*constraints\.txt", text)
    runs = " ".join(args for op, args in _dockerfile_final_stage() if op == "RUN")
    assert "'brx-sync[server,aws]'" in runs


def test_dockerfile_serves_the_api_by_default_and_checks_liveness() -> None:
    stage = dict(_dockerfile_final_stage())
    argv = yaml.safe_load(stage["CMD"])
    assert argv == ["brx-sync", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert _parses_as_brx_sync(argv) == "serve"
    assert stage["EXPOSE"] == "8000"
    assert "urllib" in stage["HEALTHCHECK"] and "/health/live" in stage["HEALTHCHECK"]


# --- the wheel the image installs: a non-editable `pip install '.[server]'`, no source tree -----


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project's wheel installed (not editable), built from what the
    Dockerfile copies (a copy, so a stale `build/` of the checkout cannot fill in for a package
    the wheel lost). The `server` extra's packages are borrowed from this (test) environment
    through a path file, so only the build backend is fetched; a path file's directories are not
    site dirs, so this environment's editable hook does not run there. (The core install without
    extras is tests/integration/test_core_install.py.)"""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp), str(source)], check=True)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = tmp.glob("brx_sync-*.whl")
    subprocess.run(
        [*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel)],
        check=True,
    )
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def _in_venv(venv: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / argv[0]), *argv[1:]],
        cwd=venv,  # not the repository: nothing importable by accident
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_wheel_carries_every_package_and_the_sandbox(wheel_venv: Path) -> None:
    packages = "brx_domain", "brx_adapters", "brx_app", "cardtrader_sandbox"
    code = f"import importlib; print([importlib.import_module(p).__file__ for p in {packages}])"
    done = _in_venv(wheel_venv, "python", "-c", code)
    assert done.returncode == 0, done.stderr
    files = [Path(f) for f in ast.literal_eval(done.stdout)]
    assert all(wheel_venv in f.parents for f in files), files
    assert all((f.parent / "py.typed").is_file() for f in files)


def test_brx_sync_sandbox_serves_from_the_installed_wheel(
    wheel_venv: Path, free_port: Callable[[], int]
) -> None:
    assert _in_venv(wheel_venv, "brx-sync", "sandbox", "--help").returncode == 0
    port = free_port()
    argv = [str(wheel_venv / "bin" / "brx-sync"), "sandbox", "--port", str(port), "--products", "5"]
    with subprocess.Popen(
        argv, cwd=wheel_venv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        try:
            info = _wait_for_info(f"http://127.0.0.1:{port}/api/v2/info", proc)
        finally:
            proc.terminate()
    assert info["user_id"] and info["shared_secret"]


def _wait_for_info(url: str, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    for _ in range(400):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        try:
            answer = httpx.get(url, headers={"Authorization": "Bearer demo"})
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        assert answer.status_code == 200, answer.text
        return dict(answer.json())
    raise AssertionError(f"the sandbox never answered {url}")


def test_brx_sync_demo_syncs_from_the_installed_wheel(
    wheel_venv: Path, free_port: Callable[[], int]
) -> None:
    ports = ["--port", str(free_port()), "--sandbox-port", str(free_port())]
    done = _in_venv(wheel_venv, "brx-sync", "demo", "--products", "40", *ports, "--exit-after-sync")
    assert done.returncode == 0, done.stderr
    progress = json.loads(done.stdout[done.stdout.index("\n{") :])["progress"]
    assert progress["status"] == "completed" and progress["total_products"] == 40


def test_dockerignore_keeps_secrets_out_of_the_build_context() -> None:
    text = (ROOT / ".dockerignore").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    allowed = {line[1:] for line in lines if line.startswith("!")}
    assert lines[0] == "*", "an allow-list: everything is excluded first"
    assert allowed == {"pyproject.toml", "README.md", "constraints.txt", "src/"}
    assert {"**/.env", "**/*.pem"} <= set(lines)


# --- Kubernetes ----------------------------------------------------------------------------


def test_api_probes_hit_the_health_routes_with_the_seed_timings() -> None:
    api = _container("brx-sync-api")
    assert _probe(api["livenessProbe"]) == ("/health/live", 30, 10)
    assert _probe(api["readinessProbe"]) == ("/health/ready", 10, 5)
    assert _workloads()["brx-sync-api"]["spec"]["replicas"] == 2


def test_api_and_worker_have_the_seed_resources() -> None:
    seed = {
        "requests": {"memory": "1Gi", "cpu": "500m"},
        "limits": {"memory": "2Gi", "cpu": "1000m"},
    }
    for name in ("brx-sync-api", "brx-sync-worker"):
        assert _container(name)["resources"] == seed


def test_worker_scales_out_and_gets_time_to_finish_its_jobs() -> None:
    worker = _workloads()["brx-sync-worker"]
    assert worker["spec"]["replicas"] == 3
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60
    assert _parses_as_brx_sync(_container("brx-sync-worker")["command"]) == "worker"


def test_the_api_pod_stops_in_order_within_its_termination_grace_period() -> None:
    """preStop sleep (the pod leaves the endpoints meanwhile), then SIGTERM: the drain and the
    grace of `serve`; all of it before Kubernetes' SIGKILL."""
    api = _container("brx-sync-api")
    pre_stop = api["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[:2] == ["python", "-c"], pre_stop  # the image has no shell tools to rely on
    [statement] = [s for s in ast.parse(pre_stop[2]).body if not isinstance(s, ast.Import)]
    call = statement.value  # type: ignore[attr-defined]
    assert ast.unparse(call.func) == "time.sleep", pre_stop
    sleep = float(call.args[0].value)
    period = _workloads()["brx-sync-api"]["spec"]["template"]["spec"]
    assert sleep > 0
    assert sleep + _serve_stop_seconds(api["command"]) < period["terminationGracePeriodSeconds"]


def test_every_k8s_command_is_a_real_brx_sync_subcommand() -> None:
    commands = {name: _parses_as_brx_sync(_container(name)["command"]) for name in _workloads()}
    assert commands == {
        "brx-sync-api": "serve",
        "brx-sync-worker": "worker",
        "brx-sync-migrate": "migrate",
    }


def test_every_k8s_pod_runs_non_root_on_a_read_only_root_filesystem() -> None:
    for name, workload in _workloads().items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        container = _container(name)["securityContext"]
        assert container["readOnlyRootFilesystem"] is True, name
        assert container["allowPrivilegeEscalation"] is False, name


def test_k8s_configmap_and_secret_use_only_appconfig_names() -> None:
    by_kind = {d["kind"]: d for d in _k8s_docs() if d["kind"] in {"ConfigMap", "Secret"}}
    assert set(by_kind["ConfigMap"]["data"]) <= ALIASES
    assert set(by_kind["Secret"]["stringData"]) <= ALIASES
    assert by_kind["ConfigMap"]["data"]["ENVIRONMENT"] == "production"


def test_k8s_secret_template_holds_placeholders_only() -> None:
    secret = next(d for d in _k8s_docs() if d["kind"] == "Secret")
    for key, value in secret["stringData"].items():
        assert "<" in value and ">" in value, f"{key} looks like a real value"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "secret.template.yaml" not in kustomization["resources"]


def test_every_workload_reads_the_configmap_and_the_secret() -> None:
    for name in _workloads():
        sources = _container(name)["envFrom"]
        refs = {next(iter(s)): next(iter(s.values()))["name"] for s in sources}
        assert refs == {"configMapRef": "brx-sync-config", "secretRef": "brx-sync-secrets"}


def _one(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in _k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name)


def _pod_labels(name: str) -> dict[str, str]:
    return dict(_workloads()[name]["spec"]["template"]["metadata"]["labels"])


def _port(container: dict[str, Any], name: str) -> int:
    return int(next(p["containerPort"] for p in container["ports"] if p["name"] == name))


def test_every_k8s_manifest_passes_the_kubernetes_schema() -> None:
    validator = pytest.importorskip(
        "kubernetes_validate", reason="kubernetes-validate is installed by `nox -s deploy`"
    )
    for doc in _k8s_docs():
        if doc["kind"] != "Kustomization":  # kustomize's own file, checked below
            validator.validate(doc, "1.30.0", strict=True)  # raises naming the bad field


def test_kustomize_applies_every_manifest_but_the_secret_template() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.template.yaml"}
    assert sorted(listed) == sorted(files)


def test_the_ingress_serves_the_public_host_over_tls_and_keeps_metrics_inside() -> None:
    ingress = _one("Ingress", "brx-sync-ingress")["spec"]
    public = _one("ConfigMap", "brx-sync-config")["data"]["PUBLIC_BASE_URL"]
    host = public.removeprefix("https://")
    assert public.startswith("https://") and ingress["tls"][0]["hosts"] == [host]
    paths = {p["path"]: p["backend"]["service"] for p in ingress["rules"][0]["http"]["paths"]}
    assert ingress["rules"][0]["host"] == host
    assert {"/api/v1/sync", "/health", "/docs", "/openapi.json"} <= set(paths)
    assert not any("/metrics".startswith(path) for path in paths)
    service = _one("Service", "brx-sync-api")["spec"]
    for backend in paths.values():
        assert backend["name"] == "brx-sync-api"
        assert backend["port"]["name"] in {p["name"] for p in service["ports"]}
    annotations = _one("Ingress", "brx-sync-ingress")["metadata"]["annotations"]
    body_limit = int(AppConfig.model_fields["webhook_max_body_bytes"].default)
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-body-size"][:-1]) * 2**20 > body_limit


def test_the_autoscaler_scales_the_api_from_its_seed_replica_count() -> None:
    hpa = _one("HorizontalPodAutoscaler", "brx-sync-api")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "brx-sync-api",
    }
    assert hpa["minReplicas"] == _workloads()["brx-sync-api"]["spec"]["replicas"]
    assert hpa["maxReplicas"] > hpa["minReplicas"]
    assert _container("brx-sync-api")["resources"]["requests"]["cpu"]  # utilisation needs it


def test_disruption_budgets_cover_the_api_and_the_worker_pods() -> None:
    for name in ("brx-sync-api", "brx-sync-worker"):
        budget = _one("PodDisruptionBudget", name)["spec"]
        assert budget["selector"]["matchLabels"].items() <= _pod_labels(name).items()
    assert _one("PodDisruptionBudget", "brx-sync-api")["spec"]["minAvailable"] == 1


def test_the_worker_serves_metrics_on_its_port_and_is_probed_there() -> None:
    worker = _container("brx-sync-worker")
    env = {e["name"]: e["value"] for e in worker["env"]}
    port = _port(worker, "metrics")
    assert int(env["WORKER_METRICS_PORT"]) == port
    assert set(env) <= ALIASES
    probe = worker["livenessProbe"]
    assert probe["httpGet"] == {"path": "/metrics", "port": "metrics"}
    annotations = _workloads()["brx-sync-worker"]["spec"]["template"]["metadata"]["annotations"]
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (
        str(port),
        "/metrics",
    )


def test_the_api_is_scraped_on_its_http_port() -> None:
    annotations = _workloads()["brx-sync-api"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(_port(_container("brx-sync-api"), "http"))
    assert annotations["prometheus.io/path"] == "/metrics"


# --- operator docs -------------------------------------------------------------------------


def test_running_docs_explain_every_setting_and_every_subcommand() -> None:
    docs = (ROOT / "docs" / "running.md").read_text()
    assert not sorted(a for a in ALIASES if f"`{a}`" not in docs)
    assert not sorted(c for c in SUBCOMMANDS if f"brx-sync {c}" not in docs)


def test_the_documented_subcommands_are_the_cli_subcommands() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(subparsers.choices or ()) == SUBCOMMANDS
