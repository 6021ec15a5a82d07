/* The Alibaba Cloud regions this build knows: a misspelt RegionId is caught before any call. */
#include <limits.h>

#include "base/strutil.h"
#include "logic/regions.h"

#define REGION_NAME_MAX 64U

/* ECS regions (DescribeRegions) as of this release, closed ones included: naming one is no typo. */
static const char *const known_regions[] = {
        "cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-hangzhou",
        "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr", "cn-shenzhen", "cn-heyuan", "cn-guangzhou",
        "cn-chengdu", "cn-hongkong", "cn-hangzhou-finance", "cn-shanghai-finance-1", "cn-shenzhen-finance-1",
        "cn-beijing-finance-1", "cn-north-2-gov-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1",
        "ap-southeast-2", "ap-southeast-3", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-south-1",
        "us-east-1", "us-west-1", "na-south-1", "eu-west-1", "eu-central-1", "me-east-1", "me-central-1",
};

const char *region_nearest(const char *name, unsigned *ret_distance) {
        const char *nearest = NULL;
        unsigned best = UINT_MAX;

        if (strlen(name) > REGION_NAME_MAX) {
                *ret_distance = UINT_MAX;
                return known_regions[0];
        }
        for (size_t i = 0; i < ELEMENTSOF(known_regions); i++) {
                unsigned d = strutil_edit_distance(name, known_regions[i]);

                if (d == 0)
                        return NULL;
                if (d < best) {
                        best = d;
                        nearest = known_regions[i];
                }
        }
        *ret_distance = best;
        return nearest;
}

bool region_problem(const char *name, char *buf, size_t size, bool *ret_typo) {
        unsigned distance;
        const char *nearest = region_nearest(name, &distance);

        if (!nearest)
                return false;
        *ret_typo = distance <= REGION_TYPO_DISTANCE_MAX;
        if (*ret_typo)
                snprintf(buf, size, "region '%s' does not exist; did you mean %s?", name, nearest);
        else
                snprintf(buf, size, "region '%s' is not one this build knows (the nearest is %s); "
                                    "if it is newer, ignore this", name, nearest);
        return true;
}
