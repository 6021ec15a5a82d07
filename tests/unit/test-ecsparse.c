/* Unit tests for ecsparse.c: real answers from tests/data/ecs, odd shapes, limits. */
#include "logic/ecsparse.h"
#include "tests.h"

enum kind {
        JSON,      /* only ecsparse_json() */
        ERROR,
        INSTANCES,
        KEYPAIRS,
        REGIONS,
        DETACH,
        STATUS,
        TEMPLATES,
        VERSIONS,
        SCALING,
};

/* ret is what the parser of kind returns (ecsparse_json() must succeed unless kind is JSON);
 * summary is the result as summarize() prints it, NULL when ret < 0. */
static const struct {
        const char *file; /* under tests/data/ecs, or NULL to use text */
        const char *text; /* JSON with ' for " (none of these needs a real ') */
        enum kind kind;
        int ret;
        const char *summary;
} cases[] = {
        { "describe-instances-page1.json", NULL, INSTANCES, 0,
          "rid=473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E next=caeba0bbb2be03f84eb48b699f0a4883 "
          "[i-bp1e5hqwgvc7kq7wm0k1 Running linux deploy-2019 2017-12-10T04:04Z cn-hangzhou]"
          "[i-bp1e5hqwgvc7kq7wm0k2 Stopped windows deploy-2019 2023-06-01T01:00Z cn-hangzhou]"
          "[i-bp1e5hqwgvc7kq7wm0k3 Pending linux - - cn-hangzhou]" },
        { "describe-instances-last.json", NULL, INSTANCES, 0,
          "rid=0EE6E4C5-0F5F-4F4B-9E2F-3E7A9B3A1C11 next=- "
          "[i-2ze0z8k3c4bd8vq1zwin Running linux ops 2024-02-29T23:59Z cn-beijing]" },
        { "describe-instances-empty.json", NULL, INSTANCES, 0,
          "rid=5B1C0E55-1F7C-4A7D-9B0E-2F2B8E0C6A10 next=- " },
        { "describe-instances-no-container.json", NULL, INSTANCES, 0,
          "rid=5B1C0E55-1F7C-4A7D-9B0E-2F2B8E0C6A11 next=- " },
        { "describe-instances-missing-id.json", NULL, INSTANCES, -EBADMSG, NULL },
        { "describe-instances-bad-type.json", NULL, INSTANCES, -EBADMSG, NULL },
        { "describe-instances-bad-token.json", NULL, INSTANCES, -EBADMSG, NULL },
        { NULL, "{'Instances':[]}", INSTANCES, -EBADMSG, NULL },
        { NULL, "{'Instances':null}", INSTANCES, 0, "rid=- next=- " },
        { NULL, "{'Instances':{}}", INSTANCES, 0, "rid=- next=- " },
        { NULL, "{'Instances':{'Instance':[1]}}", INSTANCES, -EBADMSG, NULL },
        { NULL, "{'Instances':{'Instance':[{'InstanceId':'i-1','Status':'Running','OSType':'linux'}]}}",
          INSTANCES, -EBADMSG, NULL },
        { NULL, "{'Instances':{'Instance':[{'InstanceId':7,'Status':'Running','OSType':'linux',"
                "'RegionId':'r'}]}}",
          INSTANCES, -EBADMSG, NULL },
        { NULL, "{'Instances':{'Instance':[{'InstanceId':'i-1','Status':'Running','OSType':'linux',"
                "'RegionId':'r','KeyPairName':['k']}]}}",
          INSTANCES, -EBADMSG, NULL },
        { NULL, "{'Instances':{'Instance':[{'InstanceId':'i-1','Status':'Running','OSType':'linux',"
                "'RegionId':'r','KeyPairName':null,'StartTime':''}]}}",
          INSTANCES, 0, "rid=- next=- [i-1 Running linux - - r]" },

        { "describe-keypairs.json", NULL, KEYPAIRS, 0,
          "rid=B0BB8C1B-7A6E-4B5C-A1D2-3B4C5D6E7F80 total=2 "
          "[deploy-2019 ssh-ed25519 "
          "AAAAC3NzaC1lZDI1NTE5AAAAIHWbqV8WzvHx1S6zJp6N3pRyOzkX1oNq8k8N0jE3d1mZ deploy@ci]"
          "[imported -]" },
        { "describe-keypairs-strings.json", NULL, KEYPAIRS, 0, "rid=R total=120 [k*1 -]" },
        { "describe-keypairs-bad-count.json", NULL, KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'KeyPairs':{'KeyPair':[]}}", KEYPAIRS, 0, "rid=- total=0 " },
        { NULL, "{'TotalCount':'4294967295'}", KEYPAIRS, 0, "rid=- total=4294967295 " },
        { NULL, "{'TotalCount':4294967296}", KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'TotalCount':'4294967296'}", KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'TotalCount':' 2'}", KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'TotalCount':2.5}", KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'TotalCount':true}", KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'KeyPairs':{'KeyPair':[{'PublicKey':'ssh-rsa AAAA'}]}}", KEYPAIRS, -EBADMSG, NULL },
        { NULL, "{'KeyPairs':{'KeyPair':[{'KeyPairName':'k','PublicKey':false}]}}", KEYPAIRS, -EBADMSG,
          NULL },

        { "describe-regions.json", NULL, REGIONS, 0,
          "rid=8CE45CD5-31FB-47C2-959D-CA8144CE2C28 "
          "cn-qingdao,cn-beijing,cn-hangzhou,ap-southeast-1,eu-central-1,us-west-1" },
        { "describe-regions-empty-id.json", NULL, REGIONS, -EBADMSG, NULL },
        { NULL, "{'RequestId':'R','Regions':{'Region':[]}}", REGIONS, 0, "rid=R " },
        { NULL, "{'Regions':'cn-hangzhou'}", REGIONS, -EBADMSG, NULL },

        { "detach-strings.json", NULL, DETACH, 1,
          "rid=6EF60BEC-0242-43AF-BB37-B2D6ED5FA2A9 "
          "[i-bp1e5hqwgvc7kq7wm0k1 200 successful ok]"
          "[i-bp1e5hqwgvc7kq7wm0k4 200 successful ok]"
          "[i-bp1e5hqwgvc7kq7wm0k5 InvalidInstanceId.NotFound "
          "The specified InstanceId does not exist. failed]" },
        { "detach-native.json", NULL, DETACH, 1,
          "rid=7A1E2B3C-4D5E-6F70-8192-A3B4C5D6E7F8 "
          "[i-2ze0z8k3c4bd8vq1zwin 200 successful ok]"
          "[i-2ze0z8k3c4bd8vq1zwio 403 The instance is locked. failed]" },
        { "detach-legacy.json", NULL, DETACH, 0, "rid=E2A664A6-2933-4C73-A1E5-6E5C0C5F2B11 " },
        { "detach-success-only.json", NULL, DETACH, 1,
          "rid=R [i-a - - ok][i-b - locked failed][i-c - - failed]" },
        { "detach-no-results.json", NULL, DETACH, 1, "rid=R " },
        { "detach-bad-success.json", NULL, DETACH, -EBADMSG, NULL },
        { NULL, "{}", DETACH, -EBADMSG, NULL },
        { NULL, "{'RequestId':''}", DETACH, -EBADMSG, NULL },
        { NULL, "{'RequestId':'R','Results':{'Result':[{'InstanceId':'i-a','Code':'200',"
                "'Success':false}]}}",
          DETACH, 1, "rid=R [i-a 200 - ok]" }, /* Code decides */
        { NULL, "{'RequestId':'R','Results':{'Result':[{'InstanceId':'i-a','Code':'400',"
                "'Success':'true'}]}}",
          DETACH, 1, "rid=R [i-a 400 - failed]" },
        { NULL, "{'Results':{'Result':[{'InstanceId':'i-a','Success':1},{'InstanceId':'i-b',"
                "'Success':'TRUE'},{'InstanceId':'i-c','Success':0}]}}",
          DETACH, 1, "rid=- [i-a - - ok][i-b - - ok][i-c - - failed]" },
        { NULL, "{'Results':{'Result':[{'InstanceId':'i-a','Success':2}]}}", DETACH, -EBADMSG, NULL },
        { NULL, "{'Results':{'Result':[{'InstanceId':'i-a','Code':200.0}]}}", DETACH, -EBADMSG, NULL },
        { NULL, "{'Results':{'Result':[{'Code':'200'}]}}", DETACH, -EBADMSG, NULL },
        { NULL, "{'Results':[]}", DETACH, -EBADMSG, NULL },

        { "describe-instance-status.json", NULL, STATUS, 0,
          "rid=6EF60BEC-0242-43AF-BB37-B2D6ED5FA2AA total=2 "
          "[i-bp1e5hqwgvc7kq7wm0k1 Stopping][i-bp1e5hqwgvc7kq7wm0k2 Running]" },
        { NULL, "{'TotalCount':'0','InstanceStatuses':{'InstanceStatus':[]}}", STATUS, 0,
          "rid=- total=0 " },
        { NULL, "{'InstanceStatuses':{'InstanceStatus':[{'InstanceId':'i-1'}]}}", STATUS, -EBADMSG, NULL },

        { "error-throttling.json", NULL, ERROR, 0,
          "rid=5F0E8E5B-9F43-4F4C-9C52-E8E6C0B38C3F "
          "Throttling.User|Request was denied due to user flow control." },
        { "error-keypair-not-found.json", NULL, ERROR, 0,
          "rid=A3B4C5D6-E7F8-4901-A2B3-C4D5E6F70819 "
          "InvalidKeyPairName.NotFound|The specified KeyPairName does not exist in our records." },
        { "error-numeric-code.json", NULL, ERROR, 0,
          "rid=R 500|The request processing has failed due to some unknown error." },
        { "error-no-code.json", NULL, ERROR, 0, "rid=R -|-" },
        { NULL, "{'Code':{'x':1}}", ERROR, -EBADMSG, NULL },
        { NULL, "{'Code':'Forbidden','Message':3}", ERROR, -EBADMSG, NULL },
        { NULL, "{'RequestId':5,'Code':'Forbidden'}", ERROR, 0, "rid=- Forbidden|-" },

        { "describe-launch-templates.json", NULL, TEMPLATES, 0,
          "rid=2A4EA075-CBD3-4BE2-B2F5-4C0F46D5A3F1 total=2 "
          "[lt-bp1apo0bbbkuy0rj**** web-prod 2 3][lt-bp1apo0bbbkuy0rk**** batch 1 1]" },
        { NULL, "{'LaunchTemplateSets':{'LaunchTemplateSet':[{'LaunchTemplateId':'lt-1'}]}}", TEMPLATES,
          -EBADMSG, NULL }, /* no default version */
        { NULL, "{'LaunchTemplateSets':{'LaunchTemplateSet':[{'LaunchTemplateId':'lt-1',"
                "'DefaultVersionNumber':0}]}}",
          TEMPLATES, -EBADMSG, NULL },
        { NULL, "{'LaunchTemplateSets':{'LaunchTemplateSet':[{'DefaultVersionNumber':1}]}}", TEMPLATES,
          -EBADMSG, NULL },
        { NULL, "{'TotalCount':0,'LaunchTemplateSets':{'LaunchTemplateSet':[]}}", TEMPLATES, 0, "rid=- total=0 " },

        { "describe-launch-template-versions.json", NULL, VERSIONS, 0,
          "rid=3B5FB186-DCE4-4CF3-C3A6-5D1A57E6B402 total=3 "
          "[1 deploy-2019 ud=IyEvYmluL3NoCmVjaG8gaGVsbG8K][2 default -][3 ops]" },
        { NULL, "{'LaunchTemplateVersionSets':{'LaunchTemplateVersionSet':[{'VersionNumber':4}]}}", VERSIONS, 0,
          "rid=- total=0 [4 -]" }, /* DetailFlag=false: no data, no key pair */
        { NULL, "{'LaunchTemplateVersionSets':{'LaunchTemplateVersionSet':[{'VersionNumber':4,"
                "'LaunchTemplateData':'x'}]}}",
          VERSIONS, -EBADMSG, NULL },
        { NULL, "{'LaunchTemplateVersionSets':{'LaunchTemplateVersionSet':[{'VersionNumber':4,"
                "'LaunchTemplateData':{'KeyPairName':5}}]}}",
          VERSIONS, -EBADMSG, NULL },
        { NULL, "{'LaunchTemplateVersionSets':{'LaunchTemplateVersionSet':[{'VersionNumber':4,"
                "'LaunchTemplateData':{'UserData':[]}}]}}",
          VERSIONS, -EBADMSG, NULL },
        { NULL, "{'LaunchTemplateVersionSets':{'LaunchTemplateVersionSet':[{'VersionNumber':4,"
                "'DefaultVersion':'maybe'}]}}",
          VERSIONS, -EBADMSG, NULL },
        { NULL, "{'LaunchTemplateVersionSets':{'LaunchTemplateVersionSet':[{'DefaultVersion':true}]}}", VERSIONS,
          -EBADMSG, NULL },

        { "describe-scaling-configurations.json", NULL, SCALING, 0,
          "rid=473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E total=2 "
          "[asc-bp1ffogfdauy0jw0**** asg-bp17pelvl720x3v7**** deploy-2019 active ud=ZWNobyBoZWxsbyBlY3Mh]"
          "[asc-bp1ffogfdauy0jw1**** asg-bp17pelvl720x3v7**** - inactive]" },
        { NULL, "{'ScalingConfigurations':{'ScalingConfiguration':[{'ScalingConfigurationId':'asc-1'}]}}", SCALING,
          0, "rid=- total=0 [asc-1 - - active]" },
        { NULL, "{'ScalingConfigurations':{'ScalingConfiguration':[{'KeyPairName':'k'}]}}", SCALING, -EBADMSG,
          NULL },
        { NULL, "{'ScalingConfigurations':{'ScalingConfiguration':[{'ScalingConfigurationId':'asc-1',"
                "'LifecycleState':1}]}}",
          SCALING, -EBADMSG, NULL },

        { "malformed-truncated.json", NULL, JSON, -EBADMSG, NULL },
        { "malformed-duplicate-key.json", NULL, JSON, -EBADMSG, NULL },
        { "malformed-array-root.json", NULL, JSON, -EBADMSG, NULL },
        { "malformed-trailing.json", NULL, JSON, -EBADMSG, NULL },
        { "malformed-xml.json", NULL, JSON, -EBADMSG, NULL },
        { "malformed-utf8.json", NULL, JSON, -EBADMSG, NULL },
        { NULL, "'just a string'", JSON, -EBADMSG, NULL },
        { NULL, "null", JSON, -EBADMSG, NULL },
        { NULL, "{'a':'x\\u0000y'}", JSON, -EBADMSG, NULL },
        { NULL, "{'a':{'b':1,'b':2}}", JSON, -EBADMSG, NULL },
        { NULL, "   ", JSON, -EBADMSG, NULL },
        { NULL, "{}", JSON, 0, NULL },
};

