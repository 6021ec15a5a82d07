/* keyrevoked: command line parsing; everything else lives in the agent. */
#include <getopt.h>

#include "base/log.h"
#include "daemon/agent.h"
#include "daemon/checkconfig.h"
#include "logic/conf.h"


static void help(void) {
        printf("Usage: keyrevoked [OPTION...]\n"
               "Detaches revoked SSH key pairs from Alibaba Cloud ECS instances and reboots them\n"
               "inside maintenance windows.\n\n"
               "  -c, --config=FILE   configuration file (default %s)\n"
               "      --once          enforce every list once, run the reboots due now, exit\n"
               "      --dry-run       make no DetachKeyPair or RebootInstance call\n"
               "      --check-config  validate config, credentials and lists, then exit\n"
               "      --version       print the version and exit\n"
               "  -h, --help          print this help and exit\n\n"
               "Exit status with --once: 0 all enforced, 1 usage or config error, 2 something pending.\n\n"
               "See keyrevoked(8), keyrevoke.conf(5) and keyrevoke.list(5).\n",
               CONF_DEFAULT_PATH);
}

enum {
        ARG_ONCE = 0x100,
        ARG_DRY_RUN,
        ARG_CHECK_CONFIG,
        ARG_VERSION,
};

/* Parses argv into o; returns 1 to run, 0 to exit successfully, -EINVAL on a usage error. */
static int parse_argv(int argc, char *argv[], struct agent_options *o, bool *ret_check_config) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "once", no_argument, NULL, ARG_ONCE },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o->config_path = optarg;
                        break;
                case ARG_ONCE:
                        o->once = true;
                        break;
                case ARG_DRY_RUN:
                        o->dry_run = true;
                        break;
                case ARG_CHECK_CONFIG:
                        *ret_check_config = true;
                        break;
                case ARG_VERSION:
                        printf("keyrevoked %s\n", PACKAGE_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("Unexpected argument '%s'; see --help", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        struct agent_options o = { .config_path = CONF_DEFAULT_PATH };
        _cleanup_(agent_freep) struct agent *a = NULL;
        bool checking = false;
        int r;

        r = parse_argv(argc, argv, &o, &checking);
        if (r <= 0)
                return r < 0 ? AGENT_EXIT_CONFIG : AGENT_EXIT_OK;
        if (checking)
                return check_config(o.config_path);
        r = agent_new(&o, &a);
        if (r == -EBUSY)
                return AGENT_EXIT_PENDING; /* nothing enforced; the holder is named */
        if (r < 0)
                return AGENT_EXIT_CONFIG;
        return agent_run(a);
}
