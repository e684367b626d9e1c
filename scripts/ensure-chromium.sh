#!/usr/bin/env bash
# Installs Debian's chromium for the report's browser test (tests/report), when it is
# missing. Idempotent; needs root or sudo for apt-get. Called by .ci/run.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