static const char *dash(const char *s) {
        return s ? s : "-";
}

static void summarize_instances(FILE *f, json_t *root, int *ret) {
        struct ecs_instance *a = NULL;
        char *next = NULL;
        size_t n = 0;

        *ret = ecsparse_instances(root, &a, &n, &next);
        if (*ret < 0)
                return;
        fprintf(f, "next=%s ", dash(next));
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%s %s %s %s %s %s]", a[i].instance_id, a[i].status, a[i].os_type,
                        dash(a[i].key_pair_name), dash(a[i].start_time), a[i].region_id);
        CHECK(n > 0 || !a);
        ecs_instances_free(a, n);
        free(next);
}

static void summarize_keypairs(FILE *f, json_t *root, int *ret) {
        struct ecs_keypair *a = NULL;
        unsigned total = 0;
        size_t n = 0;

        *ret = ecsparse_keypairs(root, &a, &n, &total);
        if (*ret < 0)
                return;
        fprintf(f, "total=%u ", total);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%s %s]", a[i].name, dash(a[i].public_key));
        ecs_keypairs_free(a, n);
}

static void summarize_regions(FILE *f, json_t *root, int *ret) {
        char **l = NULL;

        *ret = ecsparse_regions(root, &l);
        if (*ret < 0)
                return;
        CHECK(l);
        for (size_t i = 0; l && l[i]; i++)
                fprintf(f, "%s%s", i > 0 ? "," : "", l[i]);
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
}

