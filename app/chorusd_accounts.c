/* chorusd_accounts: what chorusd's user commands (useradd, revoke) share —
 * checking the user's name and opening the service's accounts.db. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "chorusd_commands.h"
#include "net/account.h"
#include "net/svc.h"

int chorusd_open_accounts(const char *cmd, const char *data_opt, const char *name, bool create,
                          struct account_db **db)
{
    *db = NULL;
    if (!account_name_valid(name)) {
        fprintf(stderr, "chorusd %s: '%s': %s\n", cmd, name, account_strerror(ACCOUNT_ENAME));
        return 2;
    }
    char *data = chorusd_data_dir(data_opt, cmd);
    if (!data)
        return 1;
    char *path = xasprintf("%s/%s", data, SVC_ACCOUNTS_NAME);
    int status = 1;
    int rc = create ? fs_mkdir_p(data, 0700) : 0;
    if (rc < 0)
        fprintf(stderr, "chorusd %s: cannot create %s: %s\n", cmd, data, fs_strerror(rc));
    else if (!create && access(path, F_OK) != 0)
        /* a command that only changes users must not make an empty database */
        fprintf(stderr, "chorusd %s: no accounts in %s (chorusd useradd makes them)\n", cmd, data);
    else if ((rc = account_open(path, db)) < 0)
        fprintf(stderr, "chorusd %s: cannot open %s: %s\n", cmd, path, account_strerror(rc));
    else
        status = 0;
    free(path);
    free(data);
    return status;
}
