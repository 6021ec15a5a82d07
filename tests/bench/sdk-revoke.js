#!/usr/bin/env node
// The script an operator would write by hand on Alibaba's own SDK (@alicloud/pop-core), raced
// against keyrevoked by the benchmark: for each region, for each revoked key pair, list its
// instances (DescribeInstances by KeyPairName, MaxResults=100/NextToken to the end), then detach
// the Linux ones (DetachKeyPair, 50 per call); at most CONCURRENCY requests at once; a Throttling
// answer is retried after 1 s. Not part of keyrevoke: bench.sh installs the SDK in a scratch dir.
//
// Usage: node sdk-revoke.js --sdk PREFIX --endpoint https://127.0.0.1:PORT --list FILE
//                           [--concurrency N]
// Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET. The endpoint's CA
// comes from NODE_EXTRA_CA_CERTS. Prints one JSON summary line on stdout; exit 0 when every call
// succeeded, 2 when some failed, 1 on usage errors.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const net = require('net');
const path = require('path');

const PAGE_INSTANCES = 100;
const PAGE_KEYPAIRS = 50;
const DETACH_BATCH = 50;
const THROTTLE_RETRY_MS = 1000;
const REQUEST_TIMEOUT_MS = 10000;
const KEY_PREFIXES = ['ssh-', 'ecdsa-sha2-', 'sk-'];

