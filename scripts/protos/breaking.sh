#!/usr/bin/env bash
# buf breaking (category FILE, configured in buf.yaml) for protos/ against a
# git ref.
#
#   scripts/protos/breaking.sh [REF]
#
# The ref is, in order: the argument; $PROTOS_AGAINST; HEAD~1 when CI=true
# (the commit before the one under test); HEAD otherwise (what is about to be
# committed, compared with the last commit). When the ref does not exist
# (a shallow clone, a first commit) or has no protos/ yet, there is nothing
# to break: the check prints why and succeeds.
#
# Both sides need buf/validate/validate.proto, which is not in git and not
# reachable on the Buf Schema Registry, so the baseline is built here as a
# buf image: `git archive REF protos` into a temporary workspace next to the
# pinned deps from .local/protodeps, then `buf build`. The working tree is
# compared with that image. Exit status: buf's (non-zero on a breaking
# change or a build error).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
BUF="${BUF:-$ROOT/node_modules/.bin/buf}"
DEPS="$ROOT/.local/protodeps"

[[ -x "$BUF" ]] || { echo "breaking: $BUF is missing; run npm ci (make lint-protos does)" >&2; exit 2; }
[[ -d "$DEPS" ]] || { echo "breaking: $DEPS is missing; run scripts/protos/fetch-deps.sh" >&2; exit 2; }

ref="${1:-${PROTOS_AGAINST:-}}"
if [[ -z "$ref" ]]; then
  if [[ "${CI:-}" == "true" ]]; then ref="HEAD~1"; else ref="HEAD"; fi
fi

if ! commit="$(git rev-parse --verify --quiet "${ref}^{commit}")"; then
  echo "buf breaking: skipped, git ref '$ref' does not exist (first commit or shallow clone)"
  exit 0
fi
if ! git cat-file -e "${commit}:protos" 2>/dev/null; then
  echo "buf breaking: skipped, $ref ($(git rev-parse --short "$commit")) has no protos/ to compare against"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/base/.local"
git archive "$commit" protos | tar -x -C "$work/base"
cp -R "$DEPS" "$work/base/.local/protodeps"
# The baseline workspace has the same shape as ours, whatever buf.yaml the
# ref had: only the module layout matters for building its image.
cat >"$work/base/buf.yaml" <<'EOF'
version: v2
modules:
  - path: protos
  - path: .local/protodeps
EOF
(cd "$work/base" && "$BUF" build protos -o "$work/base.binpb")

echo "==> buf breaking (FILE) against $ref ($(git rev-parse --short "$commit"))"
# The working tree is the input, so buf reads the rules from our buf.yaml;
# naming the module keeps the comparison to our own files.
"$BUF" breaking protos --against "$work/base.binpb"
