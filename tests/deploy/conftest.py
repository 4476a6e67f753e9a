"""Fixtures for the deployment tests.

- `production_env`: deploy/production.env.example, the documented production environment.
- `released`: the container commands of .ebextensions run as on an instance (through
  .platform/scripts/manage.sh, with a stand-in for the platform's virtualenv and its
  get-config tool), against the test database: migrate, createcachetable, collectstatic.
- `procfile_server(**environment)`: the Procfile's `web` command (gunicorn) started as a
  subprocess on a free loopback port, in production mode; its log is kept for the test.
- `moto_s3`: moto's S3 server on a free loopback port, with throwaway credentials.
"""

import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from tests.servers import free_port, stop, test_database_url, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV_FILE = ROOT / "deploy" / "production.env.example"
VENV_BIN = Path(sys.executable).parent
# What a process gets from the machine; everything else comes from the test.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def read_env_file(path):
    """NAME=value lines; blank lines and # comments ignored."""
    values = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def procfile_processes():
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip():
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def ebextensions():
    """Every .ebextensions/*.config file, parsed (they are YAML)."""
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in sorted((ROOT / ".ebextensions").glob("*.config"))
    }


def container_commands():
    commands = {}
    for config in ebextensions().values():
        commands.update(config.get("container_commands", {}))
    return dict(sorted(commands.items()))


def clean_environment(home, **variables):
    """A process environment with nothing from this one but the system PATH."""
    return {"PATH": SYSTEM_PATH, "HOME": str(home), "LANG": "C.UTF-8", **variables}


@pytest.fixture(scope="session")
def production_env():
    return read_env_file(PRODUCTION_ENV_FILE)


@dataclass
class Release:
    static_root: Path
    environment: dict
    results: dict = field(default_factory=dict)


@pytest.fixture(scope="session")
def released(django_db_setup, production_env, tmp_path_factory):
    """The deploy's container commands, run on this machine as on an instance."""
    work = tmp_path_factory.mktemp("instance")
    # The platform's virtualenv: activating it puts the project's interpreter on PATH.
    venv = work / "venv" / "staging-test"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text(f'export PATH="{VENV_BIN}:$PATH"\n')
    # The environment properties, as the platform's get-config tool prints them.
    properties = {
        **production_env,
        "DATABASE_URL": test_database_url(),
        "DJANGO_STATIC_ROOT": str(work / "staticfiles"),
    }
    (work / "environment.json").write_text(json.dumps(properties))
    get_config = work / "get-config"
    get_config.write_text(f'#!/bin/sh\n[ "$1" = environment ] && cat "{work}/environment.json"\n')
    get_config.chmod(0o755)

    release = Release(static_root=work / "staticfiles", environment=properties)
    for name, spec in container_commands().items():
        release.results[name] = subprocess.run(
            spec["command"],
            shell=True,
            cwd=ROOT,
            env=clean_environment(
                work, EB_VENV_GLOB=str(work / "venv" / "*"), EB_GET_CONFIG=str(get_config)
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    yield release
    shutil.rmtree(release.static_root, ignore_errors=True)  # some 30 MB


@dataclass
class Server:
    url: str
    log_file: Path

    @property
    def log(self):
        return self.log_file.read_text()

    def get(self, path, host="api.example.com", https=True, **kwargs):
        """A request as the load balancer forwards it: Host, and X-Forwarded-Proto."""
        headers = {"Host": host, **kwargs.pop("headers", {})}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        return requests.get(
            self.url + path, headers=headers, allow_redirects=False, timeout=10, **kwargs
        )

    def post(self, path, host="api.example.com", **kwargs):
        headers = {"Host": host, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
        return requests.post(self.url + path, headers=headers, timeout=10, **kwargs)


@contextmanager
def run_procfile_server(work, environment):
    """The Procfile's web process, on a free loopback port, until the block ends."""
    command = shlex.split(procfile_processes()["web"])
    port = free_port()
    env = clean_environment(
        work,
        **{
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "4",
            **environment,
            # The platform runs the Procfile in its virtualenv; loopback, a free port.
            "PATH": f"{VENV_BIN}:{SYSTEM_PATH}",
            "GUNICORN_BIND": "127.0.0.1",
            "PORT": str(port),
        },
    )
    log_file = work / f"gunicorn-{port}.log"
    with open(log_file, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/health/", process)
        yield Server(url=url, log_file=log_file)
    finally:
        stop(process, signal_number=signal.SIGINT)  # gunicorn's quick shutdown


def server_starter(release, work):
    def start(**variables):
        environment = {
            **release.environment,
            **{name: str(value) for name, value in variables.items()},
        }
        return run_procfile_server(work, environment)

    return start


@pytest.fixture
def procfile_server(released, tmp_path):
    """Start the Procfile's gunicorn in the documented production environment (plus the
    given variables) on the test database; a context manager yielding a Server."""
    return server_starter(released, tmp_path)


@pytest.fixture(scope="module")
def module_procfile_server(released, tmp_path_factory):
    """procfile_server, for servers shared by the tests of a module."""
    return server_starter(released, tmp_path_factory.mktemp("servers"))


@pytest.fixture(scope="session")
def deploy_frontend():
    """scripts/deploy_frontend.py, imported as a module."""
    spec = importlib.util.spec_from_file_location(
        "deploy_frontend", ROOT / "scripts" / "deploy_frontend.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """moto's S3 (and every other service) server, on a free loopback port."""
    port = free_port()
    log_file = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log_file, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/moto-api/", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def moto_s3(moto_server, tmp_path_factory):
    """The moto server, emptied for the module, and AWS credentials for it only (nothing
    of this machine's AWS configuration is read)."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    nowhere = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
        yield moto_server
