#!/usr/bin/env bash
# Builds the example WebAssembly plugins from source (docs/wasm-plugins.md) into
# plugins/wasm/build/ (ignored by git): the C one with Debian's clang + lld, the Rust one with
# Debian's rustc and its wasm32 standard library. No cargo, no crates, no rustup: /usr/bin/rustc
# is named explicitly so that a rustup toolchain earlier on PATH is never what CI relies on.
# Installs the Debian packages (apt-get update once) only when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG=/usr/bin/clang
RUSTC=/usr/bin/rustc
OUT=plugins/wasm/build

have_toolchain() {
  [[ -x $CLANG && -x /usr/bin/wasm-ld && -x $RUSTC ]] && ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libcore-*.rlib >/dev/null 2>&1
}

if ! have_toolchain; then
  echo "build-wasm-plugins: installing clang lld rustc libstd-rust-dev-wasm32 (Debian packages)" >&2
  SUDO=$([[ $(id -u) -eq 0 ]] && echo "" || echo sudo)
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends clang lld rustc libstd-rust-dev-wasm32
fi

mkdir -p "$OUT"
# -nostdlib: no libc, so no imports; --no-entry: a library, not a program; --export-dynamic:
# export every function marked visibility("default") (the ABI's makai_* functions) and memory.
"$CLANG" --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic \
  -o "$OUT/sag-swell-c.wasm" plugins/wasm/c/sag_swell.c
"$RUSTC" --edition 2021 --target wasm32-unknown-unknown --crate-type cdylib -O -C strip=symbols \
  -o "$OUT/sag-swell-rust.wasm" plugins/wasm/rust/sag_swell.rs
# Test fixtures (a plugin that traps, modules that break the ABI), in C the same way.
mkdir -p "$OUT/fixtures"
for source in test/fixtures/plugins/wasm/*.c; do
  # imports-clock.c imports a function on purpose: --allow-undefined turns it into an import.
  "$CLANG" --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic -Wl,--allow-undefined \
    -o "$OUT/fixtures/$(basename "$source" .c).wasm" "$source"
done
echo "build-wasm-plugins: built $(ls "$OUT"/*.wasm "$OUT"/fixtures/*.wasm | tr '\n' ' ')" >&2
