#!/usr/bin/env bash
# Binary ABI check of libclaw_byterover.so against the committed libabigail baseline.
#
#   scripts/abi-check.sh                 build the .so (with DWARF) from this checkout and compare
#   scripts/abi-check.sh --root DIR      build from another copy of the sources (tests use a scratch
#                                        copy with a deliberate change)
#   scripts/abi-check.sh --so FILE       compare an existing UNSTRIPPED build instead of building
#   scripts/abi-check.sh --update        regenerate the baseline deliberately (then review and commit
#                                        native/abi/libclaw_byterover.abi)
#
# Pass/fail rule (exit 0 = compatible):
#   1. abidiff baseline new --suppressions native/abi/append-at-end.abignore must exit 0. Any other
#      exit (4 = ABI change, 8/12 = incompatible change, 1/2 = tool error) fails. The only
#      suppressed change is a claw_* struct growing by data members appended at its end, which the
#      ABI's struct_size rule makes compatible (see native/include/claw/plugin.h, "Versioning").
#   2. libabigail's has_data_member_inserted_at suppression also hides changes to EXISTING members
#      of the same struct when its size does not shrink (a retyped field, a changed callback
#      signature). So a second, fail-closed check compares every claw_* struct member by member:
#      each baseline member must keep its name, offset and type; new members only after the old end.
#
# Exit codes: 0 compatible; 1 incompatible or unexplained change; 2 usage or tool error.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$HERE
SO=''
UPDATE=0
BASELINE_DIR=$HERE/native/abi
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$(cd "$2" && pwd); shift 2 ;;
    --so) SO=$2; shift 2 ;;
    --update) UPDATE=1; shift ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "abi-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
BASELINE=$BASELINE_DIR/libclaw_byterover.abi
SUPPRESSIONS=$BASELINE_DIR/append-at-end.abignore

for t in abidw abidiff python3; do
  command -v "$t" >/dev/null || { echo "abi-check: $t not found: apt-get install -y abigail-tools python3" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/claw-abi.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ -z "$SO" ]; then
  # -O0: the DWARF types abidw reads do not depend on optimization, and it compiles faster.
  CLAW_SO_OPT=${CLAW_SO_OPT:--O0} bash "$HERE/scripts/abi-build.sh" --root "$ROOT" --out "$WORK" so
  SO=$WORK/libclaw_byterover.so
fi
[ -f "$SO" ] || { echo "abi-check: $SO does not exist" >&2; exit 2; }
if ! readelf -S -W "$SO" | grep -q '\.debug_info'; then
  echo "abi-check: $SO has no DWARF (.debug_info): compare an unstripped build (scripts/abi-build.sh so)" >&2
  exit 2
fi

# Stable output: no absolute paths, no source line numbers (comment edits must not churn it).
abidw --no-corpus-path --no-comp-dir-path --no-show-locs "$SO" >"$WORK/new.abi"

if [ "$UPDATE" = 1 ]; then
  mkdir -p "$BASELINE_DIR"
  cp "$WORK/new.abi" "$BASELINE"
  echo "abi-check: wrote $BASELINE from $SO"
  echo "abi-check: review \`git diff -- native/abi\` and commit it with the header change that caused it"
  exit 0
fi
[ -f "$BASELINE" ] || { echo "abi-check: no baseline at $BASELINE: run scripts/abi-check.sh --update" >&2; exit 2; }

explain() {
  local rc=$1 what=''
  [ $((rc & 1)) = 0 ] || what="$what tool-error"
  [ $((rc & 2)) = 0 ] || what="$what usage-error"
  [ $((rc & 4)) = 0 ] || what="$what abi-change"
  [ $((rc & 8)) = 0 ] || what="$what incompatible-change"
  echo "${what# }"
}

status=0
set +e
abidiff --suppressions "$SUPPRESSIONS" "$BASELINE" "$WORK/new.abi" >"$WORK/suppressed.txt" 2>&1
rc_s=$?
abidiff "$BASELINE" "$WORK/new.abi" >"$WORK/full.txt" 2>&1
rc_f=$?
set -e

if [ "$rc_s" != 0 ]; then
  echo "abi-check: FAIL: abidiff exit $rc_s ($(explain "$rc_s")) against native/abi/libclaw_byterover.abi"
  cat "$WORK/suppressed.txt"
  status=1
elif [ "$rc_f" != 0 ]; then
  echo "abi-check: abidiff found changes only in the append-at-end suppression ($(explain "$rc_f") without it):"
  sed 's/^/  | /' "$WORK/full.txt"
