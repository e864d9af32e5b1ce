#!/usr/bin/env bash
# Binary ABI check of libclaw_byterover.so against the committed baseline in native/abi/.
#
#   scripts/abi-check.sh                 build the .so (with DWARF) from this checkout and compare
#   scripts/abi-check.sh --root DIR      build from another copy of the sources (tests use a scratch
#                                        copy with a deliberate change)
#   scripts/abi-check.sh --so FILE       compare an existing UNSTRIPPED build instead of building
#   scripts/abi-check.sh --update        regenerate the baseline deliberately (then review and commit
#                                        native/abi/)
#
# The baseline is two files, both written by --update from the same build:
#   native/abi/libclaw_byterover.abi  abidw --exported-interfaces-only: the exported functions and
#                                     every type they reach (claw_host_info, claw_plugin_info, ...)
#   native/abi/claw-structs.txt       the layout of EVERY claw_* struct the public headers
#                                     (native/include/claw/*.h) define, one member per line,
#                                     including extension structs (the recall extension's) that no
#                                     exported signature reaches
# Pass/fail rule (exit 0 = compatible):
#   1. abidiff baseline new --suppressions native/abi/append-at-end.abignore must exit 0. Any other
#      exit (4 = ABI change, 8/12 = incompatible change, 1/2 = tool error) fails. The only
#      suppressed change is a claw_* struct growing by data members appended at its end, which the
#      ABI's struct_size rule makes compatible (see native/include/claw/plugin.h, "Versioning").
#   2. Every struct of claw-structs.txt must keep each member's name, offset and type (typedefs
#      resolved); new members only after the old end. This also closes a hole in rule 1:
#      libabigail's has_data_member_inserted_at suppression hides changes to EXISTING members of a
#      struct that did not shrink (a retyped field, a changed callback signature).
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
    -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "abi-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
BASELINE=$BASELINE_DIR/libclaw_byterover.abi
STRUCTS=$BASELINE_DIR/claw-structs.txt
SUPPRESSIONS=$BASELINE_DIR/append-at-end.abignore

for t in abidw abidiff python3 readelf; do
  command -v "$t" >/dev/null || { echo "abi-check: $t not found: apt-get install -y abigail-tools python3 binutils" >&2; exit 2; }
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
ABIDW=(abidw --no-corpus-path --no-comp-dir-path --no-show-locs)
"${ABIDW[@]}" --exported-interfaces-only "$SO" >"$WORK/new.abi"
"${ABIDW[@]}" "$SO" >"$WORK/all.abi"

# structs.py dump ALL.abi INCLUDE_DIR > layout text | structs.py compare OLD.txt NEW.txt
cat >"$WORK/structs.py" <<'PY'
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

def public_structs(include_dir):
    names = set()
    for h in glob.glob(os.path.join(include_dir, "**", "*.h"), recursive=True):
        names.update(re.findall(r"\bstruct\s+(claw_\w+)\s*\{", open(h, encoding="utf-8").read()))
    return names

def dump(path, include_dir):
    public = public_structs(include_dir)
    root = ET.parse(path).getroot()
    by_id = {}
    for el in root.iter():
        i = el.get("id")
        if i is not None and i not in by_id:
            by_id[i] = el

    def describe(tid, depth=0):
        el = by_id.get(tid)
        if el is None or depth > 30:
            return "?"
        tag = el.tag
        sub = lambda t: describe(t, depth + 1)
        if tag == "type-decl":
            return el.get("name")
        if tag == "typedef-decl":
            # What a typedef stands for, not its spelling: DWARF of different translation units
            # may say `int32_t` or `int` for one member (uint64_t -> int64_t still differs).
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
        return tag

    seen = {}
    for el in root.iter("class-decl"):
        name = el.get("name", "")
        if not name.startswith("claw_") or el.get("is-declaration-only") == "yes" or name in seen:
            continue
        # Public structs only (defined in a public header; the implementation may compile its own
        # copy): an opaque handle's private definition (claw_recall_index) is not ABI.
        if name not in public:
            continue
        rows = []
        for dm in el.findall("data-member"):
            var = dm.find("var-decl")
            rows.append(f"  {dm.get('layout-offset-in-bits')} {var.get('name')}: {describe(var.get('type-id'))}")
        seen[name] = [f"struct {name} {el.get('size-in-bits')}"] + rows
    print("# Layout of every claw_* struct native/include/claw/*.h defines, from libclaw_byterover.so's")
    print("# DWARF: struct NAME SIZE-IN-BITS, then")
    print("# one member per line: OFFSET-IN-BITS NAME: TYPE (typedefs resolved). Written by")
    print("# scripts/abi-check.sh --update; compared member by member by scripts/abi-check.sh.")
    for name in sorted(seen):
        print("\n".join(seen[name]))

