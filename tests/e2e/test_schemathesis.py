"""Contract fuzzing: schemathesis against /openapi.json with every check, as a sales rep and as an
administrator, each with a fresh user of its own.

No request may end in a 5xx, every response must match what the document says (status, media type,
schema, headers), and a request that is valid by the document must be accepted: a 422 is allowed
only on the operations whose document lists a 422 for rules a schema cannot state (a reference to a
record that does not exist, dates in order; `x-crm-refuses-valid-input`, see schemathesis.toml).
Each role runs the example, coverage and fuzzing phases, then the stateful phase (chains of
operations linked through the ids they return) with a time box of its own.

The auth routes are left out: they are tested explicitly, and fuzzing them would trip the login
throttle and change the fuzzing user's password. The fuzzing user cannot lock itself out: the identity
service refuses it (see schemathesis_hooks.py). The sales rep runs first, as the administrator's run
may change any other user.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

HERE = Path(__file__).parent
MAX_EXAMPLES = os.environ.get("CRM_FUZZ_EXAMPLES", "5")
# a time box per backend for both roles together; CI keeps the whole suite well under 20 min
MAX_TIME = float(os.environ.get("CRM_FUZZ_SECONDS", "150"))
SEED = os.environ.get("CRM_FUZZ_SEED", "20261123")
ROLES = (("sales_rep", 0.35), ("admin", 0.65))  # share of the time box
STATEFUL_SHARE = 0.4  # of a role's time: chains of linked operations


def _schemathesis(base_url: str, client, user: dict, phases: str, seconds: int, out: Path) -> tuple[int, str]:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
           "CRM_FUZZ_USER_ID": user["id"],
           "CRM_FUZZ_REWRITES": str(out / "rewrites.txt")}
    result = subprocess.run(
        [sys.executable, str(HERE / "schemathesis_cli.py"), "--config-file", str(HERE / "schemathesis.toml"),
         "run", f"{base_url}/openapi.json", "--checks", "all", "--phases", phases,
         "--header", f"Authorization: Bearer {client.token}",
         "--exclude-path-regex", "^/api/v1/auth/",
         "--max-examples", MAX_EXAMPLES, "--max-time", str(seconds), "--seed", SEED,
         "--workers", "2", "--request-timeout", "20", "--no-shrink", "--warnings", "off",
         "--report", "junit", "--report-dir", str(out)],
        capture_output=True, text=True, timeout=seconds + 240, env=env)
    output = result.stdout + result.stderr
    (out / "schemathesis.out").write_text(output)
    return result.returncode, output


def test_openapi_contract_holds_under_fuzzing(suite, admin, tmp_path):
    # users of their own, made before any run: the administrator's run may change every other user
    clients = {role: admin.as_new_user([role]) for role, _ in ROLES}
    failures = []
    for role, share in ROLES:
        client = clients[role]
        user = client.get("/api/v1/me").json()
        seconds = MAX_TIME * share
        for phases, part in (("examples,coverage,fuzzing", 1 - STATEFUL_SHARE), ("stateful", STATEFUL_SHARE)):
            code, output = _schemathesis(suite.base_url, client, user, phases, max(int(seconds * part), 5),
                                         tmp_path / role / phases.replace(",", "-"))
            if code != 0:
                failures.append(f"--- as {role}, phases {phases} ---\n{output[-10000:]}")
        # the run never locked its own user out: it still gets in with its token
        assert client.get("/api/v1/me").status_code == 200, f"the {role} fuzzing user was locked out"
        rewrites = [line for f in (tmp_path / role).glob("*/rewrites.txt") for line in f.read_text().splitlines()]
        print(f"as {role}: {len(rewrites)} new passwords for the fuzzing user itself were sent to another user")
    assert not failures, "\n".join(failures)
