#!/bin/sh
# make deb: enclave_<version>_<arch>.deb from this tree with dpkg-deb.
#   pkg/deb/build.sh BUILD VERSION OUTDIR
# Installs into a staging root with the FHS paths of a Debian package
# (make install PREFIX=/usr ...: binaries, unit, man pages, completions,
# the workspace AppArmor profile as a conffile), adds the maintainer
# scripts and the documentation, computes Depends with dpkg-shlibdeps,
# and builds with
# root:root ownership. 'lintian' on the result is clean apart from the
# overrides in lintian-overrides, each explained there.
set -eu
BUILD=$1 VERSION=$2 OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/enclave-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT INT TERM
ROOT=$STAGE/root

cd "$TOP"
make --no-print-directory install BUILD="$BUILD" DESTDIR="$ROOT" PREFIX=/usr LIBEXECDIR=/usr/libexec/enclave \
        UNITDIR=/lib/systemd/system ZSHCOMPDIR=/usr/share/zsh/vendor-completions >/dev/null
# Debug symbols belong in a -dbgsym package; the binaries go stripped.
for f in "$ROOT/usr/bin/enclave" "$ROOT/usr/libexec/enclave/enclave-daemon" "$ROOT/usr/libexec/enclave/enclave-init"; do
        strip --strip-unneeded --remove-section=.comment --remove-section=.note "$f"
done
gzip -9n "$ROOT"/usr/share/man/man1/*.1

DOC=$ROOT/usr/share/doc/enclave
install -d "$DOC"
for d in README.md docs/security.md docs/commands.md docs/json.md docs/enclavefile.md; do
        install -m 0644 "$d" "$DOC/$(basename "$d")"
done
# Dates and the maintainer from the last commit, so that a rebuild of the
# same tree gives the same package.
WHEN=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
MAINTAINER=$(git log -1 --format='%an <%ae>' 2>/dev/null || echo 'Enclave developers <enclave@example.org>')
sed -e "s/@YEAR@/$(date -u -d @"$WHEN" +%Y)/" "$HERE/copyright" >"$DOC/copyright"
chmod 0644 "$DOC/copyright"
sed -e "s/@VERSION@/$VERSION/" -e "s/@DATE@/$(date -R -u -d @"$WHEN")/" -e "s/@MAINTAINER@/$MAINTAINER/" \
        "$HERE/changelog" | gzip -9n >"$DOC/changelog.gz"
install -d "$ROOT/usr/share/lintian/overrides"
install -m 0644 "$HERE/lintian-overrides" "$ROOT/usr/share/lintian/overrides/enclave"

install -d "$ROOT/DEBIAN"
for s in postinst prerm postrm; do
        install -m 0755 "$HERE/$s" "$ROOT/DEBIAN/$s"
done
(cd "$ROOT" && find etc -type f 2>/dev/null | sed 's|^|/|') >"$ROOT/DEBIAN/conffiles"
[ -s "$ROOT/DEBIAN/conffiles" ] || rm "$ROOT/DEBIAN/conffiles"

# Depends from the libraries the binaries link (dpkg-shlibdeps wants a
# debian/control to exist, nothing more).
mkdir -p "$STAGE/src/debian"
printf 'Source: enclave\n\nPackage: enclave\nArchitecture: any\n' >"$STAGE/src/debian/control"
DEPENDS=$(cd "$STAGE/src" && dpkg-shlibdeps -O "$ROOT/usr/bin/enclave" "$ROOT/usr/libexec/enclave/enclave-daemon" 2>/dev/null |
        sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "make deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

(cd "$ROOT" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" -e "s/@DEPENDS@/$DEPENDS/" \
        -e "s/@MAINTAINER@/$MAINTAINER/" \
        "$HERE/control.in" >"$ROOT/DEBIAN/control"

find "$ROOT" -type d -exec chmod 0755 {} +
mkdir -p "$OUT"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT/enclave_${VERSION}_$ARCH.deb"