static void summarize_detach(FILE *f, json_t *root, int *ret) {
        struct ecs_detach_result *a = NULL;
        size_t n = 0;

        *ret = ecsparse_detach(root, &a, &n);
        if (*ret < 0)
                return;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%s %s %s %s]", a[i].instance_id, dash(a[i].code), dash(a[i].message),
                        a[i].success ? "ok" : "failed");
        ecs_detach_results_free(a, n);
}

static void summarize_status(FILE *f, json_t *root, int *ret) {
        struct ecs_status *a = NULL;
        unsigned total = 0;
        size_t n = 0;

        *ret = ecsparse_instance_status(root, &a, &n, &total);
        if (*ret < 0)
                return;
        fprintf(f, "total=%u ", total);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%s %s]", a[i].instance_id, a[i].status);
        ecs_statuses_free(a, n);
}

static void summarize_templates(FILE *f, json_t *root, int *ret) {
        struct ecs_launch_template *a = NULL;
        unsigned total = 0;
        size_t n = 0;

        *ret = ecsparse_launch_templates(root, &a, &n, &total);
        if (*ret < 0)
                return;
        fprintf(f, "total=%u ", total);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%s %s %u %u]", a[i].id, dash(a[i].name), a[i].default_version, a[i].latest_version);
        ecs_launch_templates_free(a, n);
}

