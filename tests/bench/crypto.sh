#!/usr/bin/env bash
# Crypto benchmark (make bench): SHA-256 throughput of webfw.h against `openssl speed -evp sha256`
# side by side on the same CPU, JWT verifications per second, one PBKDF2 hash at the default rounds.
# A report, not a test: it exits 0 unless something could not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v openssl >/dev/null || { echo "crypto bench: openssl is missing (apt-get install openssl)"; exit 1; }
out=build/bench
mkdir -p "$out"
cc -std=c11 -O2 -o "$out/crypto" tests/bench/crypto.c -lpthread
cc -std=c11 -O2 -DWF_NO_SHA_NI -o "$out/crypto_portable" tests/bench/crypto.c -lpthread
cpu=${SERVER_CPU:-0}
ours=() portable=() theirs=()
for round in 1 2 3; do     # alternate ours and OpenSSL, pinned to the same core
    ours+=("$(taskset -c "$cpu" "$out/crypto" | tee "$out/crypto-$round.txt" | awk '$1 == "sha256_16k" { print $2 }')")
    portable+=("$(taskset -c "$cpu" "$out/crypto_portable" | awk '$1 == "sha256_16k" { print $2 }')")
    theirs+=("$(taskset -c "$cpu" openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null |
        awk '$1 == "sha256" { v = $2; sub(/k$/, "", v); printf "%.1f\n", v * 1000 / 1e6 }')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
o=$(median "${ours[@]}") p=$(median "${portable[@]}") t=$(median "${theirs[@]}")
jwt=$(awk '$1 == "jwt_verify" { print $2 }' "$out"/crypto-*.txt | sort -g | sed -n 2p)
pb=$(awk '$1 == "pbkdf2_600k" { print $2 }' "$out"/crypto-*.txt | sort -g | sed -n 2p)
echo
echo "== crypto: medians of 3 rounds on CPU $cpu (16 KiB buffers, as openssl speed -bytes 16384)"
printf '%-40s %12s %12s %10s\n' figure webfw.h openssl ratio
printf '%-40s %12s %12s %10s\n' "SHA-256 MB/s (SHA extensions if any)" "$o" "$t" "$(awk -v a="$o" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
printf '%-40s %12s %12s %10s\n' "SHA-256 MB/s (portable C)" "$p" "$t" "$(awk -v a="$p" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
printf '%-40s %12s\n' "HS256 JWT verifications per second" "$jwt"
printf '%-40s %12s\n' "PBKDF2-SHA256 at 600,000 rounds (ms)" "$pb"
fig() { awk -v k="$1" '$1 == k { print $2 }' "$out"/crypto-*.txt | sort -g | sed -n 2p; }
echo
echo "== JSON doubles written per second, medians of 3 rounds on CPU $cpu, beside snprintf(\"%.17g\")"
printf '%-40s %12s %12s %10s\n' figure webfw.h %.17g ratio
for set in random short; do
    a=$(fig "json_double_$set") b=$(fig "json_double_${set}_printf17g")
    printf '%-40s %12s %12s %10s\n' "doubles/s ($set)" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
done
