/* chorus_demo_tui: the one call of `chorus --demo` into the TUI (ui/tui.h),
 * in a file of its own: the demo's other parts know nothing of the UI. */
#include "chorus_demo.h"
#include "ui/tui.h"

int demo_tui_run(struct engine *e, const struct chorus_settings *s, const char *history,
                 const char *banner, struct clog *log, int error_fd)
{
    struct tui_config cfg = {
        .engine = e,
        .settings = s,
        .history_path = history,
        .banner = banner,
        .log = log,
        .error_fd = error_fd,
    };
    return tui_run(&cfg);
}

int demo_tui_quiet_stderr(const char *path)
{
    return tui_quiet_stderr(path);
}

void demo_tui_restore_stderr(int saved)
{
    tui_restore_stderr(saved);
}
