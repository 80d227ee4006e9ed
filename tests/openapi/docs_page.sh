#!/usr/bin/env bash
# docs_page.sh — the notes server's GET /docs, opened in a real browser.
#
#   docs_page.sh NOTES CONFIG [SCREENSHOT.png]
#
# Starts NOTES (SQLite, in a temporary directory) on a free loopback port,
# opens http://127.0.0.1:PORT/docs in headless Chromium (Debian's
# chromium), lets the page fetch Swagger UI and /openapi.json from the
# server, and checks that the rendered page shows every operation of the
# document (Swagger UI's "operations-<tag>-<operationId>" blocks, with
# their method and path). With SCREENSHOT, also saves a picture of the page
# (docs/docs-page.png was made so). Exit 0, 1 with what is missing, 77
# (SKIP) without chromium or Swagger UI.
set -euo pipefail
notes=$(realpath "$1") config=$(realpath "$2") shot=${3:+$(realpath -m "$3")}
chrome=$(command -v chromium || true)
if [ -z "$chrome" ]; then
  echo "SKIP: docs_page needs chromium (Debian: chromium)"; exit 77
fi
ui=$(sed -n 's/^DI_SWAGGER_UI_DIR:PATH=//p' "$(dirname "$notes")/../../CMakeCache.txt" 2>/dev/null || true)
if [ -n "$ui" ] && [ ! -f "$ui/swagger-ui-bundle.js" ]; then
  echo "SKIP: docs_page needs Swagger UI in $ui (Debian: python3-flasgger)"; exit 77
fi
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
cd "$dir"
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  "$notes" --config "$config" --port "$port" --address 127.0.0.1 --quiet \
    2>"$dir/notes.err" & pid=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break 2
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=
done
[ -n "$pid" ] || { echo "docs_page: notes did not start:"; cat "$dir/notes.err"; exit 1; }
base="http://127.0.0.1:$port"
curl -sf "$base/openapi.json" > openapi.json
# the operations the document has: "GET /notes/{id} get_notes_id" per line
ops=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open("openapi.json"))
for path, item in d["paths"].items():
    for m, op in item.items():
        print(m.upper(), path, op["operationId"])')
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage
       --no-first-run --user-data-dir="$dir/profile" --virtual-time-budget=20000)
timeout 120 "$chrome" "${flags[@]}" --dump-dom "$base/docs" >dom.html 2>chrome.err || {
  echo "docs_page: chromium failed:"; tail -5 chrome.err; exit 1; }
missing=0 n=0
while read -r method path id; do
  n=$((n + 1))
  # the block of the operation, then its method and path inside it
  block=$(grep -o "id=\"operations-default-$id\".*" dom.html | head -c 4000 || true)
  if [ -z "$block" ] || ! grep -q ">$method<" <<<"$block" ||
     ! grep -qF "data-path=\"$path\"" <<<"$block"; then
    echo "docs_page: $method $path ($id) is not on the rendered page"
    missing=$((missing + 1))
  fi
done <<<"$ops"
if [ "$missing" -ne 0 ] || [ "$n" -eq 0 ]; then
  echo "docs_page: $missing of $n operations missing"; exit 1
fi
echo "docs_page: all $n operations of /openapi.json rendered by Swagger UI at /docs"
if [ -n "$shot" ]; then
  timeout 120 "$chrome" "${flags[@]}" --hide-scrollbars --window-size=1200,1500 \
    --screenshot="$shot" "$base/docs" 2>>chrome.err
  echo "docs_page: screenshot in $shot"
fi
