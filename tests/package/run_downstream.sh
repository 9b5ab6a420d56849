#!/usr/bin/env bash
# Installs vtrans from the build tree into a temporary prefix, then configures, builds and runs the
# downstream project against it with find_package(vtrans), three times:
#   1. as installed: the core and vtrans::sentencepiece
#   2. on a machine without SentencePiece (hidden from find_package): the core alone
#   3. without a dependency of the core (nlohmann_json hidden): vtrans is "not found" and the
#      consumer's configure carries on
set -euo pipefail
build_dir="$1"; source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
downstream="$source_dir/tests/package/downstream"
spm="$source_dir/tests/data/text/sentencepiece"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
configure() {  # configure <name> [cmake options...]
  local name="$1"; shift
  cmake -S "$downstream" -B "$work/$name" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release "$@" > "$work/$name.log" 2>&1 ||
    { cat "$work/$name.log"; echo "downstream ($name): configure failed" >&2; exit 1; }
}
expect() {  # expect <name> <what the output must contain> <command...>
  local name="$1" want="$2"; shift 2
  local out
  out="$("$@")"
  echo "$name: $out"
  grep -qF -- "$want" <<<"$out" || { echo "downstream ($name): expected \"$want\"" >&2; exit 1; }
}

configure full
configure core -DCMAKE_DISABLE_FIND_PACKAGE_SentencePiece=ON
cmake --build "$work/full" > "$work/full-build.log" 2>&1 & full_build=$!
cmake --build "$work/core" > "$work/core-build.log" 2>&1 || { cat "$work/core-build.log"; exit 1; }
wait "$full_build" || { cat "$work/full-build.log"; exit 1; }
expect full "sentencepiece: sentencepiece, " "$work/full/downstream" "$spm"
expect core "sentencepiece: unavailable: " "$work/core/downstream" "$spm"
grep -q "SentencePiece not found" "$work/core.log" || { echo "downstream (core): no message about SentencePiece" >&2; exit 1; }

configure no-json -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON
grep -q "downstream: vtrans not found: vtrans needs nlohmann_json" "$work/no-json.log" ||
  { cat "$work/no-json.log"; echo "downstream (no-json): expected vtrans to be reported missing" >&2; exit 1; }
echo "no-json: configure carried on: $(grep -o -m1 'vtrans needs [^(]*' "$work/no-json.log")"
echo "downstream: all configurations passed"
