#!/bin/bash
# Runs `python manage.py ARGS` on an Elastic Beanstalk instance as the app itself runs:
# in the platform's virtualenv, from the application directory, with the environment
# properties (`eb setenv`, and RDS_* for an attached database) exported. The
# container_commands in .ebextensions/02-django.config call it for migrate & co.
#
# The properties are read with the platform's get-config tool in case the command's
# shell lacks them. EB_VENV_GLOB and EB_GET_CONFIG override the two platform paths
# (the tests use them); everything else is the platform's default layout.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv_glob="${EB_VENV_GLOB:-/var/app/venv/*}"
get_config="${EB_GET_CONFIG:-/opt/elasticbeanstalk/bin/get-config}"

for venv in $venv_glob; do
  if [ -f "$venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    source "$venv/bin/activate"
    break
  fi
done

if [ -x "$get_config" ]; then
  exports=$("$get_config" environment | python -c '
import json, re, shlex, sys
for name, value in json.load(sys.stdin).items():
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        print(f"export {name}={shlex.quote(str(value))}")
')
  eval "$exports"
fi

exec python manage.py "$@"
