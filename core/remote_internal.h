/* remote_internal: what the remote socket's two sides share (remote.c:
 * the engine's server; remote_client.c: `chorus remote`). */
#ifndef CHORUS_CORE_REMOTE_INTERNAL_H
#define CHORUS_CORE_REMOTE_INTERNAL_H

#include <stdbool.h>

#define REMOTE_LOG_MODULE "remote"

/* Connects a new AF_UNIX stream socket (close-on-exec) to path. With
 * nonblock, a listener whose backlog is full answers -EAGAIN at once
 * instead of making the caller wait; the socket stays non-blocking.
 * Returns the fd, REMOTE_EPATH when path does not fit sun_path, or -errno
 * (-ENOENT: no such file; -ECONNREFUSED: nobody listens there). */
int remote_connect_path(const char *path, bool nonblock);

/* The uid of the process at the other end of a connected UNIX socket
 * (SO_PEERCRED). Returns 0 and sets *uid, or -errno. */
int remote_peer_uid(int fd, unsigned long *uid);

#endif
