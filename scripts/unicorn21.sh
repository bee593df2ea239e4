#!/usr/bin/env bash
# Unicorn >= 2.1 for hopsim (README, "Unicorn 2.1").
#
# hopsim needs Unicorn 2.1: its virtual-TLB mode (UC_CTL_TLB_TYPE with a
# UC_HOOK_TLB_FILL hook) lets the simulator give execute permission to code
# pages only, which takes guest stores off 2.0.1's slow path, and
# UC_CTL_TCG_BUFFER_SIZE sizes each engine's code buffer. Debian 12 ships
# 2.0.1. If the system library is >= 2.1 it is used as it is. Otherwise this
# takes Debian 13's binary packages libunicorn2t64 and libunicorn-dev (their
# only dependency is libc6 >= 2.34; Debian 12 has 2.36) through apt with a
# private sources list and lists directory -- the system's apt configuration
# is not touched -- and unpacks them into PREFIX, where CMakeLists.txt finds
# them (pkg-config file rewritten to the prefix, RPATH set by CMake).
# Idempotent: does nothing when PREFIX already holds 2.1.
set -euo pipefail
PREFIX=${HOPSIM_UNICORN_PREFIX:-/opt/hopsim/unicorn}
PCDIR=$PREFIX/lib/pkgconfig

if pkg-config --atleast-version=2.1 unicorn 2>/dev/null; then
  exit 0
fi
if PKG_CONFIG_PATH=$PCDIR pkg-config --atleast-version=2.1 unicorn 2>/dev/null \
   && [ -e "$PREFIX/lib/libunicorn.so.2" ]; then
  exit 0
fi

echo "setup: Unicorn 2.1 from Debian 13's packages into $PREFIX" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
cat >"$work/trixie.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o Dir::Etc::SourceList="$work/trixie.sources" -o Dir::Etc::SourceParts=/dev/null
          -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache"
          -o APT::Sandbox::User=root -o Debug::NoLocking=1)
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" download -qq libunicorn2t64 libunicorn-dev)

rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new/root"
for deb in "$work"/libunicorn*.deb; do
  dpkg-deb -x "$deb" "$PREFIX.new/root"
done
mkdir -p "$PREFIX.new/lib/pkgconfig" "$PREFIX.new/include"
cp -a "$PREFIX.new/root/usr/lib/x86_64-linux-gnu/"libunicorn.so* "$PREFIX.new/lib/"
cp -a "$PREFIX.new/root/usr/include/unicorn" "$PREFIX.new/include/"
ver=$(sed -n 's/^Version: *//p' "$PREFIX.new/root/usr/lib/x86_64-linux-gnu/pkgconfig/unicorn.pc")
cat >"$PREFIX.new/lib/pkgconfig/unicorn.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: unicorn
Description: Unicorn emulator engine (Debian 13 binary package, unpacked by hopsim's setup)
Version: $ver
Libs: -L\${libdir} -lunicorn
Libs.private: -lpthread -lm
Cflags: -I\${includedir}
PC
rm -rf "$PREFIX.new/root"
rm -rf "$PREFIX"
mv "$PREFIX.new" "$PREFIX"
PKG_CONFIG_PATH=$PCDIR pkg-config --atleast-version=2.1 unicorn || {
  echo "setup: Unicorn in $PREFIX is $ver, not >= 2.1" >&2
  exit 1
}
echo "setup: Unicorn $ver in $PREFIX" >&2
