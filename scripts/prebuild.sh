#!/usr/bin/env bash
# Build the N-API prebuilds that ship in the npm tarball.
#
#   npm run prebuild                       # linux-x64 and linux-arm64
#   CLAW_PREBUILD_ARCHES=x64 npm run prebuild   # only one architecture
#
# Output (stripped):
#   prebuilds/linux-x64/claw-byterover.glibc.node     Node-API addon (one binary for Node >= 20)
#   prebuilds/linux-x64/libclaw_byterover.so          the same core as a plain C library, no Node-API
#   prebuilds/linux-arm64/claw-byterover.glibc.node   cross-compiled with Debian's g++-aarch64-linux-gnu
#   prebuilds/linux-arm64/libclaw_byterover.so
#
# The addon is built by prebuildify (node-gyp from binding.gyp). prebuildify works in ./build/Release
# of the directory it runs in, which would overwrite a developer's build (and an arm64 binary there
# would be picked before the prebuild by node-gyp-build), so each architecture is built in its own
# scratch copy of the sources and only prebuilds/<platform>-<arch>/ is written in the package.
# Both architectures build at the same time (one compiler each).
#
# Environment:
#   CLAW_PREBUILD_ARCHES   space-separated subset of "x64 arm64" (default: both)
#   CLAW_PREBUILD_OUT      directory that receives prebuilds/ (default: the package root)
#   CLAW_PREBUILD_FORCE=1  build even when run as npm's automatic pre-hook of `npm run build`
#   npm_config_nodedir     Node headers (node-gyp); defaults to the running node's prefix when it
#                          ships include/node/node_api.h, so nothing is downloaded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf 'prebuild: %s\n' "$*" >&2; }
die() { printf 'prebuild: error: %s\n' "$*" >&2; exit 1; }

# npm runs a script named "prebuild" automatically before "build" (pre-hook), so `npm run build`
# (and `npm test`, which calls it) would cross-compile both architectures every time. Build only
# when the npm command that started us was `npm run prebuild` itself (or when forced).
if [ "${npm_lifecycle_event:-}" = prebuild ] && [ "${CLAW_PREBUILD_FORCE:-}" != 1 ]; then
  p=$PPID cmd=''
  while [ "${p:-1}" -gt 1 ] && [ -r "/proc/$p/cmdline" ]; do
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" | sed 's/ *$//')
    case "$cmd" in npm\ * | */npm\ * | *npm-cli.js*) break ;; esac
    cmd=''
    p=$(awk '{print $4}' "/proc/$p/stat")
  done
  case " $cmd " in
    *' prebuild '*) ;;
    '  ') ;; # could not tell: build
    *)
      log "skipped: npm ran this as the pre-hook of another script ($cmd); run \`npm run prebuild\` to build prebuilds"
      exit 0
      ;;
  esac
fi

ARCHES=${CLAW_PREBUILD_ARCHES:-"x64 arm64"}
OUT=${CLAW_PREBUILD_OUT:-$ROOT}
NAME=$(node -p "require('./package.json').name")
PREBUILDIFY="$ROOT/node_modules/prebuildify/bin.js"
[ -f "$PREBUILDIFY" ] || die "prebuildify is not installed (expected $PREBUILDIFY): run \`npm ci\`"
[ -f binding.gyp ] || die "binding.gyp not found in $ROOT"

if [ -z "${npm_config_nodedir:-}" ]; then
  prefix=$(dirname "$(dirname "$(command -v node)")")
  if [ -f "$prefix/include/node/node_api.h" ]; then
    export npm_config_nodedir=$prefix
  else
    log "warning: npm_config_nodedir is unset and $prefix/include/node has no headers: node-gyp will try to download them"
  fi
fi

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }
for arch in $ARCHES; do
  case "$arch" in
    x64) need g++ 'apt-get install -y g++' ;;
    arm64)
      need aarch64-linux-gnu-g++ 'apt-get install -y g++-aarch64-linux-gnu'
      need aarch64-linux-gnu-strip 'apt-get install -y binutils-aarch64-linux-gnu'
      ;;
    *) die "unsupported architecture '$arch' (supported: x64 arm64)" ;;
  esac
