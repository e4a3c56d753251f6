// driver.js runs the third-party FastDFS Node client `fdfs` (npm) against the trackers named
// in the environment, one operation per line of standard input, and answers one JSON line per
// operation on standard output. The Go test ../npm_fdfs_test.go drives it and checks the
// answers against Depot's disks, its HTTP module and its gRPC client.
//
//   env DEPOT_TRACKERS = host:port[,host:port...]   (FastDFS tracker_server lines)
//       DEPOT_OP_TIMEOUT_MS = deadline of one operation (default 30000)
//   in  {"id":1,"op":"upload","path":"/tmp/a.bin","ext":"bin","group":"group1"}
//   out {"id":1,"ok":true,"fileId":"group1/M00/00/00/..."}
//       {"id":1,"ok":false,"code":2,"error":"receive packet errno is: 2"}
//
// Operations (the client's own API, nothing re-implemented here):
//   upload        {path | b64, ext?, group?, method?, fileId?, offset?}  → fileId (append/modify: none)
//   download      {fileId, path, offset?, bytes?}                         → (bytes in path)
//   info          {fileId}                                                → info {size,timestamp,crc32,addr}
//   setmeta       {fileId, meta, flag}                                    → —
//   getmeta       {fileId}                                                → meta
//   delete        {fileId}                                                → —
//   listgroups    {}                                                      → groups (cmd 91)
//   parallel      {ops: [request...]}                 → answers (the requests run at once)
'use strict';

const readline = require('readline');
const util = require('util');
const FdfsClient = require('fdfs');

const trackers = (process.env.DEPOT_TRACKERS || '').split(',').filter(Boolean).map((a) => {
    const i = a.lastIndexOf(':');
    return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
});
if (trackers.length === 0 || trackers.some((t) => !t.host || !t.port)) {
    process.stderr.write(`driver.js: DEPOT_TRACKERS must be host:port[,host:port], got ${JSON.stringify(process.env.DEPOT_TRACKERS)}\n`);
    process.exit(2);
}
const opTimeout = Number(process.env.DEPOT_OP_TIMEOUT_MS || 30000);

// The client logs with console by default, which would mix with the answers on stdout.
const toStderr = (...a) => process.stderr.write('fdfs: ' + util.format(...a) + '\n');
const quiet = () => {};
const client = new FdfsClient({
    trackers,
    timeout: 10000,
    logger: { log: quiet, debug: process.env.DEPOT_FDFS_DEBUG ? toStderr : quiet, info: quiet, warn: toStderr, error: toStderr },
});

const ops = {
    upload(r) {
        const file = r.b64 !== undefined ? Buffer.from(r.b64, 'base64') : r.path;
        const o = {};
        for (const k of ['ext', 'group', 'method', 'fileId', 'offset']) {
            if (r[k] !== undefined) o[k] = r[k];
        }
        return client.upload(file, o).then((fileId) => (fileId ? { fileId } : {}));
    },
    download(r) {
        const o = { target: r.path };
        if (r.offset) o.offset = r.offset;
        if (r.bytes) o.bytes = r.bytes;
        return client.download(r.fileId, o).then(() => ({}));
    },
    info(r) {
        return client.getFileInfo(r.fileId).then((info) => ({ info }));
    },
    setmeta(r) {
        return client.setMetaData(r.fileId, r.meta, r.flag).then(() => ({}));
    },
    getmeta(r) {
        return client.getMetaData(r.fileId).then((meta) => ({ meta }));
    },
    delete(r) {
        return client.del(r.fileId).then(() => ({}));
    },
    listgroups() {
        return client.listGroups().then((res) => ({ groups: res.groups }));
    },
};

function answer(id, body) {
    process.stdout.write(JSON.stringify(Object.assign({ id }, body)) + '\n');
}

function run(r) {
    if (r.op === 'parallel') {
        // Several calls at once: as many tracker and storage connections open together.
        return Promise.all((r.ops || []).map(run)).then((answers) => ({ ok: true, answers }));
    }
    const fn = ops[r.op];
    if (!fn) {
        return Promise.resolve({ ok: false, error: `unknown op ${JSON.stringify(r.op)}` });
    }
    let timer;
    // The client never settles a call whose socket timed out, so every call has a deadline.
    const deadline = new Promise((resolve) => {
        timer = setTimeout(() => resolve({ ok: false, error: `${r.op} did not finish within ${opTimeout} ms` }), opTimeout);
    });
    const call = Promise.resolve()
        .then(() => fn(r))
        .then((out) => Object.assign({ ok: true }, out), (err) => ({
            ok: false,
            code: err && typeof err.code === 'number' ? err.code : null,
            error: String(err && err.message ? err.message : err),
        }));
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

// One operation at a time, in order: the test reads one answer per request.
let chain = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    let r;
    try {
        r = JSON.parse(line);
    } catch (e) {
        answer(null, { ok: false, error: `bad request line ${JSON.stringify(line)}: ${e.message}` });
        return;
    }
    chain = chain.then(() => run(r)).then((out) => answer(r.id, out));
}).on('close', () => {
    chain.then(() => process.exit(0));
});

process.on('unhandledRejection', (e) => toStderr('unhandled rejection:', e));
