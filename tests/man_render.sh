#!/bin/sh
# man_render.sh PAGE...   renders each manual page and fails on any warning.
# man_render.sh --self-test   proves that each check below can fail.
#
# A page passes when:
#  - its first request is .TH TITLE SECTION ..., SECTION matching the file's
#    extension (chorus.conf.5 -> 5), and it has a NAME section that
#    lexgrog (whatis/apropos) can parse: an empty page fails;
#  - `groff -man -Tutf8 -ww -z` prints nothing on stderr (all warnings on);
#  - `man --warnings=w -l` (which also runs the preprocessors the page asks
#    for, such as tbl) prints nothing on stderr;
#  - the checks groff does not make: every font escape (\fB, \f(BI,
#    \f[CR]...) names a font a terminal has, no blank line (use .PP), no
#    trailing white space.
# Each failing page is printed with its problems; the exit status is 1 if
# any page failed, 2 on a usage error.
set -u

LC_ALL=C.UTF-8
MANPAGER=cat
MANWIDTH=80
export LC_ALL MANPAGER MANWIDTH

# The checks groff misses, one "LINE: problem" per finding.
lint() {
    awk '
    function bad(msg) { printf "%d: %s\n", NR, msg; found = 1 }
    {
        line = $0
        if (line == "") bad("blank line (use .PP for a new paragraph)")
        if (line ~ /[ \t]$/) bad("trailing white space")
        # Font escapes, outside comments; \\ is an escaped backslash.
        i = 1
        n = length(line)
        while (i < n) {
            c = substr(line, i, 1)
            if (c != "\\") { i++; continue }
            d = substr(line, i + 1, 1)
            if (d == "\"") break
            if (d != "f") { i += 2; continue }
            e = substr(line, i + 2, 1)
            if (e == "(") { font = substr(line, i + 3, 2); i += 5 }
            else if (e == "[") {
                rest = substr(line, i + 3)
                j = index(rest, "]")
                if (j == 0) { bad("unclosed font escape \\f["); break }
                font = substr(rest, 1, j - 1)
                i += 3 + j
            } else { font = e; i += 3 }
            if (font !~ /^(R|B|I|P|BI|CR|CB|CI|CW|)$/)
                bad("unknown font in escape \\f" e (e == "(" || e == "[" ? font : ""))
        }
    }
    ' "$1"
}

# Prints the problems of one page (nothing when it is clean).
check_page() {
    page=$1
    if [ ! -f "$page" ]; then
        echo "cannot read the page"
        return
    fi
    if [ ! -s "$page" ]; then
        echo "the page is empty (it needs .TH and a NAME section)"
        return
    fi
    first=$(grep -v -e '^\.\\"' -e "^'\\\\\"" "$page" | head -n 1)
    case $first in
    ".TH "*) ;;
    *) echo "the first request must be .TH TITLE SECTION, not: $first" ;;
    esac
    section=$(printf '%s\n' "$first" | awk '{ gsub(/"/, ""); print $3 }')
    ext=${page##*.}
    case $first in
    ".TH "*)
        if [ "$section" != "$ext" ]; then
            echo ".TH says section '$section' but the file name says '$ext'"
        fi
        ;;
    esac
    if ! grep -q -E '^\.SH +"?NAME"?$' "$page"; then
        echo "no NAME section (.SH NAME)"
    elif command -v lexgrog >/dev/null 2>&1 && ! lexgrog "$page" >/dev/null 2>&1; then
        echo "lexgrog cannot parse the NAME section (write: name \\- one line description)"
    fi
    groff -man -Tutf8 -ww -z "$page" 2>&1 >/dev/null
    if command -v man >/dev/null 2>&1; then
        man --warnings=w -l "$page" 2>&1 >/dev/null
    fi
    lint "$page"
    # Bytes groff would read as Latin-1 (no warning, garbled output).
    LC_ALL=C grep -n '[^[:print:][:space:]]' "$page" | sed 's/:.*/: a non-ASCII or control character: write it as an escape such as \\[u00E9]/'
    # man runs tbl only for pages that ask for it on their first line.
    if grep -q '^\.TS' "$page" && ! head -n 1 "$page" | grep -q "^'\\\\\" t"; then
        echo "the page has a table (.TS) but does not start with the line '\\\" t"
    fi
}