fi

# Member-by-member check of every claw_* struct (see rule 2 above).
if ! python3 - "$BASELINE" "$WORK/new.abi" <<'PY'; then status=1; fi
import sys
import xml.etree.ElementTree as ET

def load(path):
    root = ET.parse(path).getroot()
    by_id = {}
    for el in root.iter():
        i = el.get("id")
        if i is not None and i not in by_id:
            by_id[i] = el
    structs = {}
    for el in root.iter("class-decl"):
        name = el.get("name", "")
        if name.startswith("claw_") and el.get("is-declaration-only") != "yes" and name not in structs:
            structs[name] = el
    return by_id, structs

def describe(by_id, tid, depth=0):
    el = by_id.get(tid)
    if el is None or depth > 20:
        return "?" + str(tid)
    tag = el.tag
    sub = lambda t: describe(by_id, t, depth + 1)
    if tag == "type-decl":
        return el.get("name")
    if tag == "typedef-decl":
        # Compare what a typedef stands for, not its spelling: DWARF of different translation units
        # may say `int32_t` or `int` for the same member (uint64_t -> int64_t still differs).
        return sub(el.get("type-id"))
    if tag == "pointer-type-def":
        return sub(el.get("type-id")) + "*"
    if tag == "reference-type-def":
        return sub(el.get("type-id")) + "&"
    if tag == "qualified-type-def":
        q = [k for k in ("const", "volatile", "restrict") if el.get(k) == "yes"]
        return " ".join(q + [sub(el.get("type-id"))])
    if tag in ("class-decl", "union-decl", "enum-decl"):
        return tag.split("-")[0] + " " + el.get("name", "")
    if tag == "array-type-def":
        return sub(el.get("type-id")) + "[" + str(el.get("size-in-bits")) + " bits]"
    if tag == "function-type":
        params = [sub(p.get("type-id")) if p.get("type-id") else "..." for p in el.findall("parameter")]
        ret = el.find("return")
        return "(fn(" + ", ".join(params) + ") -> " + (sub(ret.get("type-id")) if ret is not None else "void") + ")"
    return tag + ":" + str(tid)

def members(by_id, el):
    out = []
    for dm in el.findall("data-member"):
        var = dm.find("var-decl")
        out.append((var.get("name"), int(dm.get("layout-offset-in-bits")), describe(by_id, var.get("type-id"))))
    return out

old_ids, old = load(sys.argv[1])
new_ids, new = load(sys.argv[2])
problems = []
for name, el in sorted(old.items()):
    if name not in new:
        problems.append(f"struct {name}: no longer reachable from the exported functions")
        continue
    a, b = members(old_ids, el), members(new_ids, new[name])
    old_bits, new_bits = int(el.get("size-in-bits")), int(new[name].get("size-in-bits"))
    if new_bits < old_bits:
        problems.append(f"struct {name}: shrank from {old_bits} to {new_bits} bits")
    for i, m in enumerate(a):
        if i >= len(b):
            problems.append(f"struct {name}: member '{m[0]}' ({m[2]} at bit {m[1]}) was removed")
        elif b[i] != m:
            problems.append(f"struct {name}: member {i} was '{m[0]}' ({m[2]} at bit {m[1]}), "
                            f"now '{b[i][0]}' ({b[i][2]} at bit {b[i][1]})")
    for m in b[len(a):]:
        if m[1] < old_bits:
            problems.append(f"struct {name}: new member '{m[0]}' at bit {m[1]} is inside the old size ({old_bits} bits)")
for name in sorted(set(new) - set(old)):
    print(f"abi-check: new struct {name} (additions are compatible)")
if problems:
    print("abi-check: FAIL: claw_* struct layout changed incompatibly:")
    for p in problems:
        print("  - " + p)
    sys.exit(1)
grown = [n for n in old if n in new and int(new[n].get("size-in-bits")) > int(old[n].get("size-in-bits"))]
for n in sorted(grown):
    print(f"abi-check: struct {n} grew at its end "
          f"({old[n].get('size-in-bits')} -> {new[n].get('size-in-bits')} bits): compatible (append-only rule)")
PY

if [ "$status" = 0 ]; then
  echo "abi-check: OK: $(basename "$SO") is ABI-compatible with native/abi/libclaw_byterover.abi"
else
  echo "abi-check: if this change is intended, it needs a new ABI major (or fix the change); to accept it"
  echo "abi-check: deliberately, run scripts/abi-check.sh --update and commit native/abi/ with the change"
fi
exit "$status"
