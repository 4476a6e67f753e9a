#!/bin/bash
# Elastic Beanstalk postdeploy hook: run reconcile_orders every 5 minutes on this
# instance (systemd timer; the database lease keeps it to one run at a time across
# instances). The same hook is in .platform/hooks/postdeploy/ (deployments) and
# .platform/confighooks/postdeploy/ (configuration changes); both call one script.
set -euo pipefail
exec bash "$(dirname "$0")/../../scripts/install_reconcile_timer.sh"
