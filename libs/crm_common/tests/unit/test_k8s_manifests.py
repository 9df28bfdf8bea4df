"""The Kubernetes manifests (deploy/k8s) are valid against the API's schemas, and every workload has what a
cluster operator expects: probes, resource requests, a PodDisruptionBudget, a HorizontalPodAutoscaler,
secrets from Secrets, and a migration Job per database."""
from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from crm_common import config

K8S = config.repo_root() / "deploy" / "k8s"
VERSION = "1.33"  # the oldest Kubernetes these manifests are meant for (autoscaling/v2, policy/v1)


def documents():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / resource).read_text()):
            if doc:
                yield resource, doc


DOCS = list(documents())
KINDS = {}
for _resource, _doc in DOCS:
    KINDS.setdefault(_doc["kind"], {})[_doc["metadata"]["name"]] = _doc


@pytest.mark.parametrize("resource, doc", DOCS, ids=[f"{r}:{d['kind']}/{d['metadata']['name']}" for r, d in DOCS])
def test_every_document_is_valid_against_the_kubernetes_schema(resource, doc):
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_every_file_in_the_folder_is_applied_by_the_kustomization():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {str(p.relative_to(K8S)) for p in K8S.rglob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed


def test_every_service_and_the_gateway_run_as_a_deployment_with_its_migration_job():
    workloads = {name.replace("-", "_") for name in KINDS["Deployment"]}
    assert set(config.SERVICES) | {"gateway"} <= workloads
    jobs = set(KINDS["Job"])
    for name in set(config.SERVICES) | {"gateway"}:
        assert f"{name.replace('_', '-')}-migrate" in jobs


@pytest.mark.parametrize("name", sorted(KINDS["Deployment"]))
def test_a_deployment_has_probes_resources_a_disruption_budget_and_an_autoscaler(name):
    deployment = KINDS["Deployment"][name]
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert {"readinessProbe", "livenessProbe"} <= set(container), container["name"]
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        for variable in container.get("env", []):  # a secret never sits in the manifest as a plain value
            if any(word in variable["name"] for word in ("PASSWORD", "DATABASE_URL", "SECRET")):
                assert "valueFrom" in variable, variable["name"]
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert KINDS["PodDisruptionBudget"][name]["spec"]["selector"]["matchLabels"] == labels
    autoscaler = KINDS["HorizontalPodAutoscaler"][name]["spec"]
    assert autoscaler["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert autoscaler["minReplicas"] >= 2 and autoscaler["maxReplicas"] > autoscaler["minReplicas"]
