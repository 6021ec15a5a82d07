"""Launch sources for the ECS emulator (CLOUD-API.md section 4): ECS launch templates with their
versions (DescribeLaunchTemplates, DescribeLaunchTemplateVersions) and Auto Scaling (ESS, API
2014-08-28) scaling configurations (DescribeScalingConfigurations), served on their own path.

Imported by ecs-emulator.py; standard library only. See README.md in this directory."""

import re
import time

ESS_API_VERSION = "2014-08-28"
ESS_PATHS = ("/ess", "/ess/")
MAX_VERSIONS = 30                      # per template (CreateLaunchTemplateVersion.md)
MAX_TEMPLATE_PAGE = 50
MAX_VERSION_PAGE = 50                  # not documented; the emulator takes DescribeLaunchTemplates'
MAX_CONFIG_PAGE = 50
MAX_TEMPLATE_FILTER = 100              # LaunchTemplateId.N / LaunchTemplateName.N
MAX_CONFIG_FILTER = 10                 # ScalingConfigurationId.N / ScalingConfigurationName.N
LIFECYCLE_STATES = ("Active", "Inactive")


def fmt_second(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def numbered(params, name, limit, invalid):
    """Values of NAME.1, NAME.2, ... in order; NAME.N past limit is invalid."""
    found = []
    rx = re.compile(r"\A%s\.([1-9][0-9]{0,5})\Z" % re.escape(name))
    for k, v in params.items():
        m = rx.match(k)
        if m:
            if int(m.group(1)) > limit:
                raise invalid(k)
            found.append((int(m.group(1)), v))
    return [v for _, v in sorted(found)]


class Template:
    __slots__ = ("id", "region", "name", "versions", "default", "created")

    def latest(self):
        return max(self.versions)

    def to_api(self):
        return {"LaunchTemplateId": self.id, "LaunchTemplateName": self.name,
                "DefaultVersionNumber": self.default, "LatestVersionNumber": self.latest(),
                "CreatedBy": "1234567890", "CreateTime": fmt_second(self.created),
                "ModifiedTime": fmt_second(self.created), "ResourceGroupId": "", "Tags": {"Tag": []}}

    def version_to_api(self, number, detail):
        d = {"LaunchTemplateId": self.id, "LaunchTemplateName": self.name,
             "VersionNumber": number, "DefaultVersion": number == self.default,
             "CreatedBy": "1234567890", "CreateTime": fmt_second(self.created),
             "ModifiedTime": fmt_second(self.created), "VersionDescription": ""}
        if detail:
            d["LaunchTemplateData"] = dict({"ImageId": "aliyun_3_x64_20G_alibase_20240819.vhd",
                                            "InstanceType": "ecs.g7.large"},
                                           **self.versions[number])
        return d


class ScalingConfiguration:
    __slots__ = ("id", "region", "name", "group_id", "key_pair_name", "state", "created",
                 "user_data")

    def to_api(self):
        api = {"ScalingConfigurationId": self.id, "ScalingConfigurationName": self.name,
               "ScalingGroupId": self.group_id, "KeyPairName": self.key_pair_name,
               "LifecycleState": self.state, "ImageId": "aliyun_3_x64_20G_alibase_20240819.vhd",
               "InstanceType": "ecs.g7.large", "CreationTime": fmt_second(self.created),
               "PasswordInherit": False}
        if self.user_data:
            api["UserData"] = self.user_data
        return api


def version_data(spec):
    """LaunchTemplateData of a fleet version: KeyPairName (may be empty), UserData."""
    kp = spec.get("key_pair_name", "")
    if not isinstance(kp, str):
        raise ValueError("key_pair_name must be a string")
    data = {"KeyPairName": kp}
    if spec.get("user_data"):
        data["UserData"] = str(spec["user_data"])
    return data


class LaunchSources:
    """Launch templates and scaling configurations; methods starting '_' run with the emulator's
    lock held."""

    def __init__(self, emu, fleet, api_error, missing, invalid, int_param, bool_param):
        self.emu = emu
        self.ApiError = api_error
        self.missing, self.invalid = missing, invalid
        self.int_param, self.bool_param = int_param, bool_param
        self.templates = {}                # id -> Template, in creation order
        self.configs = {}                  # id -> ScalingConfiguration, in creation order
        now = time.time()
        for spec in fleet.get("launch_templates", []):
            self._set_template(spec, now)
        for spec in fleet.get("scaling_configurations", []):
            self._set_configuration(spec, now)

    def actions(self):
        return {"DescribeLaunchTemplates": self._describe_templates,
                "DescribeLaunchTemplateVersions": self._describe_versions}

    def ess_actions(self):
        return {"DescribeScalingConfigurations": self._describe_configurations}

    # --- fleet and control changes ------------------------------------------------------------

    def _set_template(self, spec, now):
        """Creates or replaces a template: {"id","region","name","versions":[{"key_pair_name"}],
        "default_version"}; versions are numbered from 1."""
        tid, region = spec.get("id"), spec.get("region")
        if not isinstance(tid, str) or not tid.startswith("lt-"):
            raise ValueError("launch template needs an id lt-...")
        if region not in self.emu.by_region:
            raise ValueError("launch template %s: unknown region %r" % (tid, region))
        versions = spec.get("versions") or [{}]
        if len(versions) > MAX_VERSIONS:
            raise ValueError("launch template %s: more than %d versions" % (tid, MAX_VERSIONS))
        t = self.templates.get(tid) or Template()
        t.id, t.region, t.name = tid, region, spec.get("name") or "template-" + tid[3:]
        t.versions = {n: version_data(v) for n, v in enumerate(versions, 1)}
        t.default = int(spec.get("default_version", 1))
        if t.default not in t.versions:
            raise ValueError("launch template %s: no version %d" % (tid, t.default))
        t.created = getattr(t, "created", None) or now
        self.templates[tid] = t
        return self._template_state(t)

    def _add_version(self, spec):
        """A new version of a template: {"id","key_pair_name","default": bool}."""
        t = self.templates.get(spec.get("id"))
        if t is None:
            raise ValueError("unknown launch template %r" % spec.get("id"))
        if len(t.versions) >= MAX_VERSIONS:
            raise ValueError("launch template %s has %d versions already" % (t.id, MAX_VERSIONS))
        number = t.latest() + 1
        t.versions[number] = version_data(spec)
        if spec.get("default"):
            t.default = number
        return self._template_state(t)

    def _set_default(self, spec):
        """{"id","version"}: ModifyLaunchTemplateDefaultVersion."""
        t = self.templates.get(spec.get("id"))
        if t is None or int(spec.get("version", 0)) not in t.versions:
            raise ValueError("unknown launch template or version %r" % spec)
        t.default = int(spec["version"])
        return self._template_state(t)

    def _set_configuration(self, spec, now):
        """Creates a configuration or changes the fields given: {"id","region","group_id","name",
        "key_pair_name","lifecycle_state","user_data" (Base64)}."""
        cid = spec.get("id")
        if not isinstance(cid, str) or not cid.startswith("asc-"):
            raise ValueError("scaling configuration needs an id asc-...")
        c = self.configs.get(cid)
        if c is None:
            if spec.get("region") not in self.emu.by_region:
                raise ValueError("scaling configuration %s: unknown region %r"
                                 % (cid, spec.get("region")))
            c = ScalingConfiguration()
            c.id, c.region, c.created = cid, spec["region"], now
            c.name, c.group_id, c.key_pair_name, c.state = ("config-" + cid[4:],
                                                            "asg-" + cid[4:], "", "Active")
            c.user_data = ""
        elif spec.get("region", c.region) != c.region:
            raise ValueError("scaling configuration %s: region cannot change" % cid)
        c.name = spec.get("name", c.name)
        c.group_id = spec.get("group_id", c.group_id)
        c.key_pair_name = spec.get("key_pair_name", c.key_pair_name)
        c.state = spec.get("lifecycle_state", c.state)
        c.user_data = spec.get("user_data", c.user_data)
        if (c.state not in LIFECYCLE_STATES or not isinstance(c.key_pair_name, str)
                or not isinstance(c.user_data, str)):
            raise ValueError("scaling configuration %s: bad lifecycle_state, key_pair_name or user_data"
                             % cid)
        self.configs[cid] = c
        return self._configuration_state(c)

    def _template_state(self, t):
        return {"id": t.id, "region": t.region, "name": t.name, "default_version": t.default,
                "latest_version": t.latest(),
                "versions": {str(n): d["KeyPairName"] for n, d in sorted(t.versions.items())}}

    def _configuration_state(self, c):
        return {"id": c.id, "region": c.region, "group_id": c.group_id,
                "key_pair_name": c.key_pair_name, "lifecycle_state": c.state}

    def _control_state(self):
        return {"launch_templates": {t.id: self._template_state(t)
                                     for t in self.templates.values()},
                "scaling_configurations": {c.id: self._configuration_state(c)
                                           for c in self.configs.values()}}

    def _control_post(self, path, body):
        """(status, answer) of a control request, or None for a path that is not ours."""
        if path == "/launch-templates":
            return 200, self._set_template(body, time.time())
        if path == "/launch-templates/versions":
            return 200, self._add_version(body)
        if path == "/launch-templates/default":
            return 200, self._set_default(body)
        if path == "/scaling-configurations":
            return 200, self._set_configuration(body, time.time())
        return None

    # --- actions ------------------------------------------------------------------------------

    def _page(self, params, items, limit):
        number = self.int_param(params, "PageNumber", 1, 1, 1 << 30)
        size = self.int_param(params, "PageSize", 10, 1, limit)
        return number, size, items[(number - 1) * size:number * size]

    def _describe_templates(self, params, entry):
        region = self.emu._region(params)
        ids = numbered(params, "LaunchTemplateId", MAX_TEMPLATE_FILTER, self.invalid)
        names = numbered(params, "LaunchTemplateName", MAX_TEMPLATE_FILTER, self.invalid)
        found = [t for t in self.templates.values() if t.region == region
                 and (not ids or t.id in ids) and (not names or t.name in names)]
        number, size, page = self._page(params, found, MAX_TEMPLATE_PAGE)
        return {"TotalCount": len(found), "PageNumber": number, "PageSize": size,
                "LaunchTemplateSets": {"LaunchTemplateSet": [t.to_api() for t in page]}}

    def _find_template(self, params, region):
        tid, name = params.get("LaunchTemplateId"), params.get("LaunchTemplateName")
        if not tid and not name:
            raise self.missing("LaunchTemplateId")
        for t in self.templates.values():
            if t.region == region and (t.id == tid if tid else t.name == name):
                return t
        raise self.ApiError(404, "InvalidLaunchTemplate.NotFound",
                            "The specified launch template is not found.")

    def _describe_versions(self, params, entry):
        region = self.emu._region(params)
        t = self._find_template(params, region)
        entry["launch_template"] = t.id
        wanted = {int(v) for v in numbered(params, "LaunchTemplateVersion", MAX_VERSIONS,
                                           self.invalid) if v.isdigit()}
        lo = self.int_param(params, "MinVersion", 1, 1, 1 << 30)
        hi = self.int_param(params, "MaxVersion", 1 << 30, 1, 1 << 30)
        default_only = self.bool_param(params, "DefaultVersion")
        detail = params.get("DetailFlag", "true").lower() != "false"
        numbers = [n for n in sorted(t.versions) if lo <= n <= hi
                   and (not wanted or n in wanted) and (not default_only or n == t.default)]
        number, size, page = self._page(params, numbers, MAX_VERSION_PAGE)
        return {"TotalCount": len(numbers), "PageNumber": number, "PageSize": size,
                "LaunchTemplateVersionSets": {"LaunchTemplateVersionSet": [
                    t.version_to_api(n, detail) for n in page]}}

    def _describe_configurations(self, params, entry):
        region = self.emu._region(params)
        ids = numbered(params, "ScalingConfigurationId", MAX_CONFIG_FILTER, self.invalid)
        names = numbered(params, "ScalingConfigurationName", MAX_CONFIG_FILTER, self.invalid)
        group = params.get("ScalingGroupId", "")
        # Inactive configurations are "not displayed" when queried by name (CLOUD-API.md 4.2).
        found = [c for c in self.configs.values() if c.region == region
                 and (not group or c.group_id == group) and (not ids or c.id in ids)
                 and (not names or (c.name in names and c.state == "Active"))]
        number, size, page = self._page(params, found, MAX_CONFIG_PAGE)
        return {"TotalCount": len(found), "PageNumber": number, "PageSize": size,
                "ScalingConfigurations": {"ScalingConfiguration": [c.to_api() for c in page]}}


def self_test():
    """Known answers of the pure helpers; True when all hold."""
    def invalid(name):
        return ValueError(name)

    checks = (
        (numbered({"X.2": "b", "X.1": "a", "Y.1": "c"}, "X", 10, invalid), ["a", "b"]),
        (version_data({"key_pair_name": "kp", "user_data": "aGk="}),
         {"KeyPairName": "kp", "UserData": "aGk="}),
        (version_data({}), {"KeyPairName": ""}),
    )
    ok = True
    for i, (got, want) in enumerate(checks):
        if got != want:
            print("FAIL launchsources check %d: %r != %r" % (i, got, want))
            ok = False
    try:
        numbered({"X.11": "a"}, "X", 10, invalid)
        print("FAIL launchsources: X.11 accepted")
        ok = False
    except ValueError:
        pass
    return ok
