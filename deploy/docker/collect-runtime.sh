#!/bin/sh
# collect-runtime.sh BINARY ROOTFS
# Assembles the runtime file system of the stsauth image in ROOTFS: the binary at
# /usr/local/bin/stsauth, every shared library `ldd` reports (and the dynamic loader) at the path
# the loader will look for it, the system CA bundle, and passwd/group entries naming UID 65532.
# Used by deploy/docker/Dockerfile; tests/deploy runs it on the host build and chroots into the
# result to prove the image's contents are enough to run stsauth.
set -eu
bin=$1
root=$2

mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs"
cp "$bin" "$root/usr/local/bin/stsauth"
chmod 0755 "$root/usr/local/bin/stsauth"

# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "collect-runtime.sh: ldd found no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' \
    > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
