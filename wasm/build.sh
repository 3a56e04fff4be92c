#!/usr/bin/env bash
# Builds netlab for the browser: the wasm32 library (feature `wasm`, without `native`) and its
# JavaScript bindings, made by wasm-bindgen-cli at the exact version of the wasm-bindgen crate.
#   wasm/build.sh            -> wasm/pkg (Node bindings, for wasm/check-identical.mjs)
#   wasm/build.sh TARGET DIR -> DIR (bindings for another wasm-bindgen --target, e.g.
#                               no-modules: a classic script, for the playground)
# Needs: rustup target add wasm32-unknown-unknown;
#        cargo install wasm-bindgen-cli --version <the wasm-bindgen version in Cargo.lock>
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-nodejs}
out=${2:-wasm/pkg}
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$have" != "$want" ]; then
  echo "wasm/build.sh: need wasm-bindgen-cli $want (found: ${have:-none}):" >&2
  echo "  cargo install wasm-bindgen-cli --version $want" >&2
  exit 2
fi
# `cargo rustc --crate-type cdylib`: the wasm module, without making every native build
# link a shared library too.
cargo rustc --lib --release --target wasm32-unknown-unknown \
  --no-default-features --features wasm --crate-type cdylib
wasm-bindgen --target "$target" --out-dir "$out" \
  target/wasm32-unknown-unknown/release/netlab.wasm
echo "wasm/build.sh: bindings in $out/"
