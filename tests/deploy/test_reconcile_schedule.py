"""reconcile_orders on a schedule on Elastic Beanstalk: a systemd service and timer in
deploy/systemd/, installed and started by a postdeploy hook (and its confighooks twin).

Amazon Linux 2023 has no cron daemon; every instance runs the timer, and the database
lease in reconcile_orders lets one run at a time do the work (tests/orders/test_job_lease.py).
"""

import os
import re
import shlex
import shutil
import stat
import subprocess
from datetime import datetime

import pytest
from django.core.management import get_commands

from tests.deploy.conftest import ROOT, clean_environment

UNITS = ROOT / "deploy" / "systemd"
SERVICE = UNITS / "reconcile-orders.service"
TIMER = UNITS / "reconcile-orders.timer"
INSTALLER = ROOT / ".platform" / "scripts" / "install_reconcile_timer.sh"
HOOKS = [
    ROOT / ".platform" / kind / "postdeploy" / "01_reconcile_orders_timer.sh"
    for kind in ("hooks", "confighooks")
]
APP_DIR = "/var/app/current"  # where Elastic Beanstalk puts the running version
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
TIME_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


def read_unit(path):
    """A systemd unit file as {section: {key: [values, in order]}}.

    Not configparser: systemd allows a key more than once (Environment=) and its
    comments are whole lines only.
    """
    sections = {}
    section = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = sections.setdefault(line[1:-1], {})
            continue
        assert section is not None and "=" in line, f"{path.name}:{number}: {line!r}"
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return sections


def one(unit, section, key):
    values = unit[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key}= is set {len(values)} times"
    return values[0]


def seconds(timespan):
    """A systemd time span ("10min", "90", "1h 30min") in seconds."""
    total = 0
    for number, unit in re.findall(r"(\d+)\s*([a-z]*)", timespan):
        total += int(number) * TIME_UNITS[unit or "s"]
    return total


def environment_of(service):
    pairs = [shlex.split(value) for value in service["Service"].get("Environment", [])]
    return dict(word.split("=", 1) for words in pairs for word in words)


@pytest.fixture(scope="module")
def service():
    return read_unit(SERVICE)


@pytest.fixture(scope="module")
def timer():
    return read_unit(TIMER)


def test_the_timer_starts_the_service_every_five_minutes_catching_up_missed_runs(timer):
    assert one(timer, "Timer", "OnCalendar") == "*:0/5"
    assert one(timer, "Timer", "Persistent") == "true"
    assert one(timer, "Timer", "Unit") == SERVICE.name
    # The instances' timers are spread, but within the period.
    assert 0 < seconds(one(timer, "Timer", "RandomizedDelaySec")) < 5 * 60
    assert one(timer, "Install", "WantedBy") == "timers.target"


@pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="no systemd-analyze on this machine")
def test_the_calendar_is_every_five_minutes_by_systemds_own_reading():
    result = subprocess.run(
        [
            SYSTEMD_ANALYZE,
            "calendar",
            "--iterations=4",
            one(read_unit(TIMER), "Timer", "OnCalendar"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    elapses = [
        datetime.strptime(" ".join(match.split()[1:3]), "%Y-%m-%d %H:%M:%S")
        for match in re.findall(r"(?:Next elapse|Iter\. #\d+): (.+)", result.stdout)
    ]
    assert len(elapses) == 4
    assert {(b - a).total_seconds() for a, b in zip(elapses, elapses[1:], strict=False)} == {300}


def test_the_service_runs_reconcile_orders_through_manage_sh_as_the_app_user(service):
    assert one(service, "Service", "Type") == "oneshot"
    assert one(service, "Service", "User") == "webapp"
    assert one(service, "Service", "WorkingDirectory") == APP_DIR
    shell, script, command, *arguments = shlex.split(one(service, "Service", "ExecStart"))
    assert shell == "/bin/bash"
    assert script == f"{APP_DIR}/.platform/scripts/manage.sh"
    assert (ROOT / script.removeprefix(f"{APP_DIR}/")).is_file()
    assert command == "reconcile_orders" and command in get_commands()
    assert arguments == []  # the command's own --older-than default


def test_the_service_gets_the_environment_properties_as_the_web_process_does(service):
    """systemd reads the platform's env file as root; manage.sh must then not run
    get-config as webapp (EB_GET_CONFIG names something not executable)."""
    assert one(service, "Service", "EnvironmentFile") == "/opt/elasticbeanstalk/deployment/env"
    get_config = environment_of(service)["EB_GET_CONFIG"]
    assert not os.access(get_config, os.X_OK)
    assert "EB_GET_CONFIG" in (ROOT / ".platform" / "scripts" / "manage.sh").read_text()


def test_a_stuck_run_is_stopped_before_its_lease_runs_out(service, timer):
    timeout = seconds(one(service, "Service", "TimeoutStartSec"))
    assert 60 <= timeout
    # Needs the lease wired into the command (LEASE_SECONDS in reconcile_orders.py):
    # a run is killed before its lease expires, so no other instance takes it over
    # while it still runs.
    from orders.management.commands import reconcile_orders

    assert timeout < reconcile_orders.LEASE_SECONDS


@pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="no systemd-analyze on this machine")
def test_systemd_accepts_the_units(tmp_path):
    for unit in (SERVICE, TIMER):
        shutil.copy(unit, tmp_path / unit.name)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(tmp_path / SERVICE.name), str(tmp_path / TIMER.name)],
        capture_output=True,
        text=True,
    )
    complaints = [line for line in result.stderr.splitlines() if "reconcile-orders" in line]
    assert result.returncode == 0 and complaints == [], result.stderr


@pytest.mark.parametrize("hook", HOOKS, ids=lambda path: path.parts[-3])
def test_the_hooks_are_executable_strict_bash_calling_the_installer(hook):
    text = hook.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert os.stat(hook).st_mode & stat.S_IXUSR
    assert "set -euo pipefail" in text
    assert "scripts/install_reconcile_timer.sh" in text
    assert (hook.parent / "../../scripts/install_reconcile_timer.sh").resolve() == INSTALLER


def test_the_installer_installs_both_units_and_enables_the_timer():
    text = INSTALLER.read_text()
    assert text.startswith("#!/bin/bash\n") and os.access(INSTALLER, os.X_OK)
    assert "set -euo pipefail" in text
    assert "/etc/systemd/system" in text
    assert "daemon-reload" in text
    assert "enable --now reconcile-orders.timer" in text
    for unit in (SERVICE, TIMER):
        assert unit.name in text or "reconcile-orders.{service,timer}" in text


def run_hook(hook, root):
    """The hook, as root runs it on an instance, with /etc/systemd/system under `root`
    and systemctl replaced by a recorder of its arguments."""
    systemd_dir = root / "etc" / "systemd" / "system"
    fake_systemctl = root / "systemctl"
    calls = root / "systemctl.calls"
    fake_systemctl.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\n')
    fake_systemctl.chmod(0o755)
    result = subprocess.run(
        [str(hook)],
        cwd=root,  # the hook finds the application by its own path, not the cwd
        env=clean_environment(root, SYSTEMD_DIR=str(systemd_dir), SYSTEMCTL=str(fake_systemctl)),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return systemd_dir, calls.read_text().splitlines()


@pytest.mark.parametrize("hook", HOOKS, ids=lambda path: path.parts[-3])
def test_the_hook_installs_the_units_and_starts_the_timer(hook, tmp_path):
    systemd_dir, calls = run_hook(hook, tmp_path)

    for unit in (SERVICE, TIMER):
        installed = systemd_dir / unit.name
        assert installed.read_bytes() == unit.read_bytes()
        assert stat.S_IMODE(installed.stat().st_mode) == 0o644
    assert calls == ["daemon-reload", "enable --now reconcile-orders.timer"]


def test_the_hook_can_run_again_on_the_next_deploy(tmp_path):
    run_hook(HOOKS[0], tmp_path)
    (tmp_path / "etc" / "systemd" / "system" / TIMER.name).write_text("an older version\n")

    systemd_dir, calls = run_hook(HOOKS[1], tmp_path)

    assert (systemd_dir / TIMER.name).read_bytes() == TIMER.read_bytes()
    assert calls == ["daemon-reload", "enable --now reconcile-orders.timer"] * 2
