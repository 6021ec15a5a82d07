/* Parsing of ECS API JSON answers into plain structs (pure; bounded; jansson). */
#include <ctype.h>
#include <limits.h>

#include "base/strutil.h"
#include "logic/ecsparse.h"

/* How one array item is parsed into (and freed from) its zeroed struct. */
struct item_type {
        size_t size;
        int (*parse)(json_t *o, void *item);
        void (*done)(void *item);
};

/* A string member: absent, null or "" give NULL unless required (then -EBADMSG); other types,
 * embedded NULs and strings longer than max give -EBADMSG. */
static int field_string(json_t *o, const char *key, bool required, size_t max, char **ret) {
        json_t *v = json_object_get(o, key);
        const char *s;
        size_t len;

        if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
                if (required)
                        return -EBADMSG;
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        s = json_string_value(v);
        len = json_string_length(v);
        if (len > max || strlen(s) != len)
                return -EBADMSG;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* Like field_string() (optional), also accepting an integer: API codes come both ways. */
static int field_code(json_t *o, const char *key, char **ret) {
        json_t *v = json_object_get(o, key);

        if (json_is_integer(v)) {
                if (asprintf(ret, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
                        return -ENOMEM;
                return 0;
        }
        return field_string(o, key, false, ECSPARSE_MAX_STRING, ret);
}

/* A count as a number or a decimal string; absent or null give 0. */
static int field_count(json_t *o, const char *key, unsigned *ret) {
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v)) {
                *ret = 0;
                return 0;
        }
        if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);
                if (i < 0 || i > UINT_MAX)
                        return -EBADMSG;
                *ret = (unsigned) i;
                return 0;
        }
        if (json_is_string(v) && parse_unsigned(json_string_value(v), 0, UINT_MAX, ret) >= 0)
                return 0;
        return -EBADMSG;
}

/* A boolean as true/false, 0/1 or a string parse_boolean() takes; 1, 0, -ENOENT when absent. */
static int field_bool(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        int r;

        if (!v || json_is_null(v))
                return -ENOENT;
        if (json_is_boolean(v))
                return json_is_true(v);
        if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
                return (int) json_integer_value(v);
        if (!json_is_string(v))
                return -EBADMSG;
        r = parse_boolean(json_string_value(v));
        return r < 0 ? -EBADMSG : r;
}

/* root.container.item as an array; a missing container or item means no items (*ret NULL). */
static int get_array(json_t *root, const char *container, const char *item, json_t **ret) {
        json_t *c, *a;

        if (!json_is_object(root))
                return -EBADMSG;
        c = json_object_get(root, container);
        if (!c || json_is_null(c)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_object(c))
                return -EBADMSG;
        a = json_object_get(c, item);
        if (a && !json_is_null(a) && (!json_is_array(a) || json_array_size(a) > ECSPARSE_MAX_ITEMS))
                return -EBADMSG;
        *ret = json_is_array(a) ? a : NULL;
        return 0;
}

static void items_free(void *a, size_t n, const struct item_type *t) {
        for (size_t i = 0; a && i < n; i++)
                t->done((char *) a + i * t->size);
        free(a);
}

