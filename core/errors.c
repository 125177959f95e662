/* errors: chorus_strerror, the one name for every error code (the blocks
 * are listed in core/include/core/errors.h).
 *
 * Owns the table of blocks; it lives in the engine because the engine is
 * the one library that sees every module below it. Any thread; no state
 * but a thread's buffer for the text of an unknown code. */
#include "core/errors.h"

#include <stdio.h>
#include <string.h>

#include "audio/decoder.h"
#include "audio/import.h"
#include "audio/sink.h"
#include "audio/track_stream.h"
#include "audio/transcode.h"
#include "base/config.h"
#include "base/errcode.h"
#include "base/log.h"
#include "base/manifest.h"
#include "base/paths.h"
#include "core/cache.h"
#include "core/clientdb.h"
#include "core/cmd.h"
#include "core/engine.h"
#include "core/fetch.h"
#include "core/peers.h"
#include "core/remote.h"
#include "library/catalog.h"
#include "library/store.h"
#include "net/account.h"
#include "net/client.h"
#include "net/conn.h"
#include "net/peerlink.h"
#include "net/ticket.h"
#include "net/tls.h"
#include "net/wire.h"

static const char *errno_strerror(int err)
{
    return strerror(-err);
}

/* A module's block: its first code and the ERRCODE_BLOCK - 1 below it. */
#define BLOCK(first, module, fn)                                                                   \
    {                                                                                              \
        (first), (first)-ERRCODE_BLOCK + 1, (module), (fn)                                         \
    }

static const struct chorus_error_block blocks[] = {
    {-1, -999, "errno", errno_strerror},
    BLOCK(-1000, "manifest", manifest_strerror),
    BLOCK(-1100, "paths", paths_strerror),
    BLOCK(-1200, "config", config_strerror),
    BLOCK(-1300, "log", clog_strerror),
    BLOCK(-2000, "store", store_strerror),
    BLOCK(-2100, "catalog", catalog_strerror),
    BLOCK(-3000, "aout", aout_strerror),
    BLOCK(-3100, "tstream", tstream_strerror),
    BLOCK(-3200, "dec", dec_strerror),
    BLOCK(-4000, "transcode", transcode_strerror),
    BLOCK(-4100, "import", import_strerror),
    BLOCK(-5000, "cache", cache_strerror),
    BLOCK(-6000, "wire", wire_strerror),
    BLOCK(-6100, "tls", tls_strerror),
    BLOCK(-6200, "ticket", ticket_strerror),
    BLOCK(-6300, "account", account_strerror),
    BLOCK(-6400, "conn", conn_strerror),
    BLOCK(-6600, "client", svc_client_strerror),
    BLOCK(-6700, "fetch", fetch_strerror),
    BLOCK(-6800, "peerlink", peerlink_strerror),
    /* Reserved for the engine's modules still to come: no strerror yet. */
    BLOCK(-7000, "cmd", cmd_strerror),
    BLOCK(-7100, "clientdb", clientdb_strerror),
    BLOCK(-7200, "engine", engine_strerror),
    BLOCK(-7300, "remote", remote_strerror),
    BLOCK(-7400, "peers", peers_strerror),
};

const struct chorus_error_block *chorus_error_blocks(size_t *count)
{
    *count = sizeof(blocks) / sizeof(blocks[0]);
    return blocks;
}

const char *chorus_strerror(int err)
{
    if (err == 0)
        return "success";
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        if (err <= blocks[i].first && err >= blocks[i].last && blocks[i].fn)
            return blocks[i].fn(err);
    static _Thread_local char unknown[40];
    snprintf(unknown, sizeof(unknown), "unknown error (%d)", err);
    return unknown;
}