static void summarize_versions(FILE *f, json_t *root, int *ret) {
        struct ecs_template_version *a = NULL;
        unsigned total = 0;
        size_t n = 0;

        *ret = ecsparse_template_versions(root, &a, &n, &total);
        if (*ret < 0)
                return;
        fprintf(f, "total=%u ", total);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%u %s%s%s%s]", a[i].number, a[i].is_default ? "default " : "", dash(a[i].key_pair_name),
                        a[i].user_data ? " ud=" : "", strempty(a[i].user_data));
        ecs_template_versions_free(a, n);
}

static void summarize_scaling(FILE *f, json_t *root, int *ret) {
        struct ecs_scaling_config *a = NULL;
        unsigned total = 0;
        size_t n = 0;

        *ret = ecsparse_scaling_configs(root, &a, &n, &total);
        if (*ret < 0)
                return;
        fprintf(f, "total=%u ", total);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "[%s %s %s %s%s%s]", a[i].id, dash(a[i].group_id), dash(a[i].key_pair_name),
                        a[i].active ? "active" : "inactive", a[i].user_data ? " ud=" : "", strempty(a[i].user_data));
        ecs_scaling_configs_free(a, n);
}

static void summarize_error(FILE *f, json_t *root, int *ret) {
        _cleanup_free_ char *code = NULL, *message = NULL;

        *ret = ecsparse_error(root, &code, &message);
        if (*ret >= 0)
                fprintf(f, "%s|%s", dash(code), dash(message));
}

