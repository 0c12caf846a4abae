#!/bin/sh
# Install what a make target needs beyond make and a C compiler (Debian packages). As root it runs
# apt-get itself; otherwise it stops at once and names the one command that installs what is missing.
set -e
need=""
want() { # want COMMAND-OR-FILE PACKAGE
    case "$1" in
        /*) [ -e "$1" ] || need="$need $2" ;;
        *) command -v "$1" >/dev/null 2>&1 || need="$need $2" ;;
    esac
}
case "$1" in
    test)
        want clang clang
        want gcc gcc
        want g++ g++
        want openssl openssl
        want /usr/bin/python3 python3
        /usr/bin/python3 -c 'import jwt' 2>/dev/null || need="$need python3-jwt"
        /usr/bin/python3 -c 'import passlib' 2>/dev/null || need="$need python3-passlib"
        /usr/bin/python3 -c 'import bcrypt' 2>/dev/null || need="$need python3-bcrypt"
        # the reference the tour is compared with (tests/diff): FastAPI 0.92 under uvicorn
        /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || need="$need python3-fastapi python3-uvicorn"
        # NIST CAVP SHA vectors (SHAxShortMsg.rsp, SHAxLongMsg.rsp)
        want /usr/lib/python3/dist-packages/cryptography_vectors/hashes/SHA2/SHA256LongMsg.rsp python3-cryptography-vectors
        ;;
    fuzz)
        want clang clang
        [ -n "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] \
            || need="$need libclang-rt-14-dev"
        ;;
    bench)
        want wrk wrk
        want /usr/sbin/nginx nginx-light
        want taskset util-linux
        want cc gcc
        want openssl openssl
        ;;
esac
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$need"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    exit 0
fi
echo "missing:$need"
echo "install it with:  sudo apt-get install -y$need"
exit 1
