#!/bin/sh
# Every #include "X/..." in a module's sources must be an allowed edge of
# the library graph (DESIGN §1, README "Layout"):
#   base    -> (nothing of Chorus)
#   library -> base
#   net     -> library, base
#   audio   -> library, base
#   core    -> net, audio, library, base      (the engine)
#   ui      -> core (the engine's API: the probes check which headers), base
#   app     -> anything (thin mains)
# These edges form no cycle. The compile probes in tests/CMakeLists.txt
# prove the include paths enforce them; this scan names them.
# Usage: edges.sh SOURCE_DIR
set -u
top=$1
bad=0
scan() { # dir, allowed prefixes...
    dir=$1
    shift
    for f in $(find "$top/$dir" -name '*.[ch]'); do
        case "$f" in
        "$top/core/base/"* | "$top/core/library/"*) [ "$dir" = core ] && continue ;;
        esac
        for used in $(grep -o '#include "[a-z]*/' "$f" | sed 's/#include "//; s#/##' | sort -u); do
            ok=0
            for a in "$@"; do [ "$used" = "$a" ] && ok=1; done
            if [ $ok -eq 0 ]; then
                echo "layering: ${f#"$top"/} includes $used/ (allowed from $dir: ${*:-nothing})"
                bad=1
            fi
        done
    done
}
scan core/base base
scan core/library library base
scan net net library base
scan audio audio library base
scan core core net audio library base
scan ui ui core base
[ $bad -eq 0 ] && echo "layering: every include is an allowed edge"
exit $bad