done

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/claw-prebuild.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# A scratch copy of what node-gyp needs; node_modules is linked so binding.gyp finds node-addon-api.
stage() {
  local dir=$1
  mkdir -p "$dir"
  cp -R package.json binding.gyp native "$dir/"
  rm -rf "$dir/native/fuzz" "$dir/native/test" "$dir/native/abi"
  ln -s "$ROOT/node_modules" "$dir/node_modules"
  # binding.gyp embeds `git rev-parse` of the package's own checkout when there is one.
  if [ -e "$ROOT/.git" ]; then ln -s "$ROOT/.git" "$dir/.git"; fi
}

# build_arch ARCH: prebuildify in the scratch copy, then collect the addon and the plain library.
build_arch() {
  local arch=$1 dir="$SCRATCH/$1" strip_bin=strip
  local -a env=()
  stage "$dir"
  if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
    env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++
      AR=aarch64-linux-gnu-ar STRIP=aarch64-linux-gnu-strip)
    strip_bin=aarch64-linux-gnu-strip
  fi
  (
    cd "$dir"
    env "${env[@]}" node "$PREBUILDIFY" --napi --strip --strip-bin "$strip_bin" --tag-libc \
      --arch "$arch" --platform linux --target "node@$(node -p 'process.versions.node')" \
      --name "$NAME"
  )
  # The plain library (no Node-API references) for native hosts that dlopen with RTLD_NOW. node-gyp's
  # make generator writes shared_library targets to build/Release/lib.target/.
  local so
  so=$(find "$dir/build/Release" -name 'libclaw_byterover.so' -type f | head -n 1)
  [ -n "$so" ] || die "$arch: build/Release has no libclaw_byterover.so (binding.gyp must build the plain library)"
  cp "$so" "$dir/prebuilds/linux-$arch/libclaw_byterover.so"
  "$strip_bin" --strip-all "$dir/prebuilds/linux-$arch/libclaw_byterover.so"
}

declare -A pids=()
for arch in $ARCHES; do
  log "building linux-$arch"
  build_arch "$arch" >"$SCRATCH/$arch.log" 2>&1 &
  pids[$arch]=$!
done
failed=''
for arch in $ARCHES; do
  if ! wait "${pids[$arch]}"; then
    failed="$failed $arch"
    log "linux-$arch failed; its log follows"
    tail -n 60 "$SCRATCH/$arch.log" >&2
  fi
done
[ -z "$failed" ] || die "build failed for:$failed"

# Check what was built before replacing anything in the package.
expect_machine() { # FILE MACHINE
  local m
  m=$(readelf -h "$1" | sed -n 's/^ *Machine: *//p')
  [ "$m" = "$2" ] || die "$1: machine is '$m', expected '$2'"
  if readelf -S -W "$1" | grep -q '\.symtab'; then die "$1 is not stripped"; fi
  if readelf -d "$1" | grep -Eq 'BIND_NOW|FLAGS.*\bNOW\b'; then die "$1 is linked with BIND_NOW"; fi
}
for arch in $ARCHES; do
  dir="$SCRATCH/$arch/prebuilds/linux-$arch"
  case "$arch" in x64) machine='Advanced Micro Devices X86-64' ;; arm64) machine='AArch64' ;; esac
  expect_machine "$dir/$NAME.glibc.node" "$machine"
  expect_machine "$dir/libclaw_byterover.so" "$machine"
  if nm -D --undefined-only "$dir/libclaw_byterover.so" | grep -q ' napi_'; then
    die "$dir/libclaw_byterover.so references Node-API symbols; the plain library must not"
  fi
  rm -rf "$OUT/prebuilds/linux-$arch"
  mkdir -p "$OUT/prebuilds"
  cp -R "$dir" "$OUT/prebuilds/linux-$arch"
done

for arch in $ARCHES; do
  for f in "$OUT/prebuilds/linux-$arch"/*; do
    log "$(printf '%-60s %8d bytes' "${f#"$OUT"/}" "$(stat -c %s "$f")")"
  done
done
