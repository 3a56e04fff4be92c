#!/usr/bin/env bash
# Builds the book and the playground as one static folder, target/site/, for a teacher to put
# on any static web host (or to open from disk: index.html):
#   target/site/              the book (mdBook's output)
#   target/site/playground/   the playground (wasm/playground/ with its built pkg/), which each
#                             lab page links to as ../playground/index.html#scenario=NAME.ron
# Installs mdbook with cargo when it is missing (a few minutes, once), and needs what
# wasm/playground/build.sh needs.
#   bash wasm/site.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mdbook >/dev/null; then
  echo "wasm/site.sh: installing mdbook (cargo install mdbook; once)" >&2
  cargo install mdbook --version "^0.4" --locked
fi
bash wasm/playground/build.sh
site=target/site
rm -rf "$site"
mdbook build book --dest-dir "../$site"
mkdir -p "$site/playground/pkg"
cp wasm/playground/index.html wasm/playground/playground.js wasm/playground/playground.css \
  "$site/playground/"
cp wasm/playground/pkg/engine.js wasm/playground/pkg/scenarios.js wasm/playground/pkg/viewer.js \
  wasm/playground/pkg/viewer.css "$site/playground/pkg/"
echo "wasm/site.sh: the book and the playground are in $site/ (open $site/index.html)"
