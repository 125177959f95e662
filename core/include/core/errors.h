/* errors: one name for every error code of Chorus (DESIGN.md §9).
 *
 * A function returns 0 or a negative code. Each module owns a block of
 * ERRCODE_BLOCK (100) codes starting at its first code (base/errcode.h),
 * and names them with its own *_strerror; chorus_strerror names any code
 * by handing it to the module that owns its block. The blocks:
 *
 *      -1 ..   -999  errno (-ENOSPC ...), from any module   strerror
 *   -1000 ..  -1099  MANIFEST_*   base/manifest.h            manifest_strerror
 *   -1100 ..  -1199  PATHS_*      base/paths.h               paths_strerror
 *   -1200 ..  -1299  CONFIG_*     base/config.h              config_strerror
 *   -1300 ..  -1399  CLOG_*       base/log.h                 clog_strerror
 *   -2000 ..  -2099  STORE_*      library/store.h            store_strerror
 *   -2100 ..  -2199  CATALOG_*    library/catalog.h          catalog_strerror
 *   -3000 ..  -3099  AOUT_*       audio/sink.h               aout_strerror
 *   -3100 ..  -3199  TSTREAM_*    audio/track_stream.h       tstream_strerror
 *   -3200 ..  -3299  DEC_*        audio/decoder.h            dec_strerror
 *   -4000 ..  -4099  TRANSCODE_*  audio/transcode.h          transcode_strerror
 *   -4100 ..  -4199  IMPORT_*     audio/import.h             import_strerror
 *   -5000 ..  -5099  CACHE_*      core/cache.h               cache_strerror
 *   -6000 ..  -6099  WIRE_*       net/wire.h                 wire_strerror
 *   -6100 ..  -6199  TLS_*        net/tls.h                  tls_strerror
 *   -6200 ..  -6299  TICKET_*     net/ticket.h               ticket_strerror
 *   -6300 ..  -6399  ACCOUNT_*    net/account.h              account_strerror
 *   -6400 ..  -6499  CONN_*       net/conn.h                 conn_strerror
 *   -6600 ..  -6699  CLIENT_*     net/client.h               svc_client_strerror
 *   -6700 ..  -6799  FETCH_*      core/fetch.h               fetch_strerror
 *   -6800 ..  -6899  PEERLINK_*   net/peerlink.h             peerlink_strerror
 *   -7000 ..  -7099  CMD_*        core/cmd.h                 cmd_strerror
 *   -7100 ..  -7199  CLIENTDB_*   core/clientdb.h            clientdb_strerror
 *   -7200 ..  -7299  ENGINE_*     core/engine.h              engine_strerror
 *   -7300 ..  -7399  REMOTE_*     core/remote.h              remote_strerror
 *   -7400 ..  -7499  PEERS_*      core/peers.h               peers_strerror
 * A new module takes a free block, adds it here and to the table in
 * core/errors.c; tests/test_errors.c checks that the blocks are disjoint
 * and that every declared code lies in its module's block.
 *
 * libuv's own codes that are not errno values (UV_EOF = -4095, UV_EAI_*
 * from -3000) share numbers with the blocks above: a module turns them
 * into its own code where it meets them (conn: UV_EOF is CONN_EEOF) and
 * never returns them.
 *
 * Threads: any; nothing here has state. */
#ifndef CHORUS_CORE_ERRORS_H
#define CHORUS_CORE_ERRORS_H

#include <stddef.h>

/* One block of the table: codes first >= err >= last belong to module,
 * and fn names them; fn is NULL for a reserved block whose module has no
 * strerror yet. */
struct chorus_error_block {
    int first, last;
    const char *module;
    const char *(*fn)(int err);
};

/* Text for any code: "success" for 0, the owning module's text for a code
 * of a block, else "unknown error (CODE)". The string is static, or for an
 * unknown code the calling thread's own buffer, valid until its next call. */
const char *chorus_strerror(int err);

/* The table, sorted from -1 down, blocks disjoint; *count set to its length. */
const struct chorus_error_block *chorus_error_blocks(size_t *count);

#endif