/* Parses root.container.item[] into a new array of t->size structs; NULL and 0 when empty. */
static int parse_items(json_t *root, const char *container, const char *item, const struct item_type *t,
                       void **ret, size_t *ret_n) {
        json_t *array;
        size_t n;
        char *a;
        int r;

        r = get_array(root, container, item, &array);
        if (r < 0)
                return r;
        n = json_array_size(array);
        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        a = calloc(n, t->size);
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *o = json_array_get(array, i);
                r = json_is_object(o) ? t->parse(o, a + i * t->size) : -EBADMSG;
                if (r < 0) {
                        items_free(a, n, t);
                        return r;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

/* Like parse_items(), plus the page's TotalCount (0 when absent). */
static int parse_counted_items(json_t *root, const char *container, const char *item,
                               const struct item_type *t, void **ret, size_t *ret_n, unsigned *ret_total) {
        unsigned total;
        int r;

        r = field_count(root, "TotalCount", &total);
        if (r < 0)
                return r;
        r = parse_items(root, container, item, t, ret, ret_n);
        if (r < 0)
                return r;
        *ret_total = total;
        return 0;
}

int ecsparse_json(const char *text, size_t len, json_t **ret) {
        json_t *root;

        if (!text || len == 0)
                return -EBADMSG;
        if (len > ECSPARSE_MAX_JSON_BYTES)
                return -EMSGSIZE;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(root)) {
                json_decref(root);
                return -EBADMSG;
        }
        *ret = root;
        return 0;
}

int ecsparse_error(json_t *root, char **ret_code, char **ret_message) {
        _cleanup_free_ char *code = NULL, *message = NULL;
        int r;

        if (!json_is_object(root))
                return -EBADMSG;
        r = field_code(root, "Code", &code);
        if (r < 0)
                return r;
        r = field_string(root, "Message", false, ECSPARSE_MAX_STRING, &message);
        if (r < 0)
                return r;
        *ret_code = TAKE_PTR(code);
        *ret_message = TAKE_PTR(message);
        return 0;
}

const char *ecsparse_request_id(json_t *root) {
        json_t *v = json_object_get(root, "RequestId");
        const char *s;
        size_t len;

        if (!json_is_string(v))
                return NULL;
        s = json_string_value(v);
        len = json_string_length(v);
        if (len == 0 || len > ECSPARSE_MAX_STRING || strlen(s) != len)
                return NULL;
        return s;
}

static int instance_parse(json_t *o, void *item) {
        struct ecs_instance *i = item;
        int r;

        r = field_string(o, "InstanceId", true, ECSPARSE_MAX_STRING, &i->instance_id);
        if (r >= 0)
                r = field_string(o, "Status", true, ECSPARSE_MAX_STRING, &i->status);
        if (r >= 0)
                r = field_string(o, "OSType", true, ECSPARSE_MAX_STRING, &i->os_type);
        if (r >= 0)
                r = field_string(o, "KeyPairName", false, ECSPARSE_MAX_STRING, &i->key_pair_name);
        if (r >= 0)
                r = field_string(o, "StartTime", false, ECSPARSE_MAX_STRING, &i->start_time);
        if (r >= 0)
                r = field_string(o, "RegionId", true, ECSPARSE_MAX_STRING, &i->region_id);
        if (r < 0)
                return r;
        for (char *c = i->os_type; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        return 0;
}

static void instance_done(void *item) {
        struct ecs_instance *i = item;

        free(i->instance_id);
        free(i->status);
        free(i->os_type);
        free(i->key_pair_name);
        free(i->start_time);
        free(i->region_id);
}

static const struct item_type instance_type = {
        sizeof(struct ecs_instance), instance_parse, instance_done
};

int ecsparse_total_count(json_t *root, unsigned *ret) {
        if (!json_is_object(root))
                return -EBADMSG;
        return field_count(root, "TotalCount", ret);
}

int ecsparse_instances(json_t *root, struct ecs_instance **ret, size_t *ret_n, char **ret_next_token) {
        _cleanup_free_ char *token = NULL;
        void *a;
        size_t n;
        int r;

        r = field_string(root, "NextToken", false, ECSPARSE_MAX_STRING, &token);
        if (r < 0)
                return r;
        r = parse_items(root, "Instances", "Instance", &instance_type, &a, &n);
        if (r < 0)
                return r;
        *ret = a;
        *ret_n = n;
        *ret_next_token = TAKE_PTR(token);
        return 0;
}

static int keypair_parse(json_t *o, void *item) {
        struct ecs_keypair *k = item;
        int r;

        r = field_string(o, "KeyPairName", true, ECSPARSE_MAX_STRING, &k->name);
        if (r < 0)
                return r;
        return field_string(o, "PublicKey", false, ECSPARSE_MAX_PUBLIC_KEY, &k->public_key);
}

static void keypair_done(void *item) {
        struct ecs_keypair *k = item;

        free(k->name);
        free(k->public_key);
}

static const struct item_type keypair_type = { sizeof(struct ecs_keypair), keypair_parse, keypair_done };

int ecsparse_keypairs(json_t *root, struct ecs_keypair **ret, size_t *ret_n, unsigned *ret_total) {
        void *a;
        int r;

        r = parse_counted_items(root, "KeyPairs", "KeyPair", &keypair_type, &a, ret_n, ret_total);
        if (r >= 0)
                *ret = a;
        return r;
}

static int region_parse(json_t *o, void *item) {
        return field_string(o, "RegionId", true, ECSPARSE_MAX_STRING, item);
}

static void region_done(void *item) {
        free(*(char **) item);
}

static const struct item_type region_type = { sizeof(char *), region_parse, region_done };

int ecsparse_regions(json_t *root, char ***ret) {
        void *a;
        size_t n;
        char **l;
        int r;

        r = parse_items(root, "Regions", "Region", &region_type, &a, &n);
        if (r < 0)
                return r;
        /* room for the terminating NULL */
        l = reallocarray(a, n + 1, sizeof(char *));
        if (!l) {
                items_free(a, n, &region_type);
                return -ENOMEM;
        }
        l[n] = NULL;
        *ret = l;
        return 0;
}

static int detach_result_parse(json_t *o, void *item) {
        struct ecs_detach_result *d = item;
        int r;

        r = field_string(o, "InstanceId", true, ECSPARSE_MAX_STRING, &d->instance_id);
        if (r >= 0)
                r = field_code(o, "Code", &d->code);
        if (r >= 0)
                r = field_string(o, "Message", false, ECSPARSE_MAX_STRING, &d->message);
        if (r < 0)
                return r;
        r = field_bool(o, "Success");
        if (r < 0 && r != -ENOENT)
                return r;
        /* Code decides; Success only when there is no Code; neither means failure */
        d->success = d->code ? streq(d->code, "200") : r == 1;
        return 0;
}

static void detach_result_done(void *item) {
        struct ecs_detach_result *d = item;

        free(d->instance_id);
        free(d->code);
        free(d->message);
}

static const struct item_type detach_result_type = {
        sizeof(struct ecs_detach_result), detach_result_parse, detach_result_done
};

int ecsparse_detach(json_t *root, struct ecs_detach_result **ret, size_t *ret_n) {
        void *a;
        size_t n;
        int r;

        if (!json_is_object(root))
                return -EBADMSG;
        if (!json_object_get(root, "Results")) {
                /* the old answer: RequestId only, success of the whole batch */
                if (!ecsparse_request_id(root))
                        return -EBADMSG;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = parse_items(root, "Results", "Result", &detach_result_type, &a, &n);
        if (r < 0)
                return r;
        *ret = a;
        *ret_n = n;
        return 1;
}

static int status_parse(json_t *o, void *item) {
        struct ecs_status *s = item;
        int r;

        r = field_string(o, "InstanceId", true, ECSPARSE_MAX_STRING, &s->instance_id);
        if (r < 0)
                return r;
        return field_string(o, "Status", true, ECSPARSE_MAX_STRING, &s->status);
}

static void status_done(void *item) {
        struct ecs_status *s = item;

        free(s->instance_id);
        free(s->status);
}

static const struct item_type status_type = { sizeof(struct ecs_status), status_parse, status_done };

int ecsparse_instance_status(json_t *root, struct ecs_status **ret, size_t *ret_n, unsigned *ret_total) {
        void *a;
        int r;

        r = parse_counted_items(root, "InstanceStatuses", "InstanceStatus", &status_type, &a, ret_n,
                                ret_total);
        if (r >= 0)
                *ret = a;
        return r;
}

/* ---- Cloud Assistant ---------------------------------------------------------------------- */

static int agent_status_parse(json_t *o, void *item) {
        struct ecs_agent_status *a = item;
        int r = field_string(o, "InstanceId", true, ECSPARSE_MAX_STRING, &a->instance_id);

        if (r < 0)
                return r;
        r = field_bool(o, "CloudAssistantStatus");
        a->online = r > 0;
        return r == -ENOENT ? 0 : r < 0 ? r : 0;
}

static void agent_status_done(void *item) {
        free(((struct ecs_agent_status *) item)->instance_id);
}

static const struct item_type agent_status_type = {
        sizeof(struct ecs_agent_status), agent_status_parse, agent_status_done
};

int ecsparse_agent_statuses(json_t *root, struct ecs_agent_status **ret, size_t *ret_n, char **ret_next_token) {
        _cleanup_free_ char *token = NULL;
        void *a;
        size_t n;
        int r;

        r = field_string(root, "NextToken", false, ECSPARSE_MAX_STRING, &token);
        if (r >= 0)
                r = parse_items(root, "InstanceCloudAssistantStatusSet", "InstanceCloudAssistantStatus",
                                &agent_status_type, &a, &n);
        if (r < 0)
                return r;
        *ret = a;
        *ret_n = n;
        *ret_next_token = TAKE_PTR(token);
        return 0;
}

int ecsparse_invoke_id(json_t *root, char **ret) {
        if (!json_is_object(root))
                return -EBADMSG;
        return field_string(root, "InvokeId", true, ECSPARSE_MAX_STRING, ret);
}

static int invocation_result_parse(json_t *o, void *item) {
        struct ecs_invocation_result *i = item;
        json_t *code = json_object_get(o, "ExitCode");
        int r;

        r = field_string(o, "InstanceId", true, ECSPARSE_MAX_STRING, &i->instance_id);
        if (r >= 0)
                r = field_string(o, "InvocationStatus", true, ECSPARSE_MAX_STRING, &i->status);
        if (r >= 0)
                r = field_string(o, "Output", false, ECSPARSE_MAX_OUTPUT, &i->output);
        if (r >= 0)
                r = field_string(o, "ErrorCode", false, ECSPARSE_MAX_STRING, &i->error_code);
        if (r < 0)
                return r;
        /* A process killed by a signal may report a negative code: anything but 0 is a failure. */
        if (json_is_integer(code))
                i->exit_code = json_integer_value(code) == 0 ? 0 : 255;
        else
                r = field_count(o, "ExitCode", &i->exit_code);
        return r;
}

static void invocation_result_done(void *item) {
        struct ecs_invocation_result *i = item;

        free(i->instance_id);
        free(i->status);
        free(i->output);
        free(i->error_code);
}

static const struct item_type invocation_result_type = {
        sizeof(struct ecs_invocation_result), invocation_result_parse, invocation_result_done
};

int ecsparse_invocation_results(json_t *root, struct ecs_invocation_result **ret, size_t *ret_n,
                                unsigned *ret_total) {
        json_t *inv = json_is_object(root) ? json_object_get(root, "Invocation") : NULL;
        void *a = NULL;
        size_t n = 0;
        int r;

        if (!json_is_object(root) || (inv && !json_is_object(inv)))
                return -EBADMSG;
        if (inv) {
                r = parse_counted_items(inv, "InvocationResults", "InvocationResult", &invocation_result_type, &a,
                                        &n, ret_total);
                if (r < 0)
                        return r;
        } else
                *ret_total = 0;
        *ret = a;
        *ret_n = n;
        return 0;
}

/* ---- launch sources ------------------------------------------------------------------------ */

/* A count that must be there and be at least 1 (a version number). */
static int field_number(json_t *o, const char *key, unsigned *ret) {
        int r = field_count(o, key, ret);

        if (r < 0)
                return r;
        return *ret > 0 ? 0 : -EBADMSG;
}

static int launch_template_parse(json_t *o, void *item) {
        struct ecs_launch_template *t = item;
        int r;

        r = field_string(o, "LaunchTemplateId", true, ECSPARSE_MAX_STRING, &t->id);
        if (r >= 0)
                r = field_string(o, "LaunchTemplateName", false, ECSPARSE_MAX_STRING, &t->name);
        if (r >= 0)
                r = field_number(o, "DefaultVersionNumber", &t->default_version);
        if (r >= 0)
                r = field_count(o, "LatestVersionNumber", &t->latest_version);
        return r;
}

static void launch_template_done(void *item) {
        struct ecs_launch_template *t = item;

        free(t->id);
        free(t->name);
}

static const struct item_type launch_template_type = {
        sizeof(struct ecs_launch_template), launch_template_parse, launch_template_done
};

int ecsparse_launch_templates(json_t *root, struct ecs_launch_template **ret, size_t *ret_n, unsigned *ret_total) {
        void *a;
        int r;

        r = parse_counted_items(root, "LaunchTemplateSets", "LaunchTemplateSet", &launch_template_type, &a, ret_n,
                                ret_total);
        if (r >= 0)
                *ret = a;
        return r;
}

static int template_version_parse(json_t *o, void *item) {
        struct ecs_template_version *v = item;
        json_t *data = json_object_get(o, "LaunchTemplateData");
        int r;

        r = field_number(o, "VersionNumber", &v->number);
        if (r < 0)
                return r;
        r = field_bool(o, "DefaultVersion");
        if (r < 0 && r != -ENOENT)
                return r;
        v->is_default = r == 1;
        if (!data || json_is_null(data))
                return 0;
        if (!json_is_object(data))
                return -EBADMSG;
        r = field_string(data, "KeyPairName", false, ECSPARSE_MAX_STRING, &v->key_pair_name);
        if (r >= 0)
                r = field_string(data, "UserData", false, ECSPARSE_MAX_USER_DATA, &v->user_data);
        return r;
}

static void template_version_done(void *item) {
        struct ecs_template_version *v = item;

        free(v->key_pair_name);
        free(v->user_data);
}

static const struct item_type template_version_type = {
        sizeof(struct ecs_template_version), template_version_parse, template_version_done
};

int ecsparse_template_versions(json_t *root, struct ecs_template_version **ret, size_t *ret_n,
                               unsigned *ret_total) {
        void *a;
        int r;

        r = parse_counted_items(root, "LaunchTemplateVersionSets", "LaunchTemplateVersionSet", &template_version_type,
                                &a, ret_n, ret_total);
        if (r >= 0)
                *ret = a;
        return r;
}

static int scaling_config_parse(json_t *o, void *item) {
        struct ecs_scaling_config *c = item;
        _cleanup_free_ char *state = NULL;
        int r;

        r = field_string(o, "ScalingConfigurationId", true, ECSPARSE_MAX_STRING, &c->id);
        if (r >= 0)
                r = field_string(o, "ScalingGroupId", false, ECSPARSE_MAX_STRING, &c->group_id);
        if (r >= 0)
                r = field_string(o, "KeyPairName", false, ECSPARSE_MAX_STRING, &c->key_pair_name);
        if (r >= 0)
                r = field_string(o, "UserData", false, ECSPARSE_MAX_USER_DATA, &c->user_data);
        if (r >= 0)
                r = field_string(o, "LifecycleState", false, ECSPARSE_MAX_STRING, &state);
        if (r < 0)
                return r;
        c->active = !state || streq(state, "Active");
        return 0;
}

static void scaling_config_done(void *item) {
        struct ecs_scaling_config *c = item;

        free(c->id);
        free(c->group_id);
        free(c->key_pair_name);
        free(c->user_data);
}

static const struct item_type scaling_config_type = {
        sizeof(struct ecs_scaling_config), scaling_config_parse, scaling_config_done
};

int ecsparse_scaling_configs(json_t *root, struct ecs_scaling_config **ret, size_t *ret_n, unsigned *ret_total) {
        void *a;
        int r;

        r = parse_counted_items(root, "ScalingConfigurations", "ScalingConfiguration", &scaling_config_type, &a,
                                ret_n, ret_total);
        if (r >= 0)
                *ret = a;
        return r;
}

void ecs_launch_templates_free(struct ecs_launch_template *a, size_t n) {
        items_free(a, n, &launch_template_type);
}

void ecs_template_versions_free(struct ecs_template_version *a, size_t n) {
        items_free(a, n, &template_version_type);
}

void ecs_scaling_configs_free(struct ecs_scaling_config *a, size_t n) {
        items_free(a, n, &scaling_config_type);
}

bool ecs_invocation_status_is_final(const char *status) {
        static const char *const running[] = { "Pending", "Scheduled", "Running", "Stopping" };

        for (size_t i = 0; i < ELEMENTSOF(running); i++)
                if (streq_ptr(status, running[i]))
                        return false;
        return status != NULL;
}

void ecs_agent_statuses_free(struct ecs_agent_status *a, size_t n) {
        items_free(a, n, &agent_status_type);
}

void ecs_invocation_results_free(struct ecs_invocation_result *a, size_t n) {
        items_free(a, n, &invocation_result_type);
}

const struct ecs_instance *ecs_instances_find(const struct ecs_instance *a, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(a[i].instance_id, id))
                        return &a[i];
        return NULL;
}

void ecs_instances_free(struct ecs_instance *a, size_t n) {
        items_free(a, n, &instance_type);
}

void ecs_keypairs_free(struct ecs_keypair *a, size_t n) {
        items_free(a, n, &keypair_type);
}

void ecs_detach_results_free(struct ecs_detach_result *a, size_t n) {
        items_free(a, n, &detach_result_type);
}

void ecs_statuses_free(struct ecs_status *a, size_t n) {
        items_free(a, n, &status_type);
}
