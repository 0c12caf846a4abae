#!/bin/sh
# Install what a make target needs beyond make and a C compiler (Debian packages). As root it runs
# apt-get (and locale-gen) itself; otherwise it stops at once and names the one command that installs
# what is missing.
set -e
need=""
gen=""  # a locale to generate: "NAME CHARSET" as /etc/locale.gen lists it
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
        # a strict outside WebSocket client
        /usr/bin/python3 -c 'import websockets' 2>/dev/null || need="$need python3-websockets"
        # and the npm ws package as another (make test-ws: npm ci installs it in build/ws-node)
        want node nodejs
        want npm npm
        # the reference the tour is compared with (tests/diff): FastAPI 0.92 under uvicorn
        /usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || need="$need python3-fastapi python3-uvicorn"
        # NIST CAVP SHA vectors (SHAxShortMsg.rsp, SHAxLongMsg.rsp)
        want /usr/lib/python3/dist-packages/cryptography_vectors/hashes/SHA2/SHA256LongMsg.rsp python3-cryptography-vectors
        # a decimal-comma locale for make test-locale (generated from the locales package's sources)
        if ! locale -a 2>/dev/null | grep -qix 'de_DE\.utf-\?8'; then
            gen="de_DE.UTF-8 UTF-8"
            want /usr/share/i18n/locales/de_DE locales
        fi
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
        # the WebSocket peers (make bench-ws): npm ws under Node.js, and libwebsockets
        want node nodejs
        want npm npm
        want pkg-config pkg-config
        pkg-config --exists libwebsockets 2>/dev/null || need="$need libwebsockets-dev"
        ;;
esac
[ -z "$need$gen" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ -n "$need" ]; then
        echo "installing:$need"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    fi
    if [ -n "$gen" ]; then  # listed in /etc/locale.gen, so a later locale-gen keeps it
        echo "generating locale: ${gen% *}"
        sed -i "s/^# *$gen\$/$gen/" /etc/locale.gen 2>/dev/null || :
        grep -qx "$gen" /etc/locale.gen 2>/dev/null || echo "$gen" >>/etc/locale.gen
        locale-gen --keep-existing >/dev/null
        locale -a | grep -qix 'de_DE\.utf-\?8' || { echo "locale-gen did not make ${gen% *}"; exit 1; }
    fi
    exit 0
fi
[ -n "$need" ] && echo "missing:$need" && echo "install it with:  sudo apt-get install -y$need"
[ -n "$gen" ] && echo "missing locale: ${gen% *}" &&
    echo "generate it with:  echo '$gen' | sudo tee -a /etc/locale.gen && sudo locale-gen --keep-existing"
exit 1
