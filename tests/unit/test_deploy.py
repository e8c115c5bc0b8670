"""The production shape agrees with the code it deploys, without Docker.

docker-compose.yml, deploy/Dockerfile, deploy/prometheus.yml, the alert rules, the Grafana
provisioning and docs/deploy.md are checked against each other and against Settings, the
CLI and the worker's real metric exposition. `promtool` checks the Prometheus files for
real when it is installed (`.ci/run` installs it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from pydantic_settings import BaseSettings

from eventyard.cli import COMMANDS
from eventyard.ingest.metrics import IngestMetrics
from eventyard.ingest.settings import IngestSettings
from eventyard.load.settings import LoadSettings
from eventyard.settings import Settings
from eventyard.telemetry import RELOAD_RESULTS, SKIP_REASONS, Telemetry

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
PROMETHEUS_FILE = DEPLOY / "prometheus.yml"
ALERTS_FILE = DEPLOY / "alerts.yml"
ALERTS_TEST_FILE = DEPLOY / "alerts.test.yml"
GRAFANA = DEPLOY / "grafana"
DASHBOARD_FILE = GRAFANA / "dashboards" / "eventyard.json"
DATASOURCE_FILE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = GRAFANA / "provisioning" / "dashboards" / "eventyard.yml"
DOCS = ROOT / "docs" / "deploy.md"

# Labels Prometheus attaches to every scraped series, and the histogram bucket label.
TARGET_LABELS = {"instance", "job", "le"}
PROMTOOL_MISSING = (
    "promtool not installed: `apt-get install prometheus` (Debian/Ubuntu) provides it; "
    ".ci/run installs it"
)


# --- loading --------------------------------------------------------------------------


def _yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = _yaml(COMPOSE_FILE)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    return _yaml(PROMETHEUS_FILE)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in _yaml(ALERTS_FILE)["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def exposition() -> dict[str, set[str]]:
    """Sample name -> label names, as a worker's and an ingest edge's /metrics serve them."""
    names: dict[str, set[str]] = {}
    for metrics in (Telemetry(), IngestMetrics()):
        for metric in vars(metrics).values():
            # A labelled metric exposes nothing until a label set is used; touch one of
            # each. (_labelnames is private but the only way to enumerate them generically.)
            if isinstance(metric, MetricWrapperBase) and metric._labelnames:
                metric.labels(*["x"] * len(metric._labelnames))
        text = generate_latest(metrics.registry).decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                names.setdefault(sample.name, set()).update(sample.labels)
    return names


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(PROMTOOL_MISSING)
    return path


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued instruction"
    return instructions


def docker_args(instructions: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in instructions if kw == keyword]


_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?::?-(?P<default>[^}]*))?\}")


def interpolate(value: object, env: dict[str, str] | None = None) -> str:
    """Compose's `${VAR:-default}` interpolation, with `env` standing for the shell."""
    env = env or {}

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group("name")) or (m.group("default") or "")

    return _INTERPOLATION.sub(sub, str(value))


def environment(service: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: interpolate(v, env) for k, v in raw.items()}


def mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of a service's volumes, short syntax."""
    result = []
    for spec in service.get("volumes") or []:
        assert isinstance(spec, str), f"use the short volume syntax: {spec!r}"
        source, target, *mode = spec.split(":")
        result.append((source, target, mode[0] if mode else "rw"))
    return result


def container_path(service: dict[str, Any], host_path: Path) -> PurePosixPath | None:
    """Where a file of the repository appears inside the service's container."""
    for source, target, _ in mounts(service):
        if not source.startswith("."):
            continue
        src = (ROOT / source).resolve()
        if host_path == src:
            return PurePosixPath(target)
        if src in host_path.parents:
            return PurePosixPath(target) / host_path.relative_to(src).as_posix()
    return None


def host_path(service: dict[str, Any], path: str) -> Path | None:
    """The repository file a container path of the service is mounted from."""
    p = PurePosixPath(path)
    for source, target, _ in mounts(service):
        t = PurePosixPath(target)
        if source.startswith(".") and (p == t or t in p.parents):
            return (ROOT / source / p.relative_to(t)).resolve()
    return None


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [node["expr"] for node in walk(dashboard.get("panels", [])) if "expr" in node]


