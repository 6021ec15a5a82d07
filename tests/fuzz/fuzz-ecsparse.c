/* libFuzzer target: every ECS answer parser on arbitrary bytes, everything freed. */
#include "base/strutil.h"
#include "logic/ecsparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_parsers(json_t *root) {
        struct ecs_detach_result *results;
        struct ecs_instance *instances;
        struct ecs_keypair *keypairs;
        struct ecs_status *statuses;
        struct ecs_launch_template *templates;
        struct ecs_template_version *versions;
        struct ecs_scaling_config *configs;
        char *code, *message, *next, **regions;
        unsigned total;
        size_t n;

        if (ecsparse_error(root, &code, &message) >= 0) {
                free(code);
                free(message);
        }
        (void) ecsparse_request_id(root);
        if (ecsparse_instances(root, &instances, &n, &next) >= 0) {
                ecs_instances_free(instances, n);
                free(next);
        }
        if (ecsparse_keypairs(root, &keypairs, &n, &total) >= 0)
                ecs_keypairs_free(keypairs, n);
        if (ecsparse_regions(root, &regions) >= 0)
                strv_free(regions);
        if (ecsparse_detach(root, &results, &n) >= 0)
                ecs_detach_results_free(results, n);
        if (ecsparse_instance_status(root, &statuses, &n, &total) >= 0)
                ecs_statuses_free(statuses, n);
        if (ecsparse_launch_templates(root, &templates, &n, &total) >= 0)
                ecs_launch_templates_free(templates, n);
        if (ecsparse_template_versions(root, &versions, &n, &total) >= 0)
                ecs_template_versions_free(versions, n);
        if (ecsparse_scaling_configs(root, &configs, &n, &total) >= 0)
                ecs_scaling_configs_free(configs, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *root;

        if (ecsparse_json((const char *) data, size, &root) < 0)
                return 0;
        fuzz_parsers(root);
        json_decref(root);
        return 0;
}