render() {
    status=0
    for rpage in "$@"; do
        problems=$(check_page "$rpage")
        if [ -n "$problems" ]; then
            echo "man_render: $rpage: FAILED"
            printf '%s\n' "$problems" | sed 's/^/    /'
            status=1
        else
            echo "man_render: $rpage: ok"
        fi
    done
    return $status
}

self_test() {
    dir=$(mktemp -d "${TMPDIR:-/tmp}/man_render.XXXXXX") || exit 1
    trap 'rm -rf "$dir"' EXIT
    head='.TH SAMPLE 1 2026-01-01 "Chorus" "Chorus Manual"
.SH NAME
sample \- a page for the self-test
.SH DESCRIPTION'
    printf '%s\nText in \\fBbold\\fR, \\f(BIbold italic\\fP and \\f[CR]mono\\f[].\n' \
        "$head" >"$dir/good.1"
    : >"$dir/empty.1"
    printf '.SH NAME\nsample \\- no title\n' >"$dir/no_th.1"
    printf '.TH SAMPLE 1\n.SH DESCRIPTION\nNo name.\n' >"$dir/no_name.1"
    printf '.TH SAMPLE 1\n.SH NAME\nsample\n' >"$dir/bad_name.1"
    printf '%s\n.XY\n' "$head" >"$dir/bad_request.1"
    printf '%s\nsome \\fQfont\\fR\n' "$head" >"$dir/bad_font.1"
    printf '%s\nsome \\f(XYfont\\fR\n' "$head" >"$dir/bad_font2.1"
    printf '%s\na \\[nochar] b\n' "$head" >"$dir/bad_char.1"
    printf '%s\ncaf\303\251\n' "$head" >"$dir/non_ascii.1"
    printf '%s\none\n\ntwo\n' "$head" >"$dir/blank_line.1"
    printf '%s\ntrailing \n' "$head" >"$dir/trailing.1"
    printf '%s\n.TS\nl l.\na\tb\n.TE\n' "$head" >"$dir/tbl_unasked.1"
    cp "$dir/good.1" "$dir/wrong_section.5"
    printf "'\\\\\" t\n%s\n.TS\nl l.\na\tb\n.TE\n" "$head" >"$dir/tbl.1"

    failures=0
    if ! render "$dir/good.1" "$dir/tbl.1" >"$dir/out" 2>&1; then
        cat "$dir/out"
        echo "self-test: a good page was refused"
        failures=$((failures + 1))
    fi
    for name in empty no_th no_name bad_name bad_request bad_font bad_font2 bad_char \
        non_ascii blank_line trailing tbl_unasked; do
        if render "$dir/$name.1" >"$dir/out" 2>&1; then
            echo "self-test: $name.1 was accepted"
            failures=$((failures + 1))
        else
            echo "self-test: $name.1 refused as it should be:"
            sed 's/^/    /' "$dir/out"
        fi
    done
    if render "$dir/wrong_section.5" >/dev/null 2>&1; then
        echo "self-test: wrong_section.5 was accepted"
        failures=$((failures + 1))
    fi
    if render "$dir/good.1" "$dir/bad_request.1" >/dev/null 2>&1; then
        echo "self-test: a bad page among good ones was accepted"
        failures=$((failures + 1))
    fi
    if sh "$0" >/dev/null 2>&1; [ $? -ne 2 ]; then
        echo "self-test: no arguments is not a usage error"
        failures=$((failures + 1))
    fi
    [ "$failures" -eq 0 ] && echo "self-test: passed"
    [ "$failures" -eq 0 ]
}

if [ $# -eq 0 ]; then
    echo "usage: $0 PAGE... | --self-test" >&2
    exit 2
fi
if [ "$1" = "--self-test" ]; then
    self_test
    exit $?
fi
render "$@"
