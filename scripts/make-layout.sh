#!/usr/bin/env bash
# Writes a small single-layer OCI image layout to DIR with the tag TAG, from nothing but
# coreutils, tar and gzip (so a workflow can seed a registry with skopeo and no network).
# Usage: scripts/make-layout.sh DIR [TAG]
set -euo pipefail
dir=${1:?usage: make-layout.sh DIR [TAG]}
tag=${2:-v1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$dir/blobs/sha256" "$work/root"
echo "hello from oci-push" > "$work/root/hello.txt"
# Fixed mtime, owner and order: the same layer digest on every run.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/root" -cf "$work/layer.tar" .
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"

store() { # store FILE -> prints digest hex and moves it under blobs/sha256
  local hex
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$dir/blobs/sha256/$hex"
  echo "$hex"
}
size() { wc -c < "$1" | tr -d ' '; }

diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
layer=$(store "$work/layer.tar.gz")
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" > "$work/config.json"
config=$(store "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$(size "$work/config.json")" "$layer" "$(size "$work/layer.tar.gz")" > "$work/manifest.json"
manifest=$(store "$work/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}' > "$dir/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$(size "$work/manifest.json")" "$tag" > "$dir/index.json"
echo "sha256:$manifest"
