#!/bin/bash
# setup-host.sh: install, with apt, everything Libra needs to build and to run
# its tests on a Debian 12 machine: toolchains and libraries, QEMU, Debian's
# kernel image and headers for the guest, and the proxies the tests drive.
# Idempotent; needs root.
set -euo pipefail
[[ $EUID -eq 0 ]] || { echo "setup-host.sh: run as root (it installs packages)" >&2; exit 1; }

packages=(
	# build
	build-essential cmake pkg-config git
	clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libboost-program-options-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
	libsystemd-dev libhttp-parser-dev libclang-rt-14-dev nlohmann-json3-dev
	# kernel module
	dkms kmod linux-image-amd64 linux-headers-amd64
	# the Debian packages (debian/, tests/packaging)
	debhelper dh-dkms lintian
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	# guest test bed
	qemu-system-x86 busybox-static cpio xz-utils zstd
	# what runs in the guest
	nginx haproxy curl wrk iproute2 util-linux procps python3
	# benchmark plots, man page checks
	gnuplot-nox groff
)

export DEBIAN_FRONTEND=noninteractive
# Installing the kernel must not rebuild the host's initramfs (the guest
# builds its own), and package scripts must not start nginx or haproxy here.
export INITRD=No
policy=/usr/sbin/policy-rc.d
cleanup_policy=false
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; cleanup_policy=true
fi
trap '$cleanup_policy && rm -f "$policy"' EXIT

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup-host.sh: installing ${missing[*]}"
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "setup-host.sh: all packages present"
fi
