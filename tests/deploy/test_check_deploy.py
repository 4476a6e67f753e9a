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


def default_cache_backend(environment, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
        ],
        cwd=ROOT,
        env=clean_environment(tmp_path, **environment),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after the shell's note on its imports


def test_production_defaults_to_the_shared_database_cache(production_env, tmp_path):
    environment = {**production_env}
    environment.pop("DATABASE_CACHE", None)
    environment.pop("REDIS_URL", None)

    assert (
        default_cache_backend(environment, tmp_path)
        == "django.core.cache.backends.db.DatabaseCache"
    )
    result = check_deploy(environment, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_redis_alone_is_the_cache_without_a_warning(production_env, tmp_path):
    environment = {**production_env, "REDIS_URL": "redis://127.0.0.1:6379/0"}
    environment.pop("DATABASE_CACHE", None)

    assert default_cache_backend(environment, tmp_path) == "django_redis.cache.RedisCache"
    result = check_deploy(environment, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_warns_about_a_per_process_cache_for_the_throttling_counts(
    production_env, tmp_path
):
    environment = {**production_env, "DATABASE_CACHE": "false"}
    environment.pop("REDIS_URL", None)

    result = check_deploy(environment, tmp_path)

    assert result.returncode != 0
    assert "stripedemo.W001" in result.stderr + result.stdout
    assert "LocMemCache" in result.stderr + result.stdout


def test_the_per_process_cache_is_fine_with_debug_on(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=clean_environment(tmp_path, DJANGO_DEBUG="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "stripedemo.W001" not in result.stdout + result.stderr
