"""The documented production environment (deploy/production.env.example) passes Django's
deployment checks with no warning, and production refuses to start without its secrets."""

import subprocess
import sys

from tests.deploy.conftest import ROOT, clean_environment


def check_deploy(environment, tmp_path):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_environment(tmp_path, **environment),  # exactly the documented variables
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_the_documented_production_environment(
    production_env, tmp_path
):
    result = check_deploy(production_env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_its_secrets(production_env, tmp_path):
    environment = {**production_env}
    del environment["STRIPE_SECRET_KEY"]
    result = check_deploy(environment, tmp_path)
    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY must be set" in result.stderr