/* Runs the parser of kind on root; returns its result printed as in the table, or NULL. */
static char *summarize(enum kind kind, json_t *root, int *ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                abort();
        fprintf(f, "rid=%s ", dash(ecsparse_request_id(root)));
        switch (kind) {
        case JSON:
                *ret = 0;
                break;
        case ERROR:
                summarize_error(f, root, ret);
                break;
        case INSTANCES:
                summarize_instances(f, root, ret);
                break;
        case KEYPAIRS:
                summarize_keypairs(f, root, ret);
                break;
        case REGIONS:
                summarize_regions(f, root, ret);
                break;
        case DETACH:
                summarize_detach(f, root, ret);
                break;
        case STATUS:
                summarize_status(f, root, ret);
                break;
        case TEMPLATES:
                summarize_templates(f, root, ret);
                break;
        case VERSIONS:
                summarize_versions(f, root, ret);
                break;
        case SCALING:
                summarize_scaling(f, root, ret);
                break;
        }
        fclose(f);
        if (*ret < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void test_cases(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *data = NULL, *path = NULL, *summary = NULL;
                const char *text;
                json_t *root = NULL;
                size_t len;
                int r;

                if (cases[i].file) {
                        CHECK(asprintf(&path, "ecs/%s", cases[i].file) > 0);
                        text = data = tests_read_data(path, &len);
                } else {
                        text = data = strdup(cases[i].text);
                        CHECK(data);
                        for (char *c = data; *c; c++)
                                if (*c == '\'')
                                        *c = '"';
                        len = strlen(text);
                }
                r = ecsparse_json(text, len, &root);
                if (cases[i].kind == JSON) {
                        CHECK_INTEQ(r, cases[i].ret);
                        json_decref(root);
                        continue;
                }
                CHECK_INTEQ(r, 0);
                if (r < 0)
                        continue;
                summary = summarize(cases[i].kind, root, &r);
                if (r != cases[i].ret)
                        fprintf(stderr, "case %zu (%s)\n", i, cases[i].file ? cases[i].file : cases[i].text);
                CHECK_INTEQ(r, cases[i].ret);
                if (cases[i].summary)
                        CHECK_STREQ(summary, cases[i].summary);
                json_decref(root);
        }
}

/* An instances answer with n items. */
static char *instances_json(size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                abort();
        fputs("{\"Instances\":{\"Instance\":[", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f,
                        "%s{\"InstanceId\":\"i-%zu\",\"Status\":\"Running\",\"OSType\":\"linux\","
                        "\"RegionId\":\"r\"}",
                        i > 0 ? "," : "", i);
        fputs("]}}", f);
        fclose(f);
        return buf;
}

static void test_item_limit(void) {
        static const struct {
                size_t n;
                int ret;
        } limits[] = { { ECSPARSE_MAX_ITEMS, 0 }, { ECSPARSE_MAX_ITEMS + 1, -EBADMSG } };

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                _cleanup_free_ char *text = instances_json(limits[i].n), *next = NULL;
                struct ecs_instance *a = NULL;
                json_t *root = NULL;
                size_t n = 0;

                CHECK_INTEQ(ecsparse_json(text, strlen(text), &root), 0);
                CHECK_INTEQ(ecsparse_instances(root, &a, &n, &next), limits[i].ret);
                if (limits[i].ret == 0) {
                        CHECK_INTEQ(n, limits[i].n);
                        CHECK_STREQ(a[n - 1].instance_id, "i-999");
                }
                ecs_instances_free(a, n);
                json_decref(root);
        }
}

