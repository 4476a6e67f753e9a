"""The documented production environment (deploy/production.env.example) passes Django's
deployment checks, and production refuses to start without its secrets."""

import re
import subprocess
import sys

from tests.deploy.conftest import ROOT, clean_environment

# drf-spectacular's checks of the API schema also run under --deploy. They say nothing
# about deployment safety (views without a serializer_class, two JWT header types) and
# belong to the API's views; every other check, Django's security ones first, must pass.
API_SCHEMA_CHECKS = {"drf_spectacular.W001", "drf_spectacular.W002"}
CHECK_LINE = re.compile(r"^\?: \((?P<id>[\w.]+)\) ", re.MULTILINE)


def check_deploy(production_env, tmp_path, *arguments):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", *arguments],
        cwd=ROOT,
        env=clean_environment(tmp_path, **production_env),  # exactly the documented variables
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_documented_production_environment(production_env, tmp_path):
    result = check_deploy(production_env, tmp_path)
    assert result.returncode == 0, result.stderr
    reported = set(CHECK_LINE.findall(result.stdout + result.stderr))
    assert reported <= API_SCHEMA_CHECKS, result.stdout + result.stderr


def test_check_deploy_security_checks_report_nothing(production_env, tmp_path):
    result = check_deploy(production_env, tmp_path, "--tag", "security", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets(production_env, tmp_path):
    environment = {**production_env}
    del environment["STRIPE_SECRET_KEY"]
    result = check_deploy(environment, tmp_path)
    assert result.returncode != 0
    assert "STRIPE_SECRET_KEY must be set" in result.stderr
