#!/usr/bin/env bash
# Puts the third-party .proto files our contracts import into .local/protodeps/.
#
# Only buf/validate/validate.proto (protovalidate) today. The Buf Schema
# Registry is not reachable from our build machines, so instead of a buf
# `deps:` entry we take the file from the protovalidate jar on Maven Central,
# which ships the .proto next to its classes. Version and content hash are
# pinned here; a mismatch fails loudly rather than compiling against a
# different set of rules. Idempotent: does nothing when the pinned file is
# already in place. See docs/adr/0003-contracts.md.
set -euo pipefail

ROOT="${GUILDHALL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
DEST="$ROOT/.local/protodeps"

PROTOVALIDATE_VERSION="1.3.0"
PROTOVALIDATE_ARTIFACT="build.buf:protovalidate:${PROTOVALIDATE_VERSION}:jar"
VALIDATE_PROTO="buf/validate/validate.proto"
VALIDATE_PROTO_SHA256="817951eab518442950f1982be24b2c3154b214b40e42f49b915cbf5181e6ee80"

target="$DEST/$VALIDATE_PROTO"
if [[ -f "$target" ]] && echo "$VALIDATE_PROTO_SHA256  $target" | sha256sum --check --status; then
  exit 0
fi

command -v mvn >/dev/null || { echo "fetch-deps: Maven (mvn) is required to fetch $PROTOVALIDATE_ARTIFACT" >&2; exit 1; }
echo "==> fetching $VALIDATE_PROTO from $PROTOVALIDATE_ARTIFACT (Maven Central)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Run outside the repo so Maven does not pick up any pom.xml of ours.
(cd "$work" && mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$PROTOVALIDATE_ARTIFACT" -DoutputDirectory="$work/jar")
unzip -q -o "$work/jar/protovalidate-${PROTOVALIDATE_VERSION}.jar" "$VALIDATE_PROTO" -d "$work/unpacked"

if ! echo "$VALIDATE_PROTO_SHA256  $work/unpacked/$VALIDATE_PROTO" | sha256sum --check --status; then
  echo "fetch-deps: $VALIDATE_PROTO from $PROTOVALIDATE_ARTIFACT does not match the pinned sha256" >&2
  echo "  expected $VALIDATE_PROTO_SHA256" >&2
  echo "  got      $(sha256sum "$work/unpacked/$VALIDATE_PROTO" | cut -d' ' -f1)" >&2
  exit 1
fi

mkdir -p "$(dirname "$target")"
# Read-only: these files are inputs, and an accidental edit would otherwise
# go unnoticed until the hash check on the next fetch.
install -m 0444 "$work/unpacked/$VALIDATE_PROTO" "$target.tmp"
mv -f "$target.tmp" "$target"
