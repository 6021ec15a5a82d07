/* The user keyrevoked.service runs as: the tools judge files as the service will find them. */
#pragma once

#include <sys/types.h>

/* User= of keyrevoked.service (systemd/keyrevoke.sysusers creates it). */
#define SERVICE_USER "keyrevoke"

/* The uid whose view of the files counts: for root (a root shell, an Ansible validate:, the
 * unit's ExecReload=) the service user's when it exists; otherwise the caller's own (the service
 * itself, a build tree). */
uid_t service_user_uid(void);

/* 0 when uid can open path for reading (a directory too), else -errno. As root for another uid,
 * it opens path with that user's filesystem uid, gid and groups (as systemd's User= sets them),
 * then takes its own back; ACLs and the directories on the way count. For the caller's own uid,
 * or when the caller cannot take on another user, nothing is tried: its own open tells. */
int service_user_can_open(uid_t uid, const char *path);
