#!/usr/bin/env bash
# Builds the claw core outside node-gyp, for the checks that need special compiler flags:
#
#   scripts/abi-build.sh [--root DIR] --out DIR TARGET...
#
#   so          OUT/libclaw_byterover.so: the plain library with the flags of binding.gyp plus -g
#               (DWARF for abidw/abidiff, readable valgrind stacks). Compiler: $CXX or g++;
#               optimization: $CLAW_SO_OPT or -O2 (abi-check.sh uses -O0: types do not depend on it).
#   cycles      OUT/abi_cycles: native/test/abi_cycles.c, the dlopen/init/shutdown/dlclose driver.
#   leaky       OUT/libabi_leaky_plugin.so: native/test/abi_leaky_plugin.c, a plugin that leaks on
#               purpose (proves the valgrind check catches a leak).
#   core-asan   OUT/core_tests_asan: native/test/core_*.cc + the core, clang++ with
#               -fsanitize=address,undefined (every finding is fatal).
#   core-tsan   OUT/core_tests_tsan: the same tests with -fsanitize=thread.
#   fuzz        OUT/claw_init_fuzz: native/fuzz/claw_init_fuzz.cc + the core, clang++ with
#               -fsanitize=fuzzer,address,undefined.
#
# The core's source list is read from binding.gyp (variables.claw_core_sources), so a new core
# source is picked up here without editing this script. --root points at another copy of the
# sources (the ABI test builds a deliberately changed scratch copy this way).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$HERE
OUT=''
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "abi-build: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ -n "$OUT" ] || { echo "abi-build: --out DIR is required" >&2; exit 2; }
[ ${#targets[@]} -gt 0 ] || { echo "abi-build: name at least one target (so cycles leaky core-asan core-tsan fuzz)" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Tests and fuzzers always come from this checkout; the core from --root.
TESTS=$HERE/native/test
FUZZ=$HERE/native/fuzz

mapfile -t CORE < <(cd "$ROOT" && python3 -c '
import ast
gyp = ast.literal_eval(open("binding.gyp").read())
print("\n".join(gyp["variables"]["claw_core_sources"]))')
[ ${#CORE[@]} -gt 0 ] || { echo "abi-build: binding.gyp lists no claw_core_sources" >&2; exit 1; }
CORE=("${CORE[@]/#/$ROOT/}")

VERSION=$(node -p "require('$ROOT/package.json').version")
DEFS=(-DCLAW_PLUGIN_VERSION="\"$VERSION\"" -DCLAW_GIT_REVISION='"unknown"' -DCLAW_NAPI_VERSION=8
  -DCLAW_BUILD_FLAVOR='"shared-library"')
INC=(-I"$ROOT/native/include" -I"$ROOT/native/src")
# The flags binding.gyp gives the core (keep in step with it).
CORE_FLAGS=(-std=c++17 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -Wall -Wextra)
SAN_FLAGS=(-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -pthread)

JOBS=${CLAW_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}

# compile_link OUTPUT TAG "LINK FLAGS" COMPILER FLAGS... -- SOURCES...
# Compiles every source to an object in parallel ($JOBS at a time), then links OUTPUT with the same
# compiler and flags. Objects go to OUT/obj-TAG/.
compile_link() {
  local output=$1 tag=$2 link=$3
  shift 3
  local -a cc=()
  while [ "$1" != -- ]; do cc+=("$1"); shift; done
  shift
  local dir="$OUT/obj-$tag" src obj
  local -a objs=()
  rm -rf "$dir"
  mkdir -p "$dir"
  for src in "$@"; do
    obj="$dir/$(printf '%s' "${src#"$ROOT"/}" | tr '/' '_').o"
    objs+=("$obj")
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    ("${cc[@]}" -c "$src" -o "$obj" || touch "$dir/FAILED") &
  done
  wait
  [ ! -e "$dir/FAILED" ] || { echo "abi-build: compiling for $(basename "$output") failed" >&2; exit 1; }
  # shellcheck disable=SC2086 # $link is a list of flags
  "${cc[@]}" $link -o "$output" "${objs[@]}"
}

build() {
  case "$1" in
    so)
      compile_link "$OUT/libclaw_byterover.so" so \
        "-shared -Wl,--version-script=$ROOT/native/exports.map -Wl,-z,lazy -Wl,--as-needed -Wl,-soname,libclaw_byterover.so" \
        "${CXX:-g++}" "${CORE_FLAGS[@]}" -fexceptions -fno-rtti "${CLAW_SO_OPT:--O2}" -g "${DEFS[@]}" "${INC[@]}" \
        -ffile-prefix-map="$ROOT"=. -- "${CORE[@]}"
      ;;
    cycles)
      "${CC:-cc}" -std=gnu11 -O1 -g -Wall -Wextra -Werror -I"$ROOT/native/include" \
        -o "$OUT/abi_cycles" "$TESTS/abi_cycles.c" -ldl
      ;;
    leaky)
      "${CC:-cc}" -std=gnu11 -O1 -g -fPIC -shared -Wall -Wextra -Werror -I"$ROOT/native/include" \
        -o "$OUT/libabi_leaky_plugin.so" "$TESTS/abi_leaky_plugin.c"
      ;;
    core-asan)
      compile_link "$OUT/core_tests_asan" asan '' \
        clang++ "${CORE_FLAGS[@]}" "${SAN_FLAGS[@]}" -fsanitize=address,undefined "${DEFS[@]}" "${INC[@]}" \
        -- "${CORE[@]}" "$TESTS"/core_*.cc
      ;;
    core-tsan)
      compile_link "$OUT/core_tests_tsan" tsan '' \
        clang++ "${CORE_FLAGS[@]}" "${SAN_FLAGS[@]}" -fsanitize=thread "${DEFS[@]}" "${INC[@]}" \
        -- "${CORE[@]}" "$TESTS"/core_*.cc
      ;;
    fuzz)
      compile_link "$OUT/claw_init_fuzz" fuzz '' \
        clang++ "${CORE_FLAGS[@]}" "${SAN_FLAGS[@]}" -fsanitize=fuzzer,address,undefined "${DEFS[@]}" "${INC[@]}" \
        -- "${CORE[@]}" "$FUZZ/claw_init_fuzz.cc"
      ;;
    *) echo "abi-build: unknown target '$1' (so cycles leaky core-asan core-tsan fuzz)" >&2; exit 2 ;;
  esac
}

for t in "${targets[@]}"; do build "$t"; done
