/* The token store (SPEC §7): one store per uid, one file per provider:
 * <state_dir>/auth/<provider>.token for root and
 * <state_dir>/auth/users/<uid>/<provider>.token for any other uid
 * (docs/security.md "Multi-user model"), every file owned by root with
 * mode 0600, in root-owned directories of mode 0700. The daemon writes
 * them; a user's tokens reach only that user's workspaces.
 *
 * Files are written atomically (a temporary file in the same directory,
 * fsync, rename, fsync of the directory) and opened with O_NOFOLLOW.
 * A file that is not a regular file, not owned by root or not exactly
 * mode 0600 is refused, and the message says how to fix it. Token bytes
 * live in AuthToken, a fixed buffer wiped by auth_token_wipe() — use
 * _cleanup_auth_token_ so every path wipes it. No message produced here
 * ever contains token bytes. */
#pragma once

#include "base/error.h"

#include <sys/types.h>
#include <time.h>

/* Longest token accepted (bytes, after trimming). */
#define AUTH_TOKEN_MAX 4096u
#define AUTH_TOKEN_MODE 0600
#define AUTH_DIR_MODE 0700

typedef struct AuthToken {
        size_t len;
        /* The token, NUL-terminated; room for a trailing "\r\n" that is
         * trimmed, plus one byte to detect a file that is too long. */
        char data[AUTH_TOKEN_MAX + 4];
} AuthToken;

/* Overwrite the whole buffer (also unused bytes) and reset len. */
void auth_token_wipe(AuthToken *t);
#define _cleanup_auth_token_ _cleanup_(auth_token_wipe)

/* The length of token once one trailing "\n" (or "\r\n") is removed,
 * after checking it: not empty, at most AUTH_TOKEN_MAX bytes, no NUL,
 * CR, LF or other control character inside. The message never quotes
 * the token. */
int auth_token_check(const char *token, size_t len, size_t *ret_len, Error *err);

/* Store token (trimmed and checked as above) for provider in owner's
 * store, replacing any previous one. Creates the store's directories
 * (0700) when missing. */
int auth_store_save(const char *state_dir, uid_t owner, const char *provider, const char *token, size_t len,
                    Error *err);

/* Load the token of provider into *ret (wiped first; on failure it is
 * left wiped). -ENOENT when none is stored ("run enclave auth login
 * P"), -EPERM when the file (or the directory) is refused, with the
 * fix in err; -EBADMSG when its content is not a valid token. */
int auth_store_load(const char *state_dir, uid_t owner, const char *provider, AuthToken *ret, Error *err);

/* Remove the token of provider. Returns 1 when a file was removed, 0
 * when none was stored. A file is removed whatever its owner or mode
 * (that is how a refused file is cleaned up); a symlink is removed,
 * never followed. */
int auth_store_remove(const char *state_dir, uid_t owner, const char *provider, Error *err);

typedef enum AuthState {
        AUTH_STATE_MISSING,     /* no token stored */
        AUTH_STATE_CONFIGURED,  /* a valid token file */
        AUTH_STATE_REFUSED,     /* a file exists but would be refused */
        _AUTH_STATE_MAX,
        _AUTH_STATE_INVALID = -EINVAL,
} AuthState;

const char *auth_state_to_string(AuthState s); /* "missing", "configured", "refused" */

typedef struct AuthStatus {
        AuthState state;
        time_t mtime;       /* when the file was written; 0 when missing */
        char *problem;      /* REFUSED: why and how to fix it; else NULL */
} AuthStatus;

void auth_status_done(AuthStatus *s);

/* What `auth list` shows for provider: the file is checked exactly as
 * auth_store_load() would (its bytes are read into a wiped buffer and
 * validated), but no token leaves this function. */
int auth_store_status(const char *state_dir, uid_t owner, const char *provider, AuthStatus *ret, Error *err);
