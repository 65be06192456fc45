#!/usr/bin/env bash
# Builds the browser SDK and pages: shared/web (tickwire-web) and each example game's own module
# (examples/*/web) for wasm32, then their JavaScript bindings into the git-ignored wasm/ folders
# beside the SDK (assets/web/sdk) and the games' pages (assets/web/games/GAME). Run from anywhere:
#   bash assets/web/build.sh
# The first run installs the wasm32 target and the wasm-bindgen CLI; the CLI must be exactly the
# version of the wasm-bindgen crate in Cargo.lock, or the generated bindings do not match.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

rustup target add wasm32-unknown-unknown

version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock)"
if [[ -z "$version" ]]; then
    echo "build.sh: no wasm-bindgen in Cargo.lock; run \`cargo generate-lockfile\` first" >&2
    exit 1
fi

bindgen="$(command -v wasm-bindgen || true)"
if [[ -z "$bindgen" || "$("$bindgen" --version 2>/dev/null || true)" != "wasm-bindgen $version" ]]; then
    echo "build.sh: installing wasm-bindgen-cli $version (a few minutes, once)" >&2
    # --locked builds the CLI with the dependency versions it was released with; should one of
    # them be gone from the registry (yanked), resolve afresh instead.
    # --force: also when cargo remembers an install whose binary is gone or another version.
    if ! cargo install wasm-bindgen-cli --version "$version" --locked --force; then
        echo "build.sh: the locked install failed; retrying without --locked" >&2
        cargo install wasm-bindgen-cli --version "$version" --force
    fi
    bindgen="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/wasm-bindgen"
fi

# The SDK's generic module (any game, interpolation only), then each example game's own module
# (the SDK with the game's shared step: its own player predicted), beside the game's page.
modules=(
    "tickwire-web:assets/web/sdk/wasm"
    "tickwire-arena-web:assets/web/games/arena/wasm"
    "tickwire-race-web:assets/web/games/race/wasm"
)
packages=()
for module in "${modules[@]}"; do packages+=(-p "${module%%:*}"); done
cargo build "${packages[@]}" --release --target wasm32-unknown-unknown
for module in "${modules[@]}"; do
    crate="${module%%:*}"
    out="${module#*:}"
    rm -rf "$out"
    "$bindgen" --target web --no-typescript --out-dir "$out" \
        "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/${crate//-/_}.wasm"
done

echo "build.sh: built the SDK (assets/web/sdk) and the games' pages; serve them with \`cargo run --release -p tickwire-server\` and open http://127.0.0.1:7777/"