function usage(msg) {
    process.stderr.write(`sdk-revoke: ${msg}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const opts = { concurrency: 8 };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i], value = argv[i + 1];
        if (value === undefined) usage(`${key} needs a value`);
        if (key === '--sdk') opts.sdk = value;
        else if (key === '--endpoint') opts.endpoint = value;
        else if (key === '--list') opts.list = value;
        else if (key === '--concurrency') opts.concurrency = Number(value);
        else usage(`unknown option ${key}`);
    }
    if (!opts.sdk || !opts.endpoint || !opts.list) {
        usage('--sdk, --endpoint and --list are required');
    }
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) usage('bad --concurrency');
    return opts;
}

// Loopback only: the endpoint must be a loopback address, and every connection is checked again.
function isLoopback(host) {
    const h = host.replace(/^\[|\]$/g, '');
    return (net.isIPv4(h) && h.startsWith('127.')) || h === '::1';
}

class LoopbackAgent extends https.Agent {
    createConnection(options, cb) {
        if (!isLoopback(String(options.host))) {
            throw new Error(`refusing to connect to non-loopback ${options.host}`);
        }
        return super.createConnection(options, cb);
    }
}

// Splits a list line into tokens; double quotes group (reason="two words").
function tokenize(line) {
    const out = [];
    let cur = '', quoted = false, any = false;
    for (const ch of line) {
        if (ch === '"') {
            quoted = !quoted;
            any = true;
        } else if (!quoted && /\s/.test(ch)) {
            if (any) out.push(cur);
            cur = '';
            any = false;
        } else {
            cur += ch;
            any = true;
        }
    }
    if (any) out.push(cur);
    return out;
}

// One entry per line: a public key (rest is a comment), a SHA256:/MD5: fingerprint or a key pair
// name; fingerprints and names may carry region=R1,R2.
function parseList(text) {
    const entries = [];
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) continue;
        const tok = tokenize(line);
        if (KEY_PREFIXES.some((p) => tok[0].startsWith(p))) {
            entries.push({ kind: 'key', type: tok[0], blob: tok[1] || '', regions: null });
            continue;
        }
        const opt = tok.slice(1).find((t) => t.startsWith('region='));
        const regions = opt ? new Set(opt.slice('region='.length).split(',')) : null;
        const head = tok[0];
        const fp = head.startsWith('SHA256:') ? 'sha256' : head.startsWith('MD5:') ? 'md5' : null;
        if (fp) entries.push({ kind: fp, fp: fp === 'md5' ? head.toLowerCase() : head, regions });
        else entries.push({ kind: 'name', name: head, regions });
    }
    return entries;
}

function keyMatches(entry, publicKey) {
    const [type, b64] = String(publicKey || '').trim().split(/\s+/);
    if (!b64) return false;
    const blob = Buffer.from(b64, 'base64');
    if (entry.kind === 'key') {
        return type === entry.type && blob.equals(Buffer.from(entry.blob, 'base64'));
    }
    if (entry.kind === 'sha256') {
        const fp = crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
        return `SHA256:${fp}` === entry.fp;
    }
    const md5 = crypto.createHash('md5').update(blob).digest('hex').match(/../g).join(':');
    return `md5:${md5}` === entry.fp;
}

class Semaphore {
    constructor(n) {
        this.free = n;
        this.waiting = [];
    }

    async acquire() {
        if (this.free > 0) {
            this.free--;
            return;
        }
        await new Promise((resolve) => this.waiting.push(resolve));
    }

    release() {
        const next = this.waiting.shift();
        if (next) next();
        else this.free++;
    }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Run {
    constructor(client, concurrency) {
        this.client = client;
        this.slots = new Semaphore(concurrency);
        this.stats = {
            calls: {}, throttled: 0, failed: 0, errors: {}, detached: 0, windows_skipped: 0,
        };
    }

    // One API call, holding a slot (also while it waits out a throttle, as p-limit code does).
    async call(action, params) {
        await this.slots.acquire();
        try {
            for (;;) {
                this.stats.calls[action] = (this.stats.calls[action] || 0) + 1;
                try {
                    return await this.client.request(action, params, { method: 'POST' });
                } catch (e) {
                    if (!String(e.code || '').startsWith('Throttling')) throw e;
                    this.stats.throttled++;
                    await sleep(THROTTLE_RETRY_MS);
                }
            }
        } finally {
            this.slots.release();
        }
    }

    failure(what, e) {
        const code = String(e.code || e.name || 'Error');
        this.stats.failed++;
        this.stats.errors[code] = (this.stats.errors[code] || 0) + 1;
        process.stderr.write(`sdk-revoke: ${what}: ${code}: ${e.message}\n`);
    }

    async keyPairNames(region, keyEntries) {
        const names = new Set();
        for (let page = 1; ; page++) {
            const r = await this.call('DescribeKeyPairs', {
                RegionId: region, IncludePublicKey: 'true', PageSize: PAGE_KEYPAIRS,
                PageNumber: page,
            });
            const kps = (r.KeyPairs && r.KeyPairs.KeyPair) || [];
            for (const kp of kps) {
                if (keyEntries.some((e) => keyMatches(e, kp.PublicKey))) names.add(kp.KeyPairName);
            }
            if (kps.length === 0 || page * PAGE_KEYPAIRS >= Number(r.TotalCount)) return names;
        }
    }

    async enforceKeyPair(region, name) {
        const linux = [];
        let token = '';
        do {
            const params = { RegionId: region, KeyPairName: name, MaxResults: PAGE_INSTANCES };
            if (token) params.NextToken = token;
            const r = await this.call('DescribeInstances', params);
            for (const inst of (r.Instances && r.Instances.Instance) || []) {
                if (String(inst.OSType).toLowerCase() === 'windows') this.stats.windows_skipped++;
                else linux.push(inst.InstanceId);
            }
            token = r.NextToken || '';
        } while (token);
        const batches = [];
        for (let i = 0; i < linux.length; i += DETACH_BATCH) {
            batches.push(linux.slice(i, i + DETACH_BATCH));
        }
        await Promise.all(batches.map(async (ids) => {
            try {
                const r = await this.call('DetachKeyPair', {
                    RegionId: region, KeyPairName: name, InstanceIds: JSON.stringify(ids),
                });
                const results = (r.Results && r.Results.Result) || null;
                this.stats.detached += results
                    ? results.filter((x) => String(x.Success) === 'true').length : ids.length;
            } catch (e) {
                this.failure(`DetachKeyPair ${region}/${name}`, e);
            }
        }));
    }

    async enforceRegion(region, entries) {
        const applies = entries.filter((e) => !e.regions || e.regions.has(region));
        const names = new Set(applies.filter((e) => e.kind === 'name').map((e) => e.name));
        const keyEntries = applies.filter((e) => e.kind !== 'name');
        if (keyEntries.length > 0) {
            try {
                for (const n of await this.keyPairNames(region, keyEntries)) names.add(n);
            } catch (e) {
                this.failure(`DescribeKeyPairs ${region}`, e);
            }
        }
        await Promise.all([...names].map((name) => this.enforceKeyPair(region, name)
            .catch((e) => this.failure(`DescribeInstances ${region}/${name}`, e))));
    }
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'https:' || !isLoopback(url.hostname)) {
        usage('the endpoint must be https on a loopback address');
    }
    const id = process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
    const secret = process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    if (!id || !secret) {
        usage('ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are required');
    }
    const sdk = path.join(path.resolve(opts.sdk), 'node_modules', '@alicloud', 'pop-core');
    const RPCClient = require(sdk);
    const agent = new LoopbackAgent({ keepAlive: true, maxSockets: opts.concurrency });
    const client = new RPCClient({
        endpoint: opts.endpoint, apiVersion: '2014-05-26', accessKeyId: id, accessKeySecret: secret,
        opts: { agent, timeout: REQUEST_TIMEOUT_MS },
    });
    const run = new Run(client, opts.concurrency);
    const entries = parseList(fs.readFileSync(opts.list, 'utf8'));
    try {
        const r = await run.call('DescribeRegions', { RegionId: 'cn-hangzhou' });
        const regions = r.Regions.Region.map((x) => x.RegionId);
        await Promise.all(regions.map((region) => run.enforceRegion(region, entries)));
    } catch (e) {
        run.failure('DescribeRegions', e);
    }
    agent.destroy();
    process.stdout.write(JSON.stringify(run.stats) + '\n');
    return run.stats.failed ? 2 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
    process.stderr.write(`sdk-revoke: ${e.stack || e}\n`);
    process.exit(1);
});
