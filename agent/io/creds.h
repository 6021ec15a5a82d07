/* Static credentials: systemd credential "aliyun", CredentialsFile=, environment (in that order). */
#pragma once

#include <sys/types.h>

#include "base/diag.h"

struct creds {
        char *access_key_id;
        char *access_key_secret;
        char *security_token;   /* NULL unless STS / RAM role */
        uint64_t expiration_usec; /* 0 = does not expire */
};

/* Wipes the secrets and frees. Accepts NULL. */
struct creds *creds_free(struct creds *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct creds *, creds_free);

/* Parses a credentials-file text ([profile] type = access_key, access_key_id, access_key_secret).
 * Problems go to d as path:line; -EINVAL then, -ENOENT when the profile is missing. */
int creds_parse(const char *path, const char *text, const char *profile, struct creds **ret, struct diags *d);

/* Reads a credentials file after checking it: regular, not readable/writable by group/others,
 * owned by root or allowed_uid. A refusal is one diag naming the file and the reason. */
int creds_load_file(const char *path, const char *profile, uid_t allowed_uid, struct creds **ret, struct diags *d);

/* Tries the systemd credential, then credentials_file (may be NULL), then the ALIBABA_CLOUD_*
 * environment. The systemd credential is $CREDENTIALS_DIRECTORY/aliyun (and the file the unit's
 * LoadCredential=aliyun: names must pass the same mode and owner checks); without
 * $CREDENTIALS_DIRECTORY, as root, it is that file itself, as systemd would read it. For another
 * allowed_uid than the caller's (see io/svcuser.h), that user must be able to open
 * credentials_file. *ret_source names where they came from (static string). -ENOENT when none of
 * the sources is configured (RamRole= may then apply). */
int creds_load(const char *credentials_file, const char *profile, uid_t allowed_uid, struct creds **ret,
               const char **ret_source, struct diags *d);
