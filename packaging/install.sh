#!/bin/sh
# install.sh install|uninstall: the work of `make install` and `make uninstall`. The
# Makefile passes everything through the environment:
#
#   PREFIX, LIBDIR, INCLUDEDIR  where to install (absolute; LIBDIR and INCLUDEDIR inside
#                               PREFIX, so the pkg-config and CMake files can be relative)
#   DESTDIR                     staging root put in front of every path (may be empty)
#   VERSION, MAJOR, DESCRIPTION from Cargo.toml
#   BUILD_DIR                   where cargo left libembertls.so and libembertls.a
#
# Install records every file it writes and every directory it creates in
# LIBDIR/cmake/embertls/install_manifest.txt; uninstall removes exactly those files, then
# those directories that are empty. Installing again (an upgrade, say) adds to the
# manifest, so one uninstall removes what both installs put there.
set -eu

die() {
    echo "install.sh: $*" >&2
    exit 1
}

for var in PREFIX LIBDIR INCLUDEDIR VERSION MAJOR BUILD_DIR; do
    eval "value=\${$var-}"
    [ -n "$value" ] || die "$var is not set (run this through make)"
done
DESTDIR=${DESTDIR-}
DESCRIPTION=${DESCRIPTION-embertls}

case $PREFIX in
/*) ;;
*) die "PREFIX must be an absolute path, not '$PREFIX'" ;;
esac
PREFIX=${PREFIX%/}
for dir in "$LIBDIR" "$INCLUDEDIR"; do
    case $dir in
    "$PREFIX"/*) ;;
    *) die "LIBDIR and INCLUDEDIR must be inside PREFIX ($PREFIX), not '$dir'" ;;
    esac
done

CMAKEDIR=$LIBDIR/cmake/embertls
MANIFEST=$CMAKEDIR/install_manifest.txt
# Paths are split on '/' below, never globbed.
set -f

# mkdir_p DIR: makes DIR (under DESTDIR) and its missing parents, recording each one made.
# DESTDIR itself is the packager's: made if missing, never recorded.
mkdir_p() {
    [ -z "$DESTDIR" ] || mkdir -p "$DESTDIR"
    path=
    old_ifs=$IFS
    IFS=/
    for part in $1; do
        [ -n "$part" ] || continue
        path=$path/$part
        if [ ! -d "$DESTDIR$path" ]; then
            mkdir "$DESTDIR$path"
            made_dirs="$made_dirs
d $path"
        fi
    done
    IFS=$old_ifs
}

record() {
    printf '%s\n' "$1" >>"$DESTDIR$MANIFEST"
}

# put MODE SOURCE DEST
put() {
    install -m "$1" "$2" "$DESTDIR$3"
    record "f $3"
}

# link TARGET DEST: DEST becomes a symbolic link to TARGET (a name in DEST's directory).
link() {
    ln -sfn "$1" "$DESTDIR$2"
    record "f $2"
}

# sed replacement text: escape the characters special to s|...|...|.
escape() {
    printf '%s' "$1" | sed 's/[\\&|]/\\&/g'
}

# configure TEMPLATE DEST: the template with its @...@ names filled in, installed 644.
configure() {
    libdir_rel=${LIBDIR#"$PREFIX"/}
    includedir_rel=${INCLUDEDIR#"$PREFIX"/}
    # From LIBDIR/cmake/embertls up to PREFIX: one ".." per directory.
    cmake_to_prefix=$(printf '%s' "$libdir_rel/cmake/embertls" | sed 's|[^/][^/]*|..|g')
    tmp=$DESTDIR$2.tmp
    sed -e "s|@VERSION@|$(escape "$VERSION")|g" \
        -e "s|@MAJOR@|$(escape "$MAJOR")|g" \
        -e "s|@DESCRIPTION@|$(escape "$DESCRIPTION")|g" \
        -e "s|@PREFIX@|$(escape "$PREFIX")|g" \
        -e "s|@PC_LIBDIR@|\${prefix}/$(escape "$libdir_rel")|g" \
        -e "s|@PC_INCLUDEDIR@|\${prefix}/$(escape "$includedir_rel")|g" \
        -e "s|@LIBDIR_REL@|$(escape "$libdir_rel")|g" \
        -e "s|@INCLUDEDIR_REL@|$(escape "$includedir_rel")|g" \
        -e "s|@CMAKE_TO_PREFIX@|$(escape "$cmake_to_prefix")|g" \
        -e "s|@SIZEOF_VOID_P@|$(($(getconf LONG_BIT) / 8))|g" \
        "$1" >"$tmp"
    if grep -n '@[A-Z_]*@' "$tmp" >&2; then
        rm -f "$tmp"
        die "$1: the names above were not filled in"
    fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$DESTDIR$2"
    record "f $2"
}

do_install() {
    for file in libembertls.so libembertls.a; do
        [ -f "$BUILD_DIR/$file" ] || die "no $BUILD_DIR/$file: build first (make)"
    done
    made_dirs=
    for dir in "$LIBDIR" "$LIBDIR/pkgconfig" "$CMAKEDIR" "$INCLUDEDIR"; do
        mkdir_p "$dir"
    done
    # The manifest lives in a directory that now exists; record the directories first,
    # so that a failure below still leaves an uninstall that removes them.
    if [ -n "$made_dirs" ]; then
        printf '%s\n' "$made_dirs" | sed '/^$/d' >>"$DESTDIR$MANIFEST"
    fi
    touch "$DESTDIR$MANIFEST"

    # The real file has the full version; the soname link is what programs load, the
    # plain name is what the linker finds for -lembertls.
    put 644 "$BUILD_DIR/libembertls.so" "$LIBDIR/libembertls.so.$VERSION"
    link "libembertls.so.$VERSION" "$LIBDIR/libembertls.so.$MAJOR"
    link "libembertls.so.$MAJOR" "$LIBDIR/libembertls.so"
    put 644 "$BUILD_DIR/libembertls.a" "$LIBDIR/libembertls.a"
    put 644 include/embertls.h "$INCLUDEDIR/embertls.h"
    put 644 include/embertls.hpp "$INCLUDEDIR/embertls.hpp"
    configure packaging/embertls.pc.in "$LIBDIR/pkgconfig/embertls.pc"
    configure packaging/embertlsConfig.cmake.in "$CMAKEDIR/embertlsConfig.cmake"
    configure packaging/embertlsConfigVersion.cmake.in "$CMAKEDIR/embertlsConfigVersion.cmake"

    # Each entry once, in the order first recorded.
    awk '!seen[$0]++' "$DESTDIR$MANIFEST" >"$DESTDIR$MANIFEST.tmp"
    mv -f "$DESTDIR$MANIFEST.tmp" "$DESTDIR$MANIFEST"
    echo "installed embertls $VERSION in $DESTDIR$PREFIX"
}

do_uninstall() {
    manifest=$DESTDIR$MANIFEST
    if [ ! -f "$manifest" ]; then
        echo "nothing to uninstall: no $manifest"
        return
    fi
    sed -n 's/^f //p' "$manifest" | while IFS= read -r file; do
        rm -f "$DESTDIR$file"
    done
    dirs=$(sed -n 's/^d //p' "$manifest")
    rm -f "$manifest"
    # Deepest first: a directory sorts after its parent, so reversed it comes before.
    printf '%s\n' "$dirs" | LC_ALL=C sort -r | while IFS= read -r dir; do
        [ -z "$dir" ] || rmdir "$DESTDIR$dir" 2>/dev/null || true
    done
    echo "uninstalled embertls from $DESTDIR$PREFIX"
}

case ${1-} in
install) do_install ;;
uninstall) do_uninstall ;;
*) die "usage: install.sh install|uninstall" ;;
esac
