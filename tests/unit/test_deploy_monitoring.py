"""deploy/prometheus/ and deploy/grafana/ read only metrics the service really exports, cover the
seed's five alerts and every metric, and pass promtool: `check rules`, the alert unit tests
(`test rules`, each alert fires just above its threshold only) and the dashboard's queries
parsed as PromQL. promtool comes from Debian's `prometheus` package (`nox -s deploy` fetches
it); without it those checks skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics_core import Metric

from brx_app.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "brx-sync.json"
SEED_ALERTS = {  # the seed's "Alerting consigliato", in its order
    "BrxSyncReadinessFailing",
    "BrxSyncHighErrorRate",
    "BrxSyncQueueBacklog",
    "BrxSyncDbPoolExhausted",
    "BrxSyncCardTraderRateLimited",  # 5. rate limit hit > 10/min: CardTrader's limit ...
    "BrxSyncInboundRateLimited",  # ... and ours
}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _families() -> list[Metric]:
    return [f for f in REGISTRY.collect() if f.name.startswith("brx_")]


def _exported() -> set[str]:
    """Every series name the service's brx_ metrics can have."""
    return {f.name + suffix for f in _families() for suffix in SUFFIXES[f.type]}


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _expressions() -> list[str]:
    return [t["expr"] for p in _dashboard()["panels"] for t in p.get("targets", [])]


def _metrics_in(expr: str) -> set[str]:
    return set(re.findall(r"\bbrx_[a-z_]+\b", expr))


def _promtool() -> str:
    found = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not found:
        pytest.skip("promtool not installed (`nox -s deploy` fetches Debian's prometheus)")
    return found


def _promtool_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], capture_output=True, text=True, check=False)


def test_the_alerts_are_the_seeds_on_metrics_the_service_exports() -> None:
    rules = _rules()
    assert {rule["alert"] for rule in rules} == SEED_ALERTS
    for rule in rules:
        unknown = _metrics_in(rule["expr"]) - _exported()
        assert not unknown, f"{rule['alert']}: {sorted(unknown)} is not exported"
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_alert_rules_check_clean_and_their_unit_tests_pass() -> None:
    checked = _promtool_run("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(SEED_ALERTS)} rules found" in checked.stdout
    tested = _promtool_run("test", "rules", str(ALERTS.with_name("alerts.test.yml")))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    tests = yaml.safe_load(ALERTS.with_name("alerts.test.yml").read_text())["tests"]
    covered = {t["alertname"] for case in tests for t in case["alert_rule_test"]}
    assert covered == SEED_ALERTS


def test_the_dashboard_shows_every_metric_and_only_real_ones() -> None:
    used = set().union(*(_metrics_in(e) for e in _expressions()))
    assert used <= _exported(), sorted(used - _exported())
    missing = [f.name for f in _families() if not used & {f.name + s for s in SUFFIXES[f.type]}]
    assert not missing, f"not on the dashboard: {missing}"


def test_the_dashboard_is_well_formed_grafana() -> None:
    dashboard = _dashboard()
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "brx-sync" and dashboard["schemaVersion"] >= 36
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    for panel in panels:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"]
    titles = " ".join(p["title"] for p in panels).lower()
    for topic in ("requests", "latency", "errors", "sync", "cardtrader", "429", "queue", "pool"):
        assert topic in titles, topic


def test_the_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    rules = [
        {"record": f"brx_dashboard:query_{n}", "expr": expr.replace("$__rate_interval", "5m")}
        for n, expr in enumerate(_expressions())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = _promtool_run("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
