#!/usr/bin/env bash
# CI's WebAssembly step (run by .ci/run after `cargo test`): installs what the wasm build needs
# when missing, builds it (wasm/build.sh), and checks that the browser build's outputs are
# byte-identical to the native ones (wasm/check-identical.mjs) on a representative subset of
# the shipped scenarios: a plain web run, an IPVS director (NAT), VRRP failover, DNS, and
# directors configured by keepalived.conf files (with includes) handed over in memory.
#   wasm/ci.sh          the subset (CI)
#   wasm/ci.sh --all    every shipped scenario (the longer check; see README.md)
# Then it builds the playground page and runs its browser test (tests/it/playground.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }')" != "$want" ]; then
  # Not --locked: the CLI's own lock file may name crate versions the registry mirror lacks.
  # --debug: it compiles in a quarter of the CPU time (110 s against 445 s on 2 cores) and
  # writes the same bindings, in a few seconds.
  cargo install --debug wasm-bindgen-cli --version "$want"
fi
if ! command -v node >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs
fi
bash wasm/build.sh
cargo build --bin netlab
if [ "${1:-}" = "--all" ]; then
  scenarios=(scenarios/*.ron)
else
  scenarios=(scenarios/00-hello-web.ron scenarios/l4-nat.ron scenarios/vrrp-failover.ron
    scenarios/dns-rr.ron scenarios/vrrp-keepalived.ron)
fi
node wasm/check-identical.mjs --pkg wasm/pkg --netlab target/debug/netlab "${scenarios[@]}"
# The playground page (wasm/playground/): built with its browser bindings, then opened in
# headless chromium by tests/it/playground.rs, which must not skip here.
bash wasm/playground/build.sh
NETLAB_PLAYGROUND=required cargo test --test it playground
