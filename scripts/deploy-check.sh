#!/usr/bin/env bash
# Builds the deploy bundle offline with `wrangler deploy --dry-run` and prints
# its raw and gzip size, file by file and in all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

outdir="$(mktemp -d)"
trap 'rm -rf "$outdir"' EXIT
wrangler deploy --dry-run --outdir "$outdir"

echo
echo "== deploy bundle (wrangler deploy --dry-run)"
raw_total=0
gz_total=0
while IFS= read -r -d '' file; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  raw_total=$((raw_total + raw))
  gz_total=$((gz_total + gz))
  printf '%-28s %9d bytes raw %9d bytes gzip\n' "${file#"$outdir"/}" "$raw" "$gz"
done < <(find "$outdir" -type f ! -name '*.map' ! -name 'README.md' -print0 | sort -z)
printf '%-28s %9d bytes raw %9d bytes gzip\n' "total" "$raw_total" "$gz_total"
# The platform's one size limit: 64 MiB uncompressed, on every plan.
limit=$((64 * 1024 * 1024))
awk -v raw="$raw_total" -v limit="$limit" \
  'BEGIN { printf "platform limit: %d bytes uncompressed; this bundle is %.2f%% of it\n", limit, 100 * raw / limit }'
