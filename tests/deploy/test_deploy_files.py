"""The deploy files parse, and every picqer-sync command they run is one the CLI has, options and all."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.dockerfile import DEPLOY, UsageError, parse_cli, parse_dockerfile

COMPOSE = DEPLOY / "docker-compose.yml"
KUBERNETES = DEPLOY / "kubernetes" / "picqer-sync.yaml"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
VENV_BIN = "/opt/picqer-sync/.venv/bin/picqer-sync"  # where the units' install steps put it


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def manifests() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(KUBERNETES.read_text()) if doc]


def pod_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_a_typo_in_a_command_is_caught_by_the_checker() -> None:
    """The checker itself: it refuses what the CLI would refuse."""
    parse_cli(["worker", "--metrics-port", "9000"])
    for wrong in (["web", "--hots", "0.0.0.0"], ["db", "upgrad"], ["worker", "--metrics-port"]):
        with pytest.raises(UsageError):
            parse_cli(wrong)


def test_the_image_runs_picqer_sync_and_listens_on_every_interface() -> None:
    image = parse_dockerfile()
    assert image.entrypoint == ["picqer-sync"]
    context = parse_cli(image.cmd)
    assert (context.command.name, context.params["host"]) == ("run", "0.0.0.0")
    assert image.user == "10001"
    assert image.env["DATABASE_URL"].startswith("sqlite:////data/")
    assert image.healthcheck[0] == "python", "the slim image has no curl"


def test_compose_services_start_in_order_and_come_back() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler"} <= services.keys()
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("web", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"  # a one-off; restarting it would hold the others


def test_compose_runs_only_commands_the_cli_has() -> None:
    image = parse_dockerfile()
    services = compose()["services"]
    commands = {name: parse_cli(s["command"]) for name, s in services.items() if "build" in s}
    assert {name: c.command.name for name, c in commands.items()} == {
        "migrate": "upgrade",
        "web": "web",
        "worker": "worker",
        "scheduler": "scheduler",
    }
    assert commands["web"].params["host"] == "0.0.0.0"
    for name, service in services.items():
        if "build" in service:
            assert service.get("entrypoint") is None, name  # the image's: picqer-sync
    assert image.entrypoint == ["picqer-sync"]


def test_compose_files_it_names_are_provided_as_examples() -> None:
    """config.toml and .env are the operator's; the examples to copy them from are here."""
    services = compose()["services"]
    assert {s["env_file"] for s in services.values() if "env_file" in s} == {".env"}
    mounts = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if v.startswith("./")}
    assert mounts == {"./config.toml"}
    assert (DEPLOY / ".env.example").is_file()
    assert (DEPLOY / "config.example.toml").is_file()


def test_env_example_names_every_secret_the_example_config_reads() -> None:
    config = tomllib.loads((DEPLOY / "config.example.toml").read_text())
    wanted = {value.removeprefix("env:") for value in _strings(config) if value.startswith("env:")}
    given = set(re.findall(r"^([A-Z0-9_]+)=", (DEPLOY / ".env.example").read_text(), re.MULTILINE))
    assert wanted
    assert wanted <= given, sorted(wanted - given)
    assert "POSTGRES_PASSWORD" in given  # compose's ${POSTGRES_PASSWORD:?...}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_kubernetes_manifests_run_only_commands_the_cli_has() -> None:
    for doc in manifests():
        if doc["kind"] != "Deployment":
            continue
        for container in pod_containers(doc):
            assert "command" not in container  # the image's ENTRYPOINT is picqer-sync
            parse_cli(container["args"])


def test_kubernetes_pods_migrate_first_with_a_pinned_image_and_limits() -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == "Deployment"}
    assert set(deployments) == {"picqer-sync-web", "picqer-sync-worker", "picqer-sync-scheduler"}
    for name, doc in deployments.items():
        init = doc["spec"]["template"]["spec"]["initContainers"]
        assert [c["args"] for c in init] == [["db", "upgrade"]], name
        for container in pod_containers(doc):
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1], image
            assert not image.endswith(":latest"), image
            assert container["resources"]["requests"], name
            assert container["resources"]["limits"], name
    web = deployments["picqer-sync-web"]["spec"]["template"]["spec"]["containers"][0]
    # ready to take webhooks (a refused Picqer key must not take the receivers out of the Service)
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz?scope=receiver"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert parse_cli(web["args"]).params["host"] == "0.0.0.0"


def test_kubernetes_ingress_exposes_the_webhooks() -> None:
    ingresses = [doc for doc in manifests() if doc["kind"] == "Ingress"]
    assert len(ingresses) == 1
    paths = [p for rule in ingresses[0]["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [(p["path"], p["backend"]["service"]["name"]) for p in paths] == [("/webhooks", "picqer-sync-web")]
    services = {doc["metadata"]["name"] for doc in manifests() if doc["kind"] == "Service"}
    assert "picqer-sync-web" in services


def unit_commands(unit: Path) -> list[list[str]]:
    """The argv after the picqer-sync binary of each ExecStart/ExecStartPre line."""
    found = []
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key in ("ExecStart", "ExecStartPre"):
            binary, *argv = value.split()
            assert binary == VENV_BIN, line
            found.append(argv)
    return found


def test_systemd_units_run_only_commands_the_cli_has() -> None:
    assert {unit.name for unit in UNITS} >= {"picqer-sync.service", "picqer-sync-web.service"}
    hosts = {}
    for unit in UNITS:
        commands = unit_commands(unit)
        assert commands, unit.name
        for argv in commands:
            context = parse_cli(argv)
            if "host" in context.params:
                hosts[context.command.name] = (context.params["host"], context.params["port"])
    assert hosts["run"] == hosts["web"]  # one address, whichever way the receiver runs


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's binary exists: point it at this checkout's console script
    here = Path(sys.executable).with_name("picqer-sync")
    assert here.exists()
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(VENV_BIN, str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "picqer-sync" not in result.stderr, result.stderr  # warnings about our units count too
