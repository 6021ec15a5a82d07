/* Parsing of ECS API JSON answers into plain structs (pure; bounded; jansson). */
#pragma once

#include <jansson.h>

#include "base/macro.h"

#define ECSPARSE_MAX_ITEMS 1000
#define ECSPARSE_MAX_STRING 4096                        /* bytes of any string field... */
#define ECSPARSE_MAX_PUBLIC_KEY (16U * 1024U)           /* ...but PublicKey */
#define ECSPARSE_MAX_USER_DATA (96U * 1024U)            /* ...and UserData (ECS: 32 KB) */
#define ECSPARSE_MAX_JSON_BYTES (8U * 1024U * 1024U)    /* an answer */

/* Every parser below returns -EBADMSG for a root that is not an object, a member of the wrong
 * type, a string past its cap or an array past ECSPARSE_MAX_ITEMS; arrays may be missing or empty
 * (zero items, *ret NULL). Counts and booleans are accepted as numbers or strings ("2", "true"). */

struct ecs_instance {
        char *instance_id;
        char *status;           /* "Running", "Stopped", ... */
        char *os_type;          /* "linux" / "windows" (lower-cased) */
        char *key_pair_name;    /* NULL when none */
        char *start_time;       /* as given, e.g. "2017-12-10T04:04Z"; NULL when absent */
        char *region_id;
};

struct ecs_keypair {
        char *name;
        char *public_key;       /* NULL when absent */
};

struct ecs_detach_result {
        char *instance_id;
        char *code;
        char *message;
        bool success;           /* Code == "200" (Success as string or bool is accepted too) */
};

/* DescribeCloudAssistantStatus: is the instance's agent online (a heartbeat in 2 minutes)? */
struct ecs_agent_status {
        char *instance_id;
        bool online;
};

/* DescribeInvocationResults: one instance's run of a command. */
struct ecs_invocation_result {
        char *instance_id;
        char *status;           /* InvocationStatus: Pending, Running, Success, Failed, Timeout, ... */
        unsigned exit_code;
        char *output;           /* base64, as the API sends it by default; NULL when absent */
        char *error_code;       /* NULL when empty */
};

struct ecs_status {
        char *instance_id;
        char *status;
};

/* DescribeLaunchTemplates: one template (no key pair at this level). */
struct ecs_launch_template {
        char *id;
        char *name;             /* NULL when absent */
        unsigned default_version;
        unsigned latest_version;
};

/* DescribeLaunchTemplateVersions (DetailFlag=true): one version of one template. */
struct ecs_template_version {
        unsigned number;
        bool is_default;
        char *key_pair_name;    /* LaunchTemplateData.KeyPairName; NULL when none */
        char *user_data;        /* LaunchTemplateData.UserData (Base64); NULL when none */
};

/* DescribeScalingConfigurations (ESS): one scaling configuration. */
struct ecs_scaling_config {
        char *id;
        char *group_id;         /* NULL when absent */
        char *key_pair_name;    /* NULL when none */
        char *user_data;        /* Base64; NULL when none */
        bool active;            /* LifecycleState Active (used for new instances) */
};

/* Parses text (len bytes) into a JSON object (duplicate keys rejected); -EBADMSG when it is not
 * one (NULL or empty included), -EMSGSIZE past ECSPARSE_MAX_JSON_BYTES. */
int ecsparse_json(const char *text, size_t len, json_t **ret);

/* Error answer: sets *ret_code (NULL when the body has no Code; a numeric Code is formatted) and
 * *ret_message (NULL when absent). */
int ecsparse_error(json_t *root, char **ret_code, char **ret_message);

/* RequestId of any answer, or NULL. Borrowed from root. */
const char *ecsparse_request_id(json_t *root);

/* DescribeInstances page; *ret_next_token NULL when absent or empty. InstanceId, Status, OSType
 * and RegionId are required. */
int ecsparse_instances(json_t *root, struct ecs_instance **ret, size_t *ret_n, char **ret_next_token);

/* TotalCount of a paged answer (0 when absent). */
int ecsparse_total_count(json_t *root, unsigned *ret);
/* DescribeKeyPairs page; *ret_total is TotalCount (0 when absent). */
int ecsparse_keypairs(json_t *root, struct ecs_keypair **ret, size_t *ret_n, unsigned *ret_total);

/* DescribeRegions: NULL-terminated RegionId list (empty, not NULL, when there are none). */
int ecsparse_regions(json_t *root, char ***ret);

/* DetachKeyPair: returns 1 with per-instance results, 0 for the old RequestId-only answer (no
 * Results; a body without Results nor RequestId is -EBADMSG). A result without Code nor Success
 * counts as failed. */
int ecsparse_detach(json_t *root, struct ecs_detach_result **ret, size_t *ret_n);

/* DescribeInstanceStatus page; *ret_total is TotalCount (0 when absent). */
int ecsparse_instance_status(json_t *root, struct ecs_status **ret, size_t *ret_n, unsigned *ret_total);

/* Cloud Assistant output is kept to its tail by the agent (24 KB); base64 of that, with room. */
#define ECSPARSE_MAX_OUTPUT (64U * 1024U)

/* DescribeCloudAssistantStatus page; *ret_next_token NULL when absent or empty. */
int ecsparse_agent_statuses(json_t *root, struct ecs_agent_status **ret, size_t *ret_n, char **ret_next_token);
/* RunCommand: the InvokeId (required). */
int ecsparse_invoke_id(json_t *root, char **ret);
/* DescribeInvocationResults page; *ret_total is Invocation.TotalCount (0 when absent). */
int ecsparse_invocation_results(json_t *root, struct ecs_invocation_result **ret, size_t *ret_n,
                                unsigned *ret_total);
/* Whether an InvocationStatus is final (Success, Failed, Timeout, Aborted, ...). */
bool ecs_invocation_status_is_final(const char *status);

/* DescribeLaunchTemplates page; LaunchTemplateId and DefaultVersionNumber are required. */
int ecsparse_launch_templates(json_t *root, struct ecs_launch_template **ret, size_t *ret_n, unsigned *ret_total);
/* DescribeLaunchTemplateVersions page; VersionNumber is required, LaunchTemplateData may be absent
 * (no key pair). */
int ecsparse_template_versions(json_t *root, struct ecs_template_version **ret, size_t *ret_n,
                               unsigned *ret_total);
/* DescribeScalingConfigurations page; ScalingConfigurationId is required; a missing
 * LifecycleState counts as Active. */
int ecsparse_scaling_configs(json_t *root, struct ecs_scaling_config **ret, size_t *ret_n, unsigned *ret_total);

/* Free arrays returned above (NULL accepted). */
void ecs_instances_free(struct ecs_instance *a, size_t n);
/* The instance of a[] with this id, or NULL. */
const struct ecs_instance *ecs_instances_find(const struct ecs_instance *a, size_t n, const char *id);
void ecs_keypairs_free(struct ecs_keypair *a, size_t n);
void ecs_detach_results_free(struct ecs_detach_result *a, size_t n);
void ecs_statuses_free(struct ecs_status *a, size_t n);
void ecs_agent_statuses_free(struct ecs_agent_status *a, size_t n);
void ecs_invocation_results_free(struct ecs_invocation_result *a, size_t n);
void ecs_launch_templates_free(struct ecs_launch_template *a, size_t n);
void ecs_template_versions_free(struct ecs_template_version *a, size_t n);
void ecs_scaling_configs_free(struct ecs_scaling_config *a, size_t n);
