// stack.mjs - starts and stops the whole stack (front server, chat.fcgi,
// chat-ws) through conf/serve.sh for the Node integration tests, on free
// ports and in a temporary state directory, and small client helpers.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const srcdir = process.env.top_srcdir || path.resolve(here, '../../..');
export const builddir = process.env.top_builddir || process.cwd();

const sbinPath = `${process.env.PATH}:/usr/sbin:/sbin`;

/** A TCP port nobody listens on right now. */
export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

function run(cmd, args, extraEnv = {}) {
	/* The programs read CHAT_<OPTION> variables over chat.conf: keep the
	 * caller's out of the stack's way. */
	const env = { ...process.env, PATH: sbinPath };
	for (const k of Object.keys(env))
		if (/^CHAT_/.test(k) && !/^CHAT_REQUIRE_/.test(k))
			delete env[k];
	for (const k of ['FCGI_PROCS', 'FCGID_MAX_PROCS', 'PROXY_IDLE_TIMEOUT', 'SOCKJS_TEST_SERVICES', 'MONGODB_URI'])
		delete env[k];
	Object.assign(env, extraEnv);
	return new Promise((resolve) => {
		const child = spawn(cmd, args, {
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let out = '';
		child.stdout.on('data', (d) => { out += d; });
		child.stderr.on('data', (d) => { out += d; });
		child.on('close', (code) => resolve({ code, out }));
	});
}

function which(name) {
	return sbinPath.split(':').some((d) => d && existsSync(path.join(d, name)));
}

/** Why front cannot run here, or null when it can. */
export function frontMissing(front) {
	if (!existsSync(path.join(builddir, 'ws', 'chat-ws')))
		return 'ws/chat-ws is not built';
	if (front.startsWith('lighttpd'))
		return which('lighttpd') ? null : 'lighttpd not installed';
	if (!which('apache2'))
		return 'apache2 not installed';
	const module = { 'apache-fcgid': 'mod_fcgid', 'apache-cgid': 'mod_cgid' }[front];
	if (module && !existsSync(`/usr/lib/apache2/modules/${module}.so`))
		return `${module} not installed`;
	return null;
}

export const FRONTS = ['lighttpd', 'apache-fcgid', 'apache-proxy-fcgi'];
/** chat.fcgi as plain CGI, one process per request (docs/shared-hosting.md). */
export const CGI_FRONTS = ['lighttpd-cgi', 'apache-cgid'];

async function waitPort(port, ms = 10000) {
	const end = Date.now() + ms;
	for (;;) {
		const ok = await new Promise((resolve) => {
			const s = net.connect(port, '127.0.0.1');
			s.on('connect', () => { s.destroy(); resolve(true); });
			s.on('error', () => resolve(false));
		});
		if (ok)
			return;
		if (Date.now() > end)
			throw new Error(`nothing listens on port ${port}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/**
 * Starts conf/serve.sh --daemon with the test services.  options are
 * chat.conf options (serve.sh --set NAME=VALUE, e.g. { topic_send: 1 });
 * fcgiProcs sets lighttpd's chat.fcgi processes (FCGI_PROCS); dir is a
 * state directory to use again (one a halt() left); mongodbUri keeps the
 * history in MongoDB; idleTimeout sets the front server's idle timeout in
 * seconds (PROXY_IDLE_TIMEOUT; 60 as shipped).  Returns
 * { front, http, ws, wsDirect, dir, pids, stop(), halt(), readPids(),
 * chatFcgiPids(), chatWsPids() }: http/ws are the front server's base URLs,
 * wsDirect the sidecar's own; pids is the pid file at the start (readPids()
 * reads it again: serve.sh's supervisor rewrites chat-ws's line when it
 * restarts it).
 */
export async function startStack({ front = 'lighttpd', origins, testServices = true, options = {},
	fcgiProcs, dir: reuse, mongodbUri, idleTimeout, limits = false } = {}) {
	const port = await freePort();
	const dir = reuse ?? await mkdtemp(path.join(os.tmpdir(), 'chat-ws-test-'));
	const args = [path.join(srcdir, 'conf', 'serve.sh'), '--front', front, '--port', String(port),
		'--var', dir, '--builddir', builddir, '--daemon'];
	if (mongodbUri)
		args.push('--mongodb-uri', mongodbUri);
	if (testServices)
		args.push('--test-services');
	if (origins)
		args.push('--origins', origins);
	/* SEND, new-session and held-request limits are off unless a test sets them or
	 * asks for the shipped defaults (limits: true, as the browser tests do): load
	 * tests send faster than any person, and every test client comes from
	 * 127.0.0.1; 50-abuse tests the limits. */
	const off = limits ? {} : { rate_sends_burst: 0, rate_guest_sends_burst: 0,
		sessions_per_addr_burst: 0, held_per_addr: 1000 };
	const all = { ...off, ...options };
	for (const [name, value] of Object.entries(all))
		args.push('--set', `${name}=${value}`);
	const r = await run('bash', args, {
		...(fcgiProcs ? { FCGI_PROCS: String(fcgiProcs) } : {}),
		...(idleTimeout ? { PROXY_IDLE_TIMEOUT: String(idleTimeout) } : {}),
	});
	if (r.code !== 0) {
		await run('bash', [path.join(srcdir, 'conf', 'serve.sh'), '--stop', '--var', dir]);
		await rm(dir, { recursive: true, force: true });
		throw new Error(`serve.sh --front ${front} failed (${r.code}): ${r.out}`);
	}
	const conf = await readFile(path.join(dir, 'run', 'chat.conf'), 'utf8');
	const wsPort = Number(/^ws_port = (\d+)$/m.exec(conf)[1]);
	await waitPort(wsPort);
	const readPids = async () => {
		const found = {};
		for (const line of (await readFile(path.join(dir, 'run', 'pids'), 'utf8')).split('\n')) {
			const [pid, name] = line.split(' ');
			if (name)
				found[name] = Number(pid);
		}
		return found;
	};
	const pids = await readPids();
	const config = path.join(dir, 'run', 'chat.conf');
	return {
		readPids,
		front, port, wsPort, dir, pids,
		http: `http://127.0.0.1:${port}`,
		ws: `ws://127.0.0.1:${port}`,
		wsDirect: `ws://127.0.0.1:${wsPort}`,
		/* PIDs of the live chat.fcgi processes of this stack (spawned by
		 * the front server or by serve.sh): they carry CHAT_CONFIG. */
		async chatFcgiPids() {
			return chatFcgiPids(config);
		},
		/* PIDs of the live chat-ws processes of this stack. */
		async chatWsPids() {
			return programPids(config, 'chat-ws');
		},
		async log(name) {
			return readFile(path.join(dir, 'run', name), 'utf8').catch(() => '');
		},
		/* Stops everything and keeps the state directory (for
		 * startStack({ dir })). */
		async halt() {
			await run('bash', [path.join(srcdir, 'conf', 'serve.sh'), '--stop', '--var', dir]);
		},
		/* Stops everything and removes the state directory; throws when a
		 * program's log shows a sanitizer report (--enable-sanitizers). */
		async stop() {
			await run('bash', [path.join(srcdir, 'conf', 'serve.sh'), '--stop', '--var', dir]);
			let found = '';
			for (const name of await readdir(path.join(dir, 'run')).catch(() => [])) {
				if (!name.endsWith('.log'))
					continue;
				const text = await readFile(path.join(dir, 'run', name), 'utf8').catch(() => '');
				const i = text.search(/ERROR: (Address|Leak)Sanitizer|runtime error:/);
				if (i >= 0)
					found += `${name}:\n${text.slice(Math.max(0, i - 200), i + 3000)}\n`;
			}
			/* CHAT_KEEP_LOGS=DIR keeps each stack's logs for a post-mortem. */
			if (process.env.CHAT_KEEP_LOGS)
				await cp(path.join(dir, 'run'), path.join(process.env.CHAT_KEEP_LOGS, path.basename(dir)),
					{ recursive: true, filter: (f) => !/\.(db|sock)(-wal|-shm)?$/.test(f) }).catch(() => {});
			await rm(dir, { recursive: true, force: true });
			if (found)
				throw new Error(`sanitizer report in the stack's logs:\n${found}`);
		},
	};
}

/** Runs sql on the SQLite file db with the sqlite3 shell (read-only
 * unless write is set) and resolves with its output. */
export function sqlite(db, sql, { write = false } = {}) {
	return new Promise((resolve, reject) => {
		execFile('sqlite3', [...(write ? [] : ['-readonly']), db, sql],
			(e, out) => (e ? reject(e) : resolve(out)));
	});
}

/** PIDs of live chat.fcgi processes started with CHAT_CONFIG=config. */
export function chatFcgiPids(config) {
	return programPids(config, 'chat.fcgi');
}

/** PIDs of live processes running program (a file name) with CHAT_CONFIG=config. */
export async function programPids(config, program) {
	const found = [];
	for (const e of await readdir('/proc')) {
		if (!/^\d+$/.test(e))
			continue;
		try {
			const exe = await readlink(`/proc/${e}/exe`);
			if (path.basename(exe) !== program)
				continue;
			const env = (await readFile(`/proc/${e}/environ`, 'latin1')).split('\0');
			const stat = await readFile(`/proc/${e}/stat`, 'latin1');
			if (env.includes(`CHAT_CONFIG=${config}`) && !/\) Z /.test(stat))
				found.push(Number(e));
		} catch {
			/* gone, or not ours to read */
		}
	}
	return found.sort((a, b) => a - b);
}

/**
 * Tries to open a WebSocket to url up to attempts times, 50 ms apart, until
 * one opens (e.g. while a supervisor restarts chat-ws); resolves with the
 * open socket, or rejects naming the last failure.
 */
export async function waitWebSocket(url, attempts = 400) {
	const { default: WebSocket } = await import('ws');
	let why = '';
	for (let i = 0; i < attempts; i++) {
		const ws = new WebSocket(url);
		why = await new Promise((resolve) => {
			ws.once('open', () => resolve(null));
			ws.once('unexpected-response', (req, res) => {
				req.destroy();
				res.resume();
				resolve(`HTTP ${res.statusCode}`);
			});
			ws.on('error', (e) => resolve(e.message));
		});
		if (why === null)
			return ws;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`no WebSocket at ${url} after ${attempts} attempts: ${why}`);
}

/** Resolves with the value of ev on emitter, or rejects after ms. */
export function once(emitter, ev, ms = 10000) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error(`no ${ev} within ${ms} ms`)), ms);
		emitter.once(ev, (...a) => { clearTimeout(t); resolve(a); });
	});
}

/**
 * A message queue over an event source: push() from the handler, next()
 * to await the following item (rejects after ms).
 */
export class Inbox {
	constructor() { this.items = []; this.waiters = []; }
	push(x) {
		const w = this.waiters.shift();
		if (w) { clearTimeout(w.t); w.resolve(x); } else this.items.push(x);
	}
	next(ms = 10000) {
		if (this.items.length > 0)
			return Promise.resolve(this.items.shift());
		return new Promise((resolve, reject) => {
			const w = { resolve, t: setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms) };
			this.waiters.push(w);
		});
	}
}
