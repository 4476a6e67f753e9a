#!/bin/bash
# Elastic Beanstalk, Amazon Linux 2023: install what mysqlclient needs to build from
# source. prebuild hooks run after the bundle is extracted and before the platform runs
# `pip install -r requirements.txt`, and mysqlclient ships no Linux wheels: without
# these, pip fails with "Can not find valid pkg-config name" or a missing Python.h.
#   mariadb105-devel     the MariaDB client library and headers (libmariadb.pc)
#   gcc                  the C compiler
#   python3.X-devel      Python.h for the platform's interpreter (3.11 on the branch
#                        the README uses): the virtualenv's, else the newest python3.X
#   pkgconf-pkg-config   the pkg-config command mysqlclient's build calls (pulls pkgconf)
set -euo pipefail

# EB_VENV_GLOB overrides the platform's virtualenv location (the tests use it).
# shellcheck disable=SC2086
python=$(ls ${EB_VENV_GLOB:-/var/app/venv/*}/bin/python 2>/dev/null | head -n 1 || true)
if [ -z "$python" ]; then
  python=$(command -v python3.13 || command -v python3.12 || command -v python3.11)
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
packages=(mariadb105-devel gcc "python${version}-devel" pkgconf-pkg-config)

missing=()
for package in "${packages[@]}"; do
  rpm -q "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "prebuild: installing ${missing[*]}"
  dnf install -y --setopt=install_weak_deps=False "${missing[@]}"
fi
