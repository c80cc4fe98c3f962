#!/bin/bash
# build-debs.sh SRC OUT: builds libra-dkms and libra from the tree SRC (as it
# is, uncommitted changes too) with dpkg-buildpackage in a copy under OUT,
# then checks them: both carry the tree's version, each holds what an
# operator needs where the programs look for it, and lintian finds no error
# or warning (each tag left is explained in debian/libra.lintian-overrides). The .debs are left in OUT.
set -euo pipefail
src=$1 out=$2
rm -rf "$out"
mkdir -p "$out/tree"
tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./.git --exclude='./obj-*' \
	--exclude=./debian/.debhelper --exclude=./debian/libra --exclude=./debian/libra-dkms -cf - . | tar -C "$out/tree" -xf -
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
cmake_version=$(sed -n 's/^project(libra VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$src/dkms.conf")
[[ $version == "$cmake_version" && $version == "$dkms_version" ]] \
	|| { echo "versions differ: debian/changelog $version, CMakeLists.txt $cmake_version, dkms.conf $dkms_version"; exit 1; }

(cd "$out/tree" && dpkg-buildpackage -b -uc -us -j"$(nproc)") > "$out/build.log" 2>&1 \
	|| { tail -n 60 "$out/build.log"; echo "dpkg-buildpackage failed (whole log: $out/build.log)"; exit 1; }
dkms_deb=$out/libra-dkms_${version}_all.deb
libra_deb=$out/libra_${version}_$(dpkg --print-architecture).deb
for deb in "$dkms_deb" "$libra_deb"; do [[ -f $deb ]] || { echo "no $deb"; exit 1; }; done

failed=0
holds() { # holds DEB PATH...: each PATH is in DEB
	local deb=$1 listing
	shift
	listing=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's,^\./,/,; s,/$,,')
	for path in "$@"; do
		grep -qx -- "$path" <<< "$listing" || { echo "$(basename "$deb") lacks $path"; failed=1; }
	done
}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
holds "$dkms_deb" /usr/src/libra-$version/dkms.conf /usr/src/libra-$version/Kbuild \
	/usr/src/libra-$version/module/main.c /usr/src/libra-$version/module/compat.h \
	/usr/src/libra-$version/include/uapi/linux/libra.h
holds "$libra_deb" /usr/sbin/librad /usr/bin/libractl /etc/libra/librad.conf \
	/lib/systemd/system/libra.service /usr/lib/sysusers.d/libra.conf \
	/usr/lib/$multiarch/libra/bpf/libra_http.bpf.o /usr/share/bash-completion/completions/libractl \
	/usr/share/man/man8/librad.8.gz /usr/share/man/man8/libractl.8.gz /usr/share/man/man5/librad.conf.5.gz
# librad looks for the parser where the package put it
strings "$out/tree/obj-$(dpkg-architecture -qDEB_HOST_GNU_TYPE)/daemon/librad" 2>/dev/null \
	| grep "/usr/lib/$multiarch/libra/bpf/libra_http.bpf.o" > /dev/null \
	|| { echo "librad's default parser path is not where the package installs it"; failed=1; }
# the DKMS source builds as the module's tree does: every file Kbuild names is there
for obj in $(sed -n 's/^libra-y [:+]= \(module\/[a-z_]*\)\.o$/\1/p' "$src/Kbuild"); do
	holds "$dkms_deb" "/usr/src/libra-$version/$obj.c"
done
# (grep reads all: an early exit would break dpkg-deb's pipe under pipefail)
dpkg-deb -f "$libra_deb" Depends | grep "libra-dkms (= $version)" > /dev/null || { echo "libra does not depend on its libra-dkms"; failed=1; }
dpkg-deb -I "$dkms_deb" postinst | grep dkms > /dev/null || { echo "libra-dkms has no dkms postinst"; failed=1; }
dpkg-deb -I "$libra_deb" postinst | grep systemd-sysusers > /dev/null || { echo "libra's postinst does not make the group"; failed=1; }
dpkg-deb -I "$libra_deb" conffiles | grep -x /etc/libra/librad.conf > /dev/null || { echo "librad.conf is not a conffile"; failed=1; }

lintian --fail-on error,warning --display-info "$dkms_deb" "$libra_deb" > "$out/lintian.log" 2>&1 || {
	cat "$out/lintian.log"
	echo "lintian fails the packages"
	failed=1
}
cat "$out/lintian.log"
((failed == 0)) && echo "packages ok: $(basename "$dkms_deb") $(basename "$libra_deb")"
