#!/bin/sh
# Installs, from Debian's packages, whatever the build and the tests need and is missing.
# Run as root; without root it only reports what is missing.
set -eu

pkgs="gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev libnl-3-dev libnl-route-3-dev
      libnet1-dev libbsd-dev python3 iproute2 iptables nftables"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing (run 'sudo scripts/install-deps.sh')" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty on a fresh machine: update once, then install.
if ! apt-get install -y -qq $missing >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -qq $missing
fi
