"""The Elastic Beanstalk bundle: Procfile, gunicorn.conf.py, .ebextensions and .platform
say what Amazon Linux 2023 expects, name only things that exist, and their commands run."""

import os
import re
import runpy
import shlex
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands
from django.db import connection
from django.urls import reverse

from tests.deploy.conftest import (
    ROOT,
    VENV_BIN,
    clean_environment,
    container_commands,
    ebextensions,
    procfile_processes,
    read_env_file,
)

# Buildfile/Procfile line syntax (Elastic Beanstalk docs, "Buildfile and Procfile").
PROCFILE_LINE = re.compile(r"^[A-Za-z0-9_-]+:\s*[^\s].*$")
# The keys an .ebextensions config file may have, and the namespaces this one uses.
CONFIG_KEYS = {
    "option_settings",
    "packages",
    "groups",
    "users",
    "sources",
    "files",
    "commands",
    "services",
    "container_commands",
    "Resources",
    "Outputs",
}
KNOWN_NAMESPACES = {
    "aws:elasticbeanstalk:application",
    "aws:elasticbeanstalk:application:environment",
    "aws:elasticbeanstalk:environment",
    "aws:elasticbeanstalk:environment:process:default",
    "aws:elasticbeanstalk:environment:proxy:staticfiles",
    "aws:elasticbeanstalk:healthreporting:system",
    "aws:elasticbeanstalk:command",
    "aws:elasticbeanstalk:cloudwatch:logs",
    "aws:autoscaling:asg",
    "aws:autoscaling:trigger",
    "aws:ec2:instances",
}
HOOK_DIRECTORIES = {
    f"{kind}/{stage}"
    for kind in ("hooks", "confighooks")
    for stage in ("prebuild", "predeploy", "postdeploy")
}
SECRET_WORDS = re.compile(r"SECRET|PASSWORD|TOKEN|KEY", re.IGNORECASE)


def option_settings():
    merged = {}
    for config in ebextensions().values():
        for namespace, options in config.get("option_settings", {}).items():
            merged.setdefault(namespace, {}).update(options)
    return merged


def test_the_procfile_runs_gunicorn_on_the_wsgi_application_with_the_repo_config():
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    assert all(PROCFILE_LINE.match(line) for line in lines)
    web = shlex.split(procfile_processes()["web"])
    assert web[0] == "gunicorn"
    assert "stripedemo.wsgi:application" in web
    config = web[web.index("--config") + 1]
    assert (ROOT / config).is_file()
    module, _, attribute = "stripedemo.wsgi:application".partition(":")
    assert callable(getattr(import_module(module), attribute))


def gunicorn_settings(monkeypatch, **variables):
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CLASS", "PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_uses_threads_so_a_slow_stripe_call_does_not_stall_the_catalog(monkeypatch):
    defaults = gunicorn_settings(monkeypatch)
    assert defaults["worker_class"] == "gthread"
    assert 2 <= defaults["workers"] <= 5  # a small instance: 2 vCPUs, 2 GiB
    assert defaults["threads"] >= 4
    assert defaults["bind"] == "127.0.0.1:8000"
    # A payment with the SDK's retries is answered, not killed half-way.
    stripe_worst_case = settings.STRIPE_TIMEOUT * (1 + settings.STRIPE_MAX_NETWORK_RETRIES)
    assert defaults["timeout"] > stripe_worst_case
    # Longer than nginx's and the load balancer's 60 s idle timeout.
    assert defaults["keepalive"] > 60


def test_gunicorn_workers_and_threads_come_from_the_environment(monkeypatch):
    tuned = gunicorn_settings(monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="24", PORT="8123")
    assert (tuned["workers"], tuned["threads"], tuned["bind"]) == (3, 24, "127.0.0.1:8123")


def test_ebextensions_are_yaml_with_known_keys_and_namespaces():
    configs = ebextensions()
    assert configs, "no .ebextensions/*.config"
    for name, config in configs.items():
        assert isinstance(config, dict), name
        assert set(config) <= CONFIG_KEYS, name
    assert set(option_settings()) <= KNOWN_NAMESPACES


def test_the_load_balancer_checks_the_health_endpoint():
    options = option_settings()
    health_path = reverse("health")
    assert options["aws:elasticbeanstalk:environment:process:default"]["HealthCheckPath"] == (
        health_path
    )
    assert options["aws:elasticbeanstalk:environment:process:default"]["MatcherHTTPCode"] == "200"
    assert options["aws:elasticbeanstalk:application"]["Application Healthcheck URL"] == (
        health_path
    )
    assert options["aws:elasticbeanstalk:environment"]["LoadBalancerType"] == "application"


def test_nginx_serves_static_files_from_where_collectstatic_writes_them():
    mapping = option_settings()["aws:elasticbeanstalk:environment:proxy:staticfiles"]
    assert mapping == {settings.STATIC_URL.rstrip("/"): "staticfiles"}
    # STATIC_ROOT as on an instance (no DJANGO_STATIC_ROOT there), relative to the app.
    assert Path(settings.STATIC_ROOT) == settings.BASE_DIR / mapping["/static"]


