"""One Dockerfile for the seven services (deploy/Dockerfile.service, build arg SERVICE), issue 18: compose builds
each service's image from it, Kubernetes runs those images, and what the file copies, installs and runs exists for
every service."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from crm_common import config
from crm_common.suite import SERVICE_TARGETS

ROOT = config.repo_root()
DOCKERFILE = (ROOT / "deploy" / "Dockerfile.service").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def image_of(service: str) -> str:
    return f"crm-{service.replace('_', '-')}"


def test_no_service_keeps_a_dockerfile_of_its_own():
    assert sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "services").glob("*/Dockerfile")) == []


@pytest.mark.parametrize("service", config.SERVICES)
def test_compose_builds_the_service_from_the_one_dockerfile_with_its_name(service):
    entry = COMPOSE[service.replace("_", "-")]
    assert entry["image"] == f"{image_of(service)}:latest"
    assert entry["build"]["dockerfile"] == "deploy/Dockerfile.service"
    assert entry["build"]["args"] == {"SERVICE": service, "BASE_IMAGE": "crm-base:latest"}
    assert entry["build"]["additional_contexts"] == {"crm-base": "service:base"}  # built on the base job
    assert "command" not in entry  # the image's own command runs it


def test_the_dockerfile_takes_the_name_after_from_and_refuses_to_build_without_it():
    lines = [line.strip() for line in DOCKERFILE.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert lines.index("ARG SERVICE") == lines.index("FROM ${BASE_IMAGE}") + 1  # an ARG before FROM is gone after
    assert 'test -n "${SERVICE}"' in DOCKERFILE
    assert "ENV CRM_SERVICE=${SERVICE}" in lines
    assert lines[-1] == 'CMD ["python", "-m", "crm_common.suite", "serve"]'
    assert "USER 10001:10001" in lines


@pytest.mark.parametrize("service", config.SERVICES)
def test_what_the_dockerfile_copies_and_installs_exists_for_the_service(service):
    rendered = DOCKERFILE.replace("${SERVICE}", service)
    for source in re.findall(r"^COPY (\S+) ", rendered, re.M):
        assert (ROOT / source).is_dir(), source
    installed = re.search(r"pip install [^\n]*", rendered).group(0).split()
    for path in (p for p in installed if p.startswith("./")):
        assert (ROOT / path / "pyproject.toml").is_file(), path
    assert (ROOT / "services" / service / "config.yaml").is_file()


@pytest.mark.parametrize("service", config.SERVICES)
def test_the_image_command_runs_the_services_class_with_its_config(service):
    answer = subprocess.run([sys.executable, "-m", "crm_common.suite", "serve", "--dry-run"], cwd=ROOT,
                            capture_output=True, text=True, env={"CRM_SERVICE": service, "PATH": "/usr/bin:/bin"})
    assert answer.returncode == 0, answer.stderr
    command = answer.stdout.split()
    assert command[1:4] == ["-m", "nameko", "run"]
    module, cls = command[4].split(":")
    assert module == f"crm_{service}.service" and command[4] == SERVICE_TARGETS[service]
    source = (ROOT / "services" / service / "src" / f"crm_{service}" / "service.py").read_text()
    assert re.search(rf"^class {cls}\(", source, re.M), cls
    assert command[5:] == ["--config", f"services/{service}/config.yaml"]


def test_serve_refuses_an_unknown_service_in_one_line():
    answer = subprocess.run([sys.executable, "-m", "crm_common.suite", "serve", "--dry-run", "payroll"], cwd=ROOT,
                            capture_output=True, text=True)
    assert answer.returncode == 2 and answer.stdout == ""
    assert answer.stderr.count("\n") == 1 and "one of identity, sales" in answer.stderr


@pytest.mark.parametrize("service", config.SERVICES)
def test_kubernetes_runs_the_image_compose_builds(service):
    path = ROOT / "deploy" / "k8s" / "services" / f"{service.replace('_', '-')}.yaml"
    deployment = next(d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image_of(service)
    assert "command" not in container and "args" not in container


def test_the_ops_image_knows_every_service_and_has_a_mount_point_for_each_broker_users_volume():
    """crm-ops declares the topology and the broker users of every service: a service missing there gets no
    queue bindings of its own, and a volume mounted where the image has no folder is root's (the job, not root,
    cannot write its password)."""
    ops = (ROOT / "deploy" / "Dockerfile.ops").read_text()
    install = re.search(r"RUN pip install ([^&]*)&&", ops).group(1)
    assert {f"./services/{name}" for name in config.SERVICES} <= set(install.replace("\\", " ").split())
    assert f"len(topology.registered()) == {len(config.SERVICES)}" in ops
    made = set(re.search(r"RUN mkdir -p ([^&]*)&&", ops, re.S).group(1).replace("\\", " ").split())
    mounted = {volume.split(":")[1] for volume in COMPOSE["broker-users"]["volumes"]}
    assert mounted <= made, mounted - made
