#!/bin/sh
# Installs the Debian packages procd's tests need, when they are missing.
# Idempotent and quick when everything is present. Used by `npm test` and `.ci/run`.
# Without root or apt-get it prints the exact install line and fails.
set -eu

PACKAGES="procps util-linux curl pacemaker corosync pacemaker-cli-utils resource-agents chromium fuse3 libfuse-dev libxml2-utils python3"

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done

[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "procd tests: missing Debian packages:$missing; install them as root with: $line" >&2
  exit 1
fi

echo "procd tests: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
