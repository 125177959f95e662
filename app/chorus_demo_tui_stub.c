/* TEMPORARY, on the demo branch only: tui_run until ui/tui.c is on main.
 * Delete this file when merging with the TUI (it would clash with the
 * real tui_run). Until then `chorus --demo` says the TUI is missing and
 * `chorus --demo --headless` is the way to run the demo. */
#include <stdio.h>

#include "ui/tui.h"

int tui_run(const struct tui_config *cfg)
{
    (void)cfg;
    fprintf(stderr, "chorus: this build has no TUI yet: run chorus --demo --headless\n");
    return 1;
}