def test_environment_settings_are_documented_and_hold_no_secret():
    documented = read_env_file(ROOT / "deploy" / "production.env.example")
    environment = option_settings()["aws:elasticbeanstalk:application:environment"]
    assert environment["DJANGO_DEBUG"] == "false"
    for name, value in environment.items():
        assert documented.get(name) == str(value), f"{name} differs from production.env.example"
        assert not SECRET_WORDS.search(name), f"{name} belongs in `eb setenv`, not the repo"


def test_migrate_runs_once_per_deploy_on_the_leader_and_collectstatic_everywhere():
    commands = container_commands()
    by_manage_command = {shlex.split(spec["command"])[2]: spec for spec in commands.values()}
    assert by_manage_command["migrate"].get("leader_only") is True
    assert by_manage_command["createcachetable"].get("leader_only") is True
    assert not by_manage_command["collectstatic"].get("leader_only", False)
    names = list(commands)
    migrate = next(name for name in names if "migrate" in commands[name]["command"])
    assert names.index(migrate) == 0, "the schema is migrated before anything else"


def test_container_commands_name_scripts_and_manage_commands_that_exist():
    django_commands = get_commands()
    for name, spec in container_commands().items():
        shell, script, manage_command, *_ = shlex.split(spec["command"])
        assert shell == "bash", name
        assert (ROOT / script).is_file(), f"{name}: no {script}"
        assert manage_command in django_commands, f"{name}: no manage.py {manage_command}"


def test_platform_hooks_are_where_amazon_linux_2023_runs_them():
    hooks = [path for path in (ROOT / ".platform").rglob("*") if path.is_file()]
    hook_files = [path for path in hooks if path.parent.parent.name in ("hooks", "confighooks")]
    assert hook_files, "no platform hooks"
    for path in hook_files:
        relative = path.relative_to(ROOT / ".platform")
        assert relative.parent.as_posix() in HOOK_DIRECTORIES, relative
    for path in hooks:
        if path.suffix == ".sh":
            text = path.read_bytes()
            assert text.startswith(b"#!/bin/bash\n"), path
            assert b"\r" not in text, f"{path} has Windows line ends"
            assert os.access(path, os.X_OK), f"{path} is not executable"
            subprocess.run(["bash", "-n", str(path)], check=True)


def test_the_prebuild_hook_installs_what_mysqlclient_needs_to_build(tmp_path):
    """Run the hook with rpm (nothing installed) and dnf replaced by recorders."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "rpm").write_text("#!/bin/sh\nexit 1\n")
    (fake_bin / "dnf").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/dnf.log"\n')
    for tool in ("rpm", "dnf"):
        (fake_bin / tool).chmod(0o755)
    # The platform's virtualenv, whose interpreter the headers must match.
    venv_python = tmp_path / "venv" / "staging-test" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(VENV_BIN / "python")
    hook = ROOT / ".platform" / "hooks" / "prebuild" / "01_mysqlclient_build_deps.sh"

    subprocess.run(
        [str(hook)],
        env=clean_environment(
            tmp_path,
            PATH=f"{fake_bin}:/usr/bin:/bin",
            EB_VENV_GLOB=str(tmp_path / "venv" / "*"),
        ),
        check=True,
        capture_output=True,
    )

    installed = (tmp_path / "dnf.log").read_text().split()
    assert installed[:2] == ["install", "-y"]
    python = "python{}.{}-devel".format(*sys.version_info[:2])
    for package in ("mariadb105-devel", "gcc", python, "pkgconf-pkg-config"):
        assert package in installed


@pytest.mark.server
@pytest.mark.django_db
def test_container_commands_run_as_on_an_instance(released):
    """migrate, createcachetable and collectstatic, through manage.sh, in production mode
    with the environment properties read from get-config."""
    for name, result in released.results.items():
        assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
    assert "No migrations to apply" in released.results["01_migrate"].stdout
    # collectstatic wrote WhiteNoise's hashed and compressed files.
    manifest = released.static_root / "staticfiles.json"
    assert manifest.is_file()
    hashed = [
        path
        for path in released.static_root.rglob("*.css")
        if re.search(r"\.[0-9a-f]{12}\.css$", path.name)
    ]
    assert hashed
    assert Path(f"{hashed[0]}.gz").is_file()
    assert "django_cache" in connection.introspection.table_names()


def test_the_readme_deploy_guide_names_files_that_exist():
    readme = (ROOT / "README.md").read_text()
    guide = readme[readme.index("## Deploying to AWS") : readme.index("## Scaling out")]
    named = set(re.findall(r"`((?:\.platform|\.ebextensions|deploy|scripts)/[\w./-]+)`", guide))
    named |= {"Procfile", "gunicorn.conf.py"}
    assert len(named) >= 6
    for path in named:
        assert (ROOT / path).exists(), f"README names {path}, which does not exist"
