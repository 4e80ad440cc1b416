#!/usr/bin/env bash
# Installs Debian's chromium and the Noto CJK fonts when missing, for the console's end-to-end
# tests (Playwright drives /usr/bin/chromium: no browser is downloaded at run time) and for the
# Chinese labels of the PNG charts (matplotlib finds Noto Sans CJK). Idempotent: apt runs only
# when something is missing. Prints the browser's path as the last line of its output.
#
#   CROSSBORDER_CHROMIUM="$(bash scripts/chromium.sh | tail -n1)"
set -euo pipefail

CHROMIUM="${CROSSBORDER_CHROMIUM:-/usr/bin/chromium}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

have_cjk_font() {
    fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'
}

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
have_cjk_font || missing+=(fonts-noto-cjk)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages …" >&2
    started=$SECONDS
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium fonts-noto-cjk >&2
    echo "installed ${missing[*]} in $((SECONDS - started)) s" >&2
fi
[ -x "$CHROMIUM" ] || { echo "no chromium at $CHROMIUM after installing" >&2; exit 1; }
"$CHROMIUM" --version >&2 2>/dev/null || true
echo "$CHROMIUM"
