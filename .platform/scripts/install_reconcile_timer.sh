#!/bin/bash
# Installs and starts the reconcile_orders schedule on an Elastic Beanstalk instance:
# deploy/systemd/reconcile-orders.{service,timer} into /etc/systemd/system, then
# `systemctl daemon-reload` (picks up changed units) and `enable --now` the timer
# (starts it now and at every boot). Safe to run again: files are overwritten, and an
# already enabled and running timer stays as it is.
#
# Called by .platform/hooks/postdeploy/ (each deployment, and each new instance) and
# .platform/confighooks/postdeploy/ (configuration changes, which skip hooks/), as
# root. SYSTEMD_DIR and SYSTEMCTL override the two system paths (the tests use them).
set -euo pipefail
cd "$(dirname "$0")/../.."

systemd_dir="${SYSTEMD_DIR:-/etc/systemd/system}"
systemctl="${SYSTEMCTL:-systemctl}"
units=(reconcile-orders.service reconcile-orders.timer)

mkdir -p "$systemd_dir"
for unit in "${units[@]}"; do
  install -m 0644 "deploy/systemd/$unit" "$systemd_dir/$unit"
done
"$systemctl" daemon-reload
"$systemctl" enable --now reconcile-orders.timer
echo "reconcile_orders: ${units[*]} installed in $systemd_dir; timer enabled"
