#!/bin/sh
# `pnpm build:images`: `turbo run images`, started without Node (each Node start took ~0.1 s of a 0.4 s warm
# build: the old wrapper's and turbo's npm launcher's). A turbo cache hit restores each layout's index.json as the
# images task wrote it, dropping the referrers added since (signatures: `scratchpack sign`). So the index is copied
# aside first; only when turbo leaves it with other bytes does build-images.mjs compare the two and put back the
# untagged entries it lost (through build-images.ts, which needs the oci package). The layouts are those of the
# directory it runs in (`pnpm build:images` runs it in the repository); the arguments go to turbo.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
layout=dist/oci # the layout the `images` tasks write (turbo.json's outputs)
before=
cleanup() { [ -z "$before" ] || rm -f "$before"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -f "$layout/index.json" ]; then
  before=$(mktemp "${TMPDIR:-/tmp}/build-images.XXXXXX") || {
    echo "build:images: cannot make a temp file in ${TMPDIR:-/tmp}: set TMPDIR to a writable folder" >&2
    exit 1
  }
  cp "$layout/index.json" "$before" || exit 1
fi
# turbo's own binary when it is where its npm package finds it (beside the `turbo` package, or hoisted), not the
# package's bin: that is a Node script that starts it (~0.1 s more).
case $(uname -m) in
  x86_64 | amd64) native=linux-64 ;;
  aarch64 | arm64) native=linux-arm64 ;;
  *) native= ;;
esac
turbo="$repo/node_modules/.bin/turbo"
if [ -n "$native" ] && [ "$(uname -s)" = Linux ] && [ -z "${TURBO_BINARY_PATH:-}" ]; then
  pkg=$(cd "$repo/node_modules/turbo" 2>/dev/null && pwd -P) || pkg=
  for candidate in ${pkg:+"$pkg/../@turbo/$native/bin/turbo"} "$repo/node_modules/@turbo/$native/bin/turbo"; do
    if [ -x "$candidate" ]; then
      turbo=$candidate
      break
    fi
  done
fi
TURBO_TELEMETRY_DISABLED=1 "$turbo" run images "$@" || exit $?
if [ -n "$before" ] && ! cmp -s "$before" "$layout/index.json"; then
  node "$repo/scripts/build-images.mjs" "$before" "$layout" || exit $?
fi