def parse(path):
    structs, cur = {}, None
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        if line.startswith("struct "):
            _, name, bits = line.split(" ")
            cur = structs[name] = {"bits": int(bits), "members": []}
        else:
            off, rest = line.strip().split(" ", 1)
            name, typ = rest.split(": ", 1)
            cur["members"].append((name, int(off), typ))
    return structs

def compare(old_path, new_path):
    old, new = parse(old_path), parse(new_path)
    problems = []
    for name, o in sorted(old.items()):
        n = new.get(name)
        if n is None:
            problems.append(f"struct {name}: gone from the library")
            continue
        if n["bits"] < o["bits"]:
            problems.append(f"struct {name}: shrank from {o['bits']} to {n['bits']} bits")
        for i, m in enumerate(o["members"]):
            if i >= len(n["members"]):
                problems.append(f"struct {name}: member '{m[0]}' ({m[2]} at bit {m[1]}) was removed")
            elif n["members"][i] != m:
                b = n["members"][i]
                problems.append(f"struct {name}: member {i} was '{m[0]}' ({m[2]} at bit {m[1]}), now '{b[0]}' ({b[2]} at bit {b[1]})")
        for m in n["members"][len(o["members"]):]:
            if m[1] < o["bits"]:
                problems.append(f"struct {name}: new member '{m[0]}' at bit {m[1]} is inside the old size ({o['bits']} bits)")
    for name in sorted(set(new) - set(old)):
        print(f"abi-check: new struct {name} (an addition: compatible; --update records it)")
    if problems:
        print("abi-check: FAIL: claw_* struct layout changed incompatibly:")
        for p in problems:
            print("  - " + p)
        return 1
    for name in sorted(old):
        if name in new and new[name]["bits"] > old[name]["bits"]:
            print(f"abi-check: struct {name} grew at its end ({old[name]['bits']} -> {new[name]['bits']} bits): "
                  "compatible (append-only rule)")
    return 0

if sys.argv[1] == "dump":
    dump(sys.argv[2], sys.argv[3])
else:
    sys.exit(compare(sys.argv[2], sys.argv[3]))
PY
python3 "$WORK/structs.py" dump "$WORK/all.abi" "$ROOT/native/include" >"$WORK/structs.txt"

if [ "$UPDATE" = 1 ]; then
  mkdir -p "$BASELINE_DIR"
  cp "$WORK/new.abi" "$BASELINE"
  cp "$WORK/structs.txt" "$STRUCTS"
  echo "abi-check: wrote $BASELINE and $STRUCTS from $SO"
  echo "abi-check: review \`git diff -- native/abi\` and commit it with the header change that caused it"
  exit 0
fi
for f in "$BASELINE" "$STRUCTS"; do
  [ -f "$f" ] || { echo "abi-check: no baseline at $f: run scripts/abi-check.sh --update" >&2; exit 2; }
done

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

python3 "$WORK/structs.py" compare "$STRUCTS" "$WORK/structs.txt" || status=1

if [ "$status" = 0 ]; then
  echo "abi-check: OK: $(basename "$SO") is ABI-compatible with native/abi/"
else
  echo "abi-check: an incompatible change needs a new ABI major (or undo it); to accept a change"
  echo "abi-check: deliberately, run scripts/abi-check.sh --update and commit native/abi/ with it"
fi
exit "$status"