/* A key pair answer whose KeyPairName and PublicKey have the given lengths. */
static char *keypair_json(size_t name_len, size_t key_len) {
        char *s = NULL;
        char *name = malloc(name_len + 1), *key = malloc(key_len + 1);

        if (!name || !key)
                abort();
        memset(name, 'n', name_len);
        name[name_len] = '\0';
        memset(key, 'k', key_len);
        key[key_len] = '\0';
        if (asprintf(&s, "{\"KeyPairs\":{\"KeyPair\":[{\"KeyPairName\":\"%s\",\"PublicKey\":\"%s\"}]}}",
                     name, key) < 0)
                abort();
        free(name);
        free(key);
        return s;
}

static void test_string_limits(void) {
        static const struct {
                size_t name_len, key_len;
                int ret;
        } limits[] = {
                { ECSPARSE_MAX_STRING, ECSPARSE_MAX_PUBLIC_KEY, 0 },
                { ECSPARSE_MAX_STRING + 1, 10, -EBADMSG },
                { 10, ECSPARSE_MAX_PUBLIC_KEY + 1, -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                _cleanup_free_ char *text = keypair_json(limits[i].name_len, limits[i].key_len);
                struct ecs_keypair *a = NULL;
                json_t *root = NULL;
                unsigned total;
                size_t n = 0;

                CHECK_INTEQ(ecsparse_json(text, strlen(text), &root), 0);
                CHECK_INTEQ(ecsparse_keypairs(root, &a, &n, &total), limits[i].ret);
                if (limits[i].ret == 0) {
                        CHECK_INTEQ(strlen(a[0].name), limits[i].name_len);
                        CHECK_INTEQ(strlen(a[0].public_key), limits[i].key_len);
                }
                ecs_keypairs_free(a, n);
                json_decref(root);
        }
}

static void test_bad_input(void) {
        json_t *root = NULL, *roots[] = { NULL, json_array(), json_string("x") };
        struct ecs_detach_result *det;
        struct ecs_instance *inst;
        struct ecs_keypair *kp;
        struct ecs_status *st;
        char *code, *message, *next, **regions;
        unsigned total;
        size_t n;

        CHECK_INTEQ(ecsparse_json(NULL, 0, &root), -EBADMSG);
        CHECK_INTEQ(ecsparse_json("", 0, &root), -EBADMSG);
        CHECK_INTEQ(ecsparse_json("{}", ECSPARSE_MAX_JSON_BYTES + 1, &root), -EMSGSIZE);
        CHECK(!root);
        /* len bounds the text: what follows is not read */
        CHECK_INTEQ(ecsparse_json("{}garbage", 2, &root), 0);
        json_decref(root);

        /* roots that are not objects */
        for (size_t i = 0; i < ELEMENTSOF(roots); i++) {
                CHECK_INTEQ(ecsparse_error(roots[i], &code, &message), -EBADMSG);
                CHECK(!ecsparse_request_id(roots[i]));
                CHECK_INTEQ(ecsparse_instances(roots[i], &inst, &n, &next), -EBADMSG);
                CHECK_INTEQ(ecsparse_keypairs(roots[i], &kp, &n, &total), -EBADMSG);
                CHECK_INTEQ(ecsparse_regions(roots[i], &regions), -EBADMSG);
                CHECK_INTEQ(ecsparse_detach(roots[i], &det, &n), -EBADMSG);
                CHECK_INTEQ(ecsparse_instance_status(roots[i], &st, &n, &total), -EBADMSG);
                json_decref(roots[i]);
        }

        /* freeing nothing is fine */
        ecs_instances_free(NULL, 0);
        ecs_keypairs_free(NULL, 0);
        ecs_detach_results_free(NULL, 0);
        ecs_statuses_free(NULL, 0);
}

int main(void) {
        test_cases();
        test_item_limit();
        test_string_limits();
        test_bad_input();
        TESTS_DONE();
}
