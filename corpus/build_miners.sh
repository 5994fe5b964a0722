#!/usr/bin/env bash
# Build the two real miners of the mining corpus from upstream source, out of tree.
#   corpus/build_miners.sh CPUMINER_SRC XMRIG_SRC OUT_DIR
# CPUMINER_SRC: a work tree of github.com/pooler/cpuminer; XMRIG_SRC: of github.com/xmrig/xmrig.
# Neither source tree is modified: cpuminer's autotools write into their tree, so it is copied first.
# Result: OUT_DIR/bin/minerd and OUT_DIR/bin/xmrig. Nothing of the miners' code belongs in this repository.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 CPUMINER_SRC XMRIG_SRC OUT_DIR" >&2
    exit 2
fi
CPUMINER_SRC=$(realpath "$1")
XMRIG_SRC=$(realpath "$2")
OUT=$(realpath -m "$3")
JOBS=${JOBS:-2}

# Build dependencies, and the capture tools corpus/mining.py needs at run time.
if [ "${SKIP_APT:-0}" != 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        build-essential autoconf automake pkg-config cmake \
        libcurl4-openssl-dev libjansson-dev libssl-dev libuv1-dev \
        tcpdump iproute2 >/dev/null
fi

mkdir -p "$OUT/bin" "$OUT/build"

# cpuminer (minerd): libcurl gives it stratum+tcps:// (TLS).
rm -rf "$OUT/build/cpuminer"
cp -a "$CPUMINER_SRC" "$OUT/build/cpuminer"
(
    cd "$OUT/build/cpuminer"
    ./autogen.sh >/dev/null
    ./configure CFLAGS="-O2" >/dev/null
    nice make -j"$JOBS" >/dev/null
)
cp "$OUT/build/cpuminer/minerd" "$OUT/bin/minerd"

# XMRig with as few optional parts as cmake allows: CPU backend, CryptoNight, CryptoNight-Lite and
# RandomX, TLS. No hwloc, GPU backends, HTTP API, MSR, DMI, benchmark, or other algorithm families.
cmake -S "$XMRIG_SRC" -B "$OUT/build/xmrig" -DCMAKE_BUILD_TYPE=Release \
    -DWITH_HWLOC=OFF -DWITH_OPENCL=OFF -DWITH_CUDA=OFF -DWITH_NVML=OFF -DWITH_ADL=OFF \
    -DWITH_HTTP=OFF -DWITH_MSR=OFF -DWITH_DMI=OFF -DWITH_BENCHMARK=OFF \
    -DWITH_CN_HEAVY=OFF -DWITH_CN_PICO=OFF -DWITH_CN_FEMTO=OFF \
    -DWITH_ARGON2=OFF -DWITH_KAWPOW=OFF -DWITH_GHOSTRIDER=OFF \
    -DWITH_TLS=ON -DWITH_RANDOMX=ON -DWITH_CN_LITE=ON >/dev/null
nice cmake --build "$OUT/build/xmrig" -j"$JOBS" >/dev/null
cp "$OUT/build/xmrig/xmrig" "$OUT/bin/xmrig"

"$OUT/bin/minerd" --version | head -1
"$OUT/bin/xmrig" --version | head -1
