/* password: reading a password for a command-line program — from a
 * terminal with echo off, from the first line of standard input when it is
 * not a terminal (scripts), or from the first line of a file. Shared by
 * chorusd useradd and chorus play.
 *
 * Main thread only, before any other thread or loop runs: while echo is
 * off, SIGINT and SIGTERM restore the terminal before the process dies
 * (the saved terminal settings are the one piece of global state, because
 * a signal handler can reach nothing else). */
#ifndef CHORUS_APP_PASSWORD_H
#define CHORUS_APP_PASSWORD_H

#include <stdbool.h>

/* The password from the terminal (prompt on stderr; with confirm asked a
 * second time, "Again: ", and both must match) or, when standard input is
 * not a terminal, its first line. who names the program in error messages
 * ("chorusd useradd"). Returns a new string owned by the caller
 * (password_wipe), or NULL after a message on stderr. */
char *password_read(const char *who, const char *prompt, bool confirm);

/* The first line of the file at path (without its line end), or NULL
 * after a message on stderr naming who and path. An empty first line is
 * refused. Owned by the caller (password_wipe). */
char *password_from_file(const char *who, const char *path);

/* The password to log in as user at address: from file when given, else
 * $CHORUS_PASSWORD, else password_read with a prompt naming both. NULL
 * after a message on stderr. Owned by the caller (password_wipe). */
char *password_for_login(const char *who, const char *file, const char *user, const char *address);

/* Overwrites and frees a password (NULL is ignored). */
void password_wipe(char *s);

#endif
