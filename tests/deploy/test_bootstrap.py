"""scripts/bootstrap waits for apt's lock (held by unattended-upgrades or cloud-init on a
fresh machine) instead of failing at once, and says what it is waiting for."""

import re
import shutil
import stat
import subprocess

from tests.deploy.conftest import ROOT, clean_environment

BOOTSTRAP = ROOT / "scripts" / "bootstrap"


def apt_get_calls(text):
    return [line for line in text.splitlines() if re.search(r"\bapt-get\s", line.split("#")[0])]


def test_every_apt_get_call_waits_for_the_lock():
    calls = apt_get_calls(BOOTSTRAP.read_text())

    assert len(calls) >= 2  # update and install
    for line in calls:
        assert re.search(r"-o DPkg::Lock::Timeout=\S+", line), line


def fake_command(directory, name, body):
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_bootstrap_says_it_may_wait_then_runs_apt_get_with_a_lock_timeout(tmp_path):
    # A copy of the script in an empty checkout, with stand-ins for the system's tools:
    # every package is missing, apt-get records its arguments, and the Python found
    # stops the script before it would build a virtualenv.
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(BOOTSTRAP, checkout / "scripts" / "bootstrap")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-get.calls"
    fake_command(bin_dir, "dpkg-query", "exit 1")
    fake_command(bin_dir, "sudo", 'exec "$@"')
    fake_command(bin_dir, "apt-get", f'echo "$*" >> {calls}')
    fake_command(bin_dir, "python-stand-in", "exit 3")
    environment = clean_environment(tmp_path, PYTHON=str(bin_dir / "python-stand-in"))
    environment["PATH"] = f"{bin_dir}:{environment['PATH']}"

    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "bootstrap")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 3, result.stderr
    recorded = calls.read_text().splitlines()
    assert [line.split()[2] for line in recorded] == ["update", "install"]
    for line in recorded:
        assert line.startswith("-o DPkg::Lock::Timeout=300 ")
    before_apt = result.stdout.split("installing system packages")[1]
    assert re.search(r"wait\w* up to 300s for .*(apt|dpkg)", before_apt), result.stdout