def alert_exprs(alert_rules: list[dict[str, Any]]) -> list[str]:
    return [rule["expr"] for rule in alert_rules]


METRIC_NAME = re.compile(r"\b(?:eventyard_[a-z0-9_]+|up)\b")
SELECTOR = re.compile(r"\b(eventyard_[a-z0-9_]+|up)\s*\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(=~|!~|!=|=)\s*\"([^\"]*)\"")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


def metric_names(expr: str) -> set[str]:
    # Strip label matchers and grouping clauses first: their contents are not metric names.
    stripped = GROUPING.sub(" ", re.sub(r"\{[^}]*\}", " ", expr))
    return {name for name in METRIC_NAME.findall(stripped) if name != "up"}


def settings_rows() -> dict[str, str]:
    """`EVENTYARD_X` -> its default cell, from the settings table in docs/deploy.md."""
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`(EVENTYARD_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def default_cell(value: object) -> str:
    return "unset" if value is None else f"`{value}`"


# --- docker-compose.yml -----------------------------------------------------------------


def test_compose_declares_the_production_services(services: dict[str, Any]) -> None:
    assert {"kafka", "topics", "worker", "prometheus", "grafana"} <= set(services)


def test_pulled_images_are_pinned(services: dict[str, Any]) -> None:
    expected = {
        "kafka": "apache/kafka:", "prometheus": "prom/prometheus:", "grafana": "grafana/grafana:"
    }
    for name, prefix in expected.items():
        assert services[name]["image"].startswith(prefix), name
    for name, service in services.items():
        if "build" in service:
            continue  # built here, tagged locally
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+\.\d+", tag), (
            f"{name}: {image} must pin a full version"
        )


def test_kafka_runs_kraft_combined_with_a_named_volume(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    env = environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in key for key in env)
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_NODE_ID"] == "1"
    data = [(s, t) for s, t, _ in mounts(kafka) if t == env["KAFKA_LOG_DIRS"]]
    assert data, "Kafka's log dir must be on a volume"
    assert data[0][0] in (compose.get("volumes") or {}), "the log dir volume must be named"
    assert "test" in kafka["healthcheck"]


def test_quorum_profile_forms_a_three_voter_cluster(compose: dict[str, Any]) -> None:
    nodes = {n: s for n, s in compose["services"].items() if "apache/kafka" in s.get("image", "")}
    assert len(nodes) == 3
    ids = {environment(s)["KAFKA_NODE_ID"] for s in nodes.values()}
    assert ids == {"1", "2", "3"}
    voters = ",".join(f"{environment(s)['KAFKA_NODE_ID']}@{n}:9093" for n, s in sorted(
        nodes.items(), key=lambda item: environment(item[1])["KAFKA_NODE_ID"]))
    quorum_env = {"KRAFT_VOTERS": voters, "KAFKA_RF": "3", "KAFKA_MIN_ISR": "2"}
    for name, service in nodes.items():
        env = environment(service, quorum_env)
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters, name
        assert env["CLUSTER_ID"] == environment(compose["services"]["kafka"])["CLUSTER_ID"]
        if name != "kafka":
            assert service.get("profiles") == ["quorum"], name
    # The documented recipe sets exactly these voters.
    assert f"KRAFT_VOTERS={voters}" in DOCS.read_text(encoding="utf-8")
    assert environment(compose["services"]["topics"], quorum_env)[
        "EVENTYARD_REPLICATION_FACTOR"
    ] == "3"


def test_workers_bootstrap_from_an_advertised_listener(services: dict[str, Any]) -> None:
    advertised = environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    endpoints = {item.split("://", 1)[1] for item in advertised.split(",")}
    for name in ("worker", "topics"):
        servers = environment(services[name])["EVENTYARD_BOOTSTRAP_SERVERS"].split(",")
        assert servers and set(servers) <= endpoints, name


# Variable prefix -> the settings class that reads it (longest prefix first).
SETTINGS_BY_PREFIX: list[tuple[str, type[BaseSettings]]] = [
    ("EVENTYARD_LOAD_", LoadSettings), ("EVENTYARD_INGEST_", IngestSettings),
    ("EVENTYARD_", Settings),
]


def test_every_eventyard_variable_in_compose_is_a_valid_setting(services: dict[str, Any]) -> None:
    seen = 0
    for name, service in services.items():
        overrides: dict[type[BaseSettings], dict[str, str]] = {}
        for key, value in environment(service).items():
            prefix, cls = next(((p, c) for p, c in SETTINGS_BY_PREFIX if key.startswith(p)),
                               ("", None))
            if cls is None:
                continue
            field = key.removeprefix(prefix).lower()
            assert field in cls.model_fields, f"{name}: {key} is not a {cls.__name__} field"
            overrides.setdefault(cls, {})[field] = value
            seen += 1
        for cls, values in overrides.items():
            cls.model_validate(values)  # values parse as the process would parse them
    assert seen


def test_signals_service_runs_signals_with_its_metrics_port_scraped(
    services: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    signals = services["signals"]
    _parse_cli(signals["command"])
    assert signals["command"] == ["signals"]
    port = int(environment(signals)["EVENTYARD_SIGNALS_METRICS_PORT"])
    assert port == Settings.model_fields["signals_metrics_port"].default
    assert [str(p) for p in signals["expose"]] == [str(port)]
    assert f":{port}/healthz" in " ".join(signals["healthcheck"]["test"])
    assert "ports" not in signals and "container_name" not in signals, "scalable"
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "eventyard-signals")
    assert [(sd["names"], sd["port"]) for sd in job["dns_sd_configs"]] == [(["signals"], port)]


def test_loader_service_runs_load_with_its_metrics_port_scraped(
    services: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    loader = services["loader"]
    _parse_cli(loader["command"])
    assert loader["command"] == ["load"]
    port = int(environment(loader)["EVENTYARD_LOAD_METRICS_PORT"])
    assert [str(p) for p in loader["expose"]] == [str(port)]
    assert f":{port}/healthz" in " ".join(loader["healthcheck"]["test"])
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "eventyard-loader")
    assert [(sd["names"], sd["port"]) for sd in job["dns_sd_configs"]] == [(["loader"], port)]


def test_worker_is_scalable_and_runs_the_worker_command(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert "container_name" not in worker, "a fixed name prevents --scale"
    assert "ports" not in worker, "a fixed host port prevents --scale"
    assert worker["build"]["context"] == "."
    assert (ROOT / worker["build"]["dockerfile"]) == DOCKERFILE
    assert worker["command"] == ["worker"]
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_ingest_service_runs_the_edge_on_its_port(
    services: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    ingest = services["ingest"]
    _parse_cli(ingest["command"])
    assert ingest["command"] == ["ingest"]
    env = environment(ingest)
    port = IngestSettings.model_fields["port"].default
    assert env["EVENTYARD_INGEST_PORT"] == str(port)
    assert env["EVENTYARD_INGEST_HOST"] == "0.0.0.0"  # reachable from outside its container
    # Same Kafka and topics as the workers.
    assert env["EVENTYARD_BOOTSTRAP_SERVERS"] == environment(services["worker"])[
        "EVENTYARD_BOOTSTRAP_SERVERS"]
    # Keys come from the shell, never from the file.
    assert ingest["environment"]["EVENTYARD_INGEST_KEYS"].startswith("${")
    (published,) = ingest["ports"]
    host, _, container = published.rpartition(":")
    assert container == str(port) and host.startswith("127.0.0.1:")
    healthcheck = " ".join(ingest["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in healthcheck
    assert ingest["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    (job,) = [j for j in prometheus["scrape_configs"] if j["job_name"] == "eventyard-ingest"]
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["ingest"] and sd["port"] == port


def test_ingest_metrics_are_documented() -> None:
    docs = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")
    metrics = [m for m in vars(IngestMetrics()).values() if isinstance(m, MetricWrapperBase)]
    assert metrics
    for metric in metrics:
        (family,) = metric.describe()
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}" in docs, name


def _parse_cli(argv: list[str]) -> argparse.Namespace:
    assert argv[0] in COMMANDS, f"{argv[0]} is not an eventyard command"
    module = importlib.import_module(COMMANDS[argv[0]][0])
    parser = argparse.ArgumentParser(prog=f"eventyard {argv[0]}", exit_on_error=False)
    module.add_arguments(parser)
    return parser.parse_args(argv[1:])


def test_compose_commands_are_real_cli_invocations(services: dict[str, Any]) -> None:
    for name in ("worker", "topics"):
        _parse_cli(services[name]["command"])
    assert services["topics"]["command"] == ["topics", "create"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_topic_layout_is_the_documented_one(services: dict[str, Any]) -> None:
    env = environment(services["topics"])
    partitions = int(env["EVENTYARD_PARTITIONS"])
    assert partitions == Settings.model_fields["partitions"].default == 8
    assert environment(services["worker"])["EVENTYARD_PARTITIONS"] == str(partitions)
    assert f"**{partitions} partitions**" in DOCS.read_text(encoding="utf-8")


def test_metrics_port_agrees_everywhere(
    services: dict[str, Any], prometheus: dict[str, Any], dockerfile: list[tuple[str, str]]
) -> None:
    default = Settings.model_fields["metrics_port"].default
    assert int(environment(services["worker"])["EVENTYARD_METRICS_PORT"]) == default
    assert str(default) in [str(p) for p in services["worker"].get("expose", [])]
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "eventyard")
    assert [sd["port"] for sd in job["dns_sd_configs"]] == [default]
    assert docker_args(dockerfile, "EXPOSE") == [str(default)]
    assert f"EVENTYARD_METRICS_PORT={default}" in docker_args(dockerfile, "ENV")[-1]
    (healthcheck,) = docker_args(dockerfile, "HEALTHCHECK")
    assert f"'{default}'" in healthcheck and "EVENTYARD_METRICS_PORT" in healthcheck


def test_policy_mount_makes_host_edits_live(
    services: dict[str, Any], dockerfile: list[tuple[str, str]]
) -> None:
    worker = services["worker"]
    policy = environment(worker)["EVENTYARD_POLICY_PATH"]
    assert policy == "/app/config/routing.yaml"
    (mount,) = [m for m in mounts(worker) if m[1] == "/app/config"]
    # The directory, read-only: an editor's rename-over save is visible in the container.
    assert mount == ("./config", "/app/config", "ro")
    assert host_path(worker, policy) == (ROOT / "config" / "routing.yaml").resolve()
    assert host_path(worker, policy).is_file()  # type: ignore[union-attr]
    assert f"EVENTYARD_POLICY_PATH={policy}" in docker_args(dockerfile, "ENV")[-1]


def test_every_mounted_host_path_exists(compose: dict[str, Any]) -> None:
    named = set(compose.get("volumes") or {})
    checked = 0
    for name, service in compose["services"].items():
        for source, _, _ in mounts(service):
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
                checked += 1
            else:
                assert source in named, f"{name}: volume {source} is not declared"
    assert checked


def test_services_have_healthchecks(
    services: dict[str, Any], dockerfile: list[tuple[str, str]]
) -> None:
    for name in ("kafka", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"], name
    assert "healthcheck" not in services["worker"], "the worker uses the image's HEALTHCHECK"
    assert docker_args(dockerfile, "HEALTHCHECK")
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


# --- deploy/Dockerfile ------------------------------------------------------------------


def test_image_is_multi_stage_on_a_pinned_slim_python(dockerfile: list[tuple[str, str]]) -> None:
    bases = docker_args(dockerfile, "FROM")
    assert len(bases) >= 2, "build and runtime stages"
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm AS \w+", base), base


def test_image_runs_the_cli_worker(dockerfile: list[tuple[str, str]]) -> None:
    (entrypoint,) = docker_args(dockerfile, "ENTRYPOINT")
    (cmd,) = docker_args(dockerfile, "CMD")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert json.loads(entrypoint) == ["eventyard"] and "eventyard" in scripts
    command = json.loads(cmd)
    assert command == ["worker"]
    _parse_cli(command)


def test_image_installs_the_project_from_pyproject(dockerfile: list[tuple[str, str]]) -> None:
    assert not any("requirements" in args.lower() for _, args in dockerfile)
    assert not list(ROOT.glob("requirements*.txt")), "pyproject.toml is the only dependency list"
    copies = docker_args(dockerfile, "COPY")
    assert any(c.split()[0] == "pyproject.toml" for c in copies)
    assert any(c.split()[:2] == ["src", "./src"] for c in copies)
    installs = [r for r in docker_args(dockerfile, "RUN") if "pip install" in r]
    # `pip install .`: not editable, no extras, exactly the package's own dependencies.
    assert any(re.search(r"pip install \.(\s|$)", r) for r in installs), installs
    for run in installs:
        assert " -e " not in run and ".[" not in run, run


def test_image_runs_as_non_root_with_config_in_app(dockerfile: list[tuple[str, str]]) -> None:
    user = docker_args(dockerfile, "USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    runtime = dockerfile[max(i for i, (kw, _) in enumerate(dockerfile) if kw == "FROM"):]
    assert ("COPY", "config /app/config") in runtime
    assert docker_args(runtime, "WORKDIR") == ["/app"]


def test_image_healthcheck_asks_healthz_with_python(dockerfile: list[tuple[str, str]]) -> None:
    (healthcheck,) = docker_args(dockerfile, "HEALTHCHECK")
    options, _, cmd = healthcheck.partition("CMD ")
    argv = json.loads(cmd)
    assert argv[0] == "python" and "curl" not in cmd and "wget" not in cmd
    assert "http://127.0.0.1:" in cmd and "/healthz" in cmd
    assert "--timeout=" in options


# --- Prometheus -------------------------------------------------------------------------


def test_prometheus_discovers_every_worker_replica(
    prometheus: dict[str, Any], services: dict[str, Any]
) -> None:
    (job,) = [j for j in prometheus["scrape_configs"] if j["job_name"] == "eventyard"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert "static_configs" not in job, "static targets would miss scaled replicas"
    (sd,) = job["dns_sd_configs"]
    assert sd["type"] == "A" and sd["names"] == ["worker"]
    assert "worker" in services


def test_prometheus_rule_files_resolve_in_the_container(
    prometheus: dict[str, Any], services: dict[str, Any]
) -> None:
    service = services["prometheus"]
    config_flag = next(a for a in service["command"] if a.startswith("--config.file="))
    config_in_container = PurePosixPath(config_flag.split("=", 1)[1])
    assert container_path(service, PROMETHEUS_FILE.resolve()) == config_in_container
    rule_files = prometheus["rule_files"]
    assert rule_files
    for rule_file in rule_files:
        assert not rule_file.startswith("/"), "relative: resolves in the repo and the container"
        in_container = config_in_container.parent / rule_file
        assert host_path(service, str(in_container)) == (DEPLOY / rule_file).resolve()
        assert (DEPLOY / rule_file).resolve() == ALERTS_FILE.resolve()


def test_promtool_accepts_the_config_in_the_container_layout(
    promtool: str, services: dict[str, Any], tmp_path: Path
) -> None:
    # Recreate the container's file layout from the compose mounts, then check it there.
    service = services["prometheus"]
    for source, target, _ in mounts(service):
        if source.startswith(".") and (ROOT / source).is_file():
            dest = tmp_path / target.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, dest)
    config = next(a for a in service["command"] if a.startswith("--config.file="))
    result = subprocess.run(
        [promtool, "check", "config", str(tmp_path / config.split("=", 1)[1].lstrip("/"))],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS_FILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_alert_unit_tests_pass(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", str(ALERTS_TEST_FILE)],
        capture_output=True, text=True, check=False, cwd=DEPLOY,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- alert rules ------------------------------------------------------------------------


def test_alerts_are_labelled_annotated_and_documented(alert_rules: list[dict[str, Any]]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    names = [rule["alert"] for rule in alert_rules]
    assert len(names) == len(set(names))
    for rule in alert_rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        annotations = rule["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        # The runbook anchor is the slug of the alert's heading in docs/deploy.md.
        assert annotations["runbook"] == f"docs/deploy.md#{name.lower()}", name
        assert f"\n### {name}\n" in docs, f"docs/deploy.md has no section for {name}"


def test_alerts_cover_what_on_call_needs(alert_rules: list[dict[str, Any]]) -> None:
    exprs = " ".join(alert_exprs(alert_rules))
    needed = [
        "eventyard_dead_letters_total", "eventyard_events_consumed_total",
        "eventyard_consumer_lag", 'eventyard_policy_reloads_total{result="rejected"}',
        "eventyard_policy_stale", "eventyard_events_routed_total", "eventyard_policy_info",
        'up{job="eventyard"}', "absent(", "eventyard_broker_up",
        "eventyard_ingest_unavailable_total", 'up{job="eventyard-ingest"}',
    ]
    for fragment in needed:
        assert fragment in exprs, fragment
    assert any(r["labels"]["severity"] == "critical" for r in alert_rules)


def test_every_alert_is_unit_tested_firing_and_quiet(alert_rules: list[dict[str, Any]]) -> None:
    tests = _yaml(ALERTS_TEST_FILE)
    assert tests["rule_files"] == [ALERTS_FILE.name]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules}
    assert names <= fired, f"never shown to fire: {sorted(names - fired)}"
    assert names <= quiet, f"never shown to stay quiet: {sorted(names - quiet)}"
    assert (fired | quiet) <= names, f"tests of unknown alerts: {sorted((fired | quiet) - names)}"


# --- metrics used by the dashboard and the alerts ----------------------------------------


def test_exposition_is_what_the_worker_serves(exposition: dict[str, set[str]]) -> None:
    # Guards the fixture: counters carry _total, histograms _bucket with le.
    assert "eventyard_events_consumed_total" in exposition
    assert exposition["eventyard_event_lag_seconds_bucket"] == {"class", "le"}
    assert exposition["eventyard_consumer_lag"] == {"topic", "partition"}


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_metric_is_exported(
    source: str,
    dashboard: dict[str, Any],
    alert_rules: list[dict[str, Any]],
    exposition: dict[str, set[str]],
) -> None:
    exprs = dashboard_exprs(dashboard) if source == "dashboard" else alert_exprs(alert_rules)
    assert exprs
    used = set().union(*(metric_names(e) for e in exprs))
    assert used, "no eventyard metric queried"
    missing = used - set(exposition)
    assert not missing, f"{source} queries metrics the worker does not export: {sorted(missing)}"


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_label_exists(
    source: str,
    dashboard: dict[str, Any],
    alert_rules: list[dict[str, Any]],
    exposition: dict[str, set[str]],
) -> None:
    exprs = dashboard_exprs(dashboard) if source == "dashboard" else alert_exprs(alert_rules)
    allowed_values = {"result": set(RELOAD_RESULTS), "reason": None,
                      "job": {"eventyard", "eventyard-ingest"}}
    for expr in exprs:
        known = set(TARGET_LABELS)
        for name in metric_names(expr):
            known |= exposition.get(name, set())
        for metric, matchers in SELECTOR.findall(expr):
            labels = TARGET_LABELS | exposition.get(metric, set())
            for label, op, value in MATCHER.findall(matchers):
                assert label in labels, f"{metric} has no label {label!r}: {expr}"
                values = allowed_values.get(label)
                if op == "=" and values is not None:
                    assert value in values, f"{label}={value!r} never exported: {expr}"
        for group in GROUPING.findall(expr):
            for label in filter(None, (x.strip() for x in group.split(","))):
                assert label in known, f"no queried metric has label {label!r}: {expr}"


# --- Grafana ----------------------------------------------------------------------------


def test_dashboard_shows_what_operators_need(dashboard: dict[str, Any]) -> None:
    exprs = dashboard_exprs(dashboard)
    joined = "\n".join(exprs)
    for metric in (
        "eventyard_events_consumed_total", "eventyard_events_routed_total",
        "eventyard_dead_letters_total", "eventyard_duplicates_total",
        "eventyard_events_skipped_total", "eventyard_consumer_lag", "eventyard_policy_info",
    ):
        assert metric in joined, metric
    assert re.search(r"sum by \(destination, class\) \(rate\(eventyard_events_routed_total", joined)
    assert re.search(r"sum by \(reason\) \(rate\(eventyard_dead_letters_total", joined)
    assert re.search(r"by \(topic, partition\) \(eventyard_consumer_lag", joined)
    assert re.search(r"by \(instance, version\) \(eventyard_policy_info", joined)
    for histogram in ("eventyard_processing_seconds", "eventyard_event_lag_seconds"):
        quantiles = [e for e in exprs if f"{histogram}_bucket" in e]
        assert quantiles and all(e.startswith("histogram_quantile(") for e in quantiles)
        assert {re.match(r"histogram_quantile\(([\d.]+)", e).group(1) for e in quantiles} >= {  # type: ignore[union-attr]
            "0.5", "0.95", "0.99"
        }
    # The ingest edge: answers by status, events in and refused, ack latency, refusals.
    ingest = [e for e in exprs if 'job="eventyard-ingest"' in e]
    for metric in (
        "eventyard_ingest_requests_total", "eventyard_ingest_events_accepted_total",
        "eventyard_ingest_events_rejected_total", "eventyard_ingest_ack_seconds_bucket",
        "eventyard_ingest_rate_limited_total", "eventyard_ingest_unavailable_total",
    ):
        assert any(metric in e for e in ingest), metric


def test_dashboard_is_wired_to_the_provisioned_datasource(
    dashboard: dict[str, Any], prometheus: dict[str, Any], services: dict[str, Any]
) -> None:
    (datasource,) = _yaml(DATASOURCE_FILE)["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in services
    assert any(p.endswith(":9090") for p in services["prometheus"]["ports"])
    # $__rate_interval needs Grafana to know the scrape interval.
    assert datasource["jsonData"]["timeInterval"] == prometheus["global"]["scrape_interval"]
    refs = [n["datasource"] for n in walk(dashboard) if isinstance(n.get("datasource"), dict)]
    prom_refs = [r for r in refs if r.get("type") == "prometheus"]
    assert prom_refs and all(r["uid"] == datasource["uid"] for r in prom_refs)
    panels = [p for p in walk(dashboard.get("panels", [])) if "gridPos" in p]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def test_grafana_provisioning_mounts_line_up(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    for provisioned in (DATASOURCE_FILE, DASHBOARD_PROVIDER_FILE):
        assert container_path(grafana, provisioned.resolve()) == PurePosixPath(
            "/etc/grafana/provisioning", provisioned.parent.name, provisioned.name
        )
    (provider,) = _yaml(DASHBOARD_PROVIDER_FILE)["providers"]
    assert host_path(grafana, provider["options"]["path"]) == DASHBOARD_FILE.parent.resolve()
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(grafana, home) == DASHBOARD_FILE.resolve()


def test_dashboard_queries_are_valid_promql(
    promtool: str, dashboard: dict[str, Any], tmp_path: Path
) -> None:
    # promtool has no expression checker; recording rules get their PromQL parsed.
    rules = [
        {
            "record": f"dashboard:query_{i}",
            "expr": expr.replace("$__rate_interval", "1m").replace("$instance", ".*"),
        }
        for i, expr in enumerate(dashboard_exprs(dashboard))
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- docs/deploy.md ---------------------------------------------------------------------


def test_docs_list_every_setting_with_its_default() -> None:
    rows = settings_rows()
    expected = {f"EVENTYARD_{name.upper()}": f for name, f in Settings.model_fields.items()}
    expected |= {f"EVENTYARD_INGEST_{name.upper()}": f
                 for name, f in IngestSettings.model_fields.items()}
    missing, unknown = set(expected) - set(rows), set(rows) - set(expected)
    assert not missing and not unknown, f"missing: {sorted(missing)}, unknown: {sorted(unknown)}"
    for env, field in expected.items():
        assert rows[env] == default_cell(field.default), f"{env}: default is {field.default!r}"


def test_docs_walk_through_the_essentials() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for needle in (
        "docker compose up -d --scale worker=3",
        "eventyard check-policy",
        "config/routing.yaml",
        "SASL_SSL",
        "SCRAM-SHA-512",
        "EVENTYARD_SASL_PASSWORD_FILE",
        "at most one worker per partition",
    ):
        assert needle in docs, needle
    for reason in SKIP_REASONS:
        assert f"`{reason}`" in docs, reason


def test_cli_examples_in_the_docs_parse() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    # Shell blocks only: inline mentions in prose may name a command without its arguments.
    blocks = re.findall(r"```sh\n(.*?)```", docs, re.S)
    lines = [ln for block in blocks for ln in block.replace("\\\n", " ").splitlines()]
    examples = []
    for line in lines:
        tokens = shlex.split(line.split(" #", 1)[0])
        for i, token in enumerate(tokens[:-1]):
            if token.rsplit("/", 1)[-1] == "eventyard" and tokens[i + 1] in COMMANDS:
                examples.append(tokens[i + 1 :])
    assert {e[0] for e in examples} >= {"check-policy", "test-policy", "send"}
    for argv in examples:
        _parse_cli(argv)
