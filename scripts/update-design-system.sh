#!/usr/bin/env bash
# Vendor the Scottish Government Design System (SG DS) into src/http/pages/assets/sgds/.
#
# Usage: scripts/update-design-system.sh VERSION      e.g. 4.2.0
#
# Fetches @scottish-government/design-system@VERSION from the npm registry with
# `npm pack` (no install, no scripts run), then replaces src/http/pages/assets/sgds/
# with only what a server-rendered site needs, keeping the package's dist/
# layout so any relative url()s in the CSS keep resolving:
#   css/design-system.min.css      minified stylesheet (source-map comment removed)
#   scripts/design-system.js       ES module; sets window.DS, exports DS; call DS.initAll()
#   images/icons/icons.stack.svg   SVG icon sprite for <svg><use href="...#name">
#   LICENSE                        MIT licence from the package
#   VERSION                        the version vendored
# Not vendored: SCSS sources, source maps, TypeScript, per-component scripts,
# document-type icons (only for the file-download component), docs and tests.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
    echo "usage: $0 VERSION   (e.g. 4.2.0)" >&2
    exit 2
fi
version="$1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/src/http/pages/assets/sgds"

tmp="$(mktemp -d /tmp/sgds-update.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# Download and unpack the exact version requested.
(cd "$tmp" && npm pack --silent "@scottish-government/design-system@$version" >/dev/null)
tar -xzf "$tmp"/scottish-government-design-system-*.tgz -C "$tmp"
pkg="$tmp/package"
dist="$pkg/dist"

# Fail early if the package layout changed.
for f in css/design-system.min.css scripts/design-system.js images/icons/icons.stack.svg; do
    [[ -f "$dist/$f" ]] || { echo "missing dist/$f in $version" >&2; exit 1; }
done
licence="$(ls "$pkg"/LICEN[CS]E* 2>/dev/null | head -n1 || true)"
[[ -n "$licence" ]] || { echo "no LICENSE file in package $version" >&2; exit 1; }

# Every url(...) in the CSS must be a data: URI or a file we vendor.
grep -oE 'url\([^)]*\)' "$dist/css/design-system.min.css" \
    | sed -E 's/^url\(["'\'']?//; s/["'\'']?\)$//' \
    | { grep -v '^data:' || true; } \
    | while read -r ref; do
        [[ "$ref" == "../images/icons/icons.stack.svg"* ]] \
            || { echo "CSS references $ref, not vendored: extend this script" >&2; exit 1; }
    done

# Build the new copy next to the old one, then swap it in.
stage="$tmp/sgds"
mkdir -p "$stage/css" "$stage/scripts" "$stage/images/icons"
# Drop the sourceMappingURL comment: maps are not vendored (avoids 404s in devtools).
sed -E 's#/\*\# sourceMappingURL=[^*]*\*/##' "$dist/css/design-system.min.css" \
    > "$stage/css/design-system.min.css"
cp "$dist/scripts/design-system.js" "$stage/scripts/design-system.js"
cp "$dist/images/icons/icons.stack.svg" "$stage/images/icons/icons.stack.svg"
cp "$licence" "$stage/LICENSE"
echo "$version" > "$stage/VERSION"

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -R "$stage" "$dest"
echo "Vendored @scottish-government/design-system@$version into ${dest#"$repo_root"/} ($(du -sh "$dest" | cut -f1))"
