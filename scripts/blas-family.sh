#!/usr/bin/env bash
# Prints the OpenBLAS kernel family the rewind binary pins on this CPU (see BLASKernel): Haswell on
# x86-64 with AVX2 and FMA, SandyBridge with AVX, Prescott below; ARMV8 on arm64. `make test` loads
# the same family in the test process, so results computed in-process and by the binary agree bit
# for bit.
set -euo pipefail
case "$(uname -m)" in
  x86_64)
    flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
    if grep -qw avx2 <<<"$flags" && grep -qw fma <<<"$flags"; then echo Haswell
    elif grep -qw avx <<<"$flags"; then echo SandyBridge
    else echo Prescott; fi ;;
  aarch64|arm64) echo ARMV8 ;;
  *) echo "" ;;
esac
