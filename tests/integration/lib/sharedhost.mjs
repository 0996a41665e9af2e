// sharedhost.mjs - a shared host for the tests: an Apache 2.4 with Debian's
// stock configuration (apache2.conf's structure, Debian's module set and
// their .load/.conf files from /etc/apache2/mods-available, plus mod_rewrite,
// mod_headers, mod_userdir and mod_fcgid or mod_cgid) on the test's own
// port and directories, nothing of ours at server level but a UserDir with
// AllowOverride All.  The bundle (tools/shared-host-bundle.sh) is unpacked
// into ~alice/public_html, its chat.conf made from chat.conf.sample with the
// state in ~alice/chat-state, outside the web directory.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { builddir, freePort, srcdir } from './stack.mjs';

const AVAILABLE = '/etc/apache2/mods-available';
/* Debian's default set (a2enmod's after installing apache2), and what a
 * shared host adds. */
const STOCK = ['access_compat', 'alias', 'auth_basic', 'authn_core', 'authn_file', 'authz_core',
	'authz_host', 'authz_user', 'autoindex', 'deflate', 'dir', 'env', 'filter', 'mime',
	'mpm_event', 'negotiation', 'reqtimeout', 'setenvif', 'status', 'rewrite', 'headers', 'userdir'];
const APACHE2 = process.env.APACHE2 || '/usr/sbin/apache2';

function run(cmd, args, opts = {}) {
	return new Promise((resolve, reject) => {
		execFile(cmd, args, opts, (e, out, err) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${e.message}\n${out}${err}`)) : resolve(out)));
	});
}

/** Why a shared host cannot run here (module: 'fcgid' or 'cgid'), or null. */
export function sharedHostMissing(module) {
	if (!existsSync(APACHE2))
		return 'apache2 not installed';
	for (const m of [...STOCK, module])
		if (!existsSync(path.join(AVAILABLE, `${m}.load`)))
			return `${AVAILABLE}/${m}.load missing`;
	for (const f of ['sockjs.min.js', 'stomp.umd.min.js'])
		if (!existsSync(path.join(srcdir, 'www', 'js', f)))
			return `www/js/${f} missing (make www-bundles)`;
	if (!existsSync(path.join(builddir, 'fcgi', 'chat.fcgi')))
		return 'fcgi/chat.fcgi is not built';
	return null;
}

async function waitAnswer(url, ms = 15000) {
	const end = Date.now() + ms;
	for (;;) {
		try {
			const r = await fetch(url);
			await r.arrayBuffer();
			if (r.status === 200)
				return;
		} catch { /* not yet */ }
		if (Date.now() > end)
			throw new Error(`no answer from ${url}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/**
 * Starts the shared host with module 'fcgid' or 'cgid' and the bundle in
 * ~alice/public_html/chat.  With proxy, the host also loads mod_proxy and
 * mod_proxy_wstunnel (the .htaccess then routes upgrades to the sidecar on
 * a port of the test's, written into chat.conf and .htaccess as
 * docs/shared-hosting.md says).  Resolves with { http, page (the page's
 * URL), sockjs (the SockJS endpoint's URL), api (its /api), dir, state,
 * wsPort, sidecar(...args) (runs the bundle's chat-ws as the account with
 * CHAT_CONFIG, resolves with { code, out }), log(), stop() }.
 */
export async function startSharedHost(module, { proxy = false } = {}) {
	const dir = await mkdtemp(path.join(os.tmpdir(), `chat-sharedhost-${module}-`));
	const port = await freePort();
	const runDir = path.join(dir, 'run');
	const home = path.join(dir, 'home', 'alice');
	const web = path.join(home, 'public_html');
	const state = path.join(home, 'chat-state');
	const docroot = path.join(dir, 'www');
	await mkdir(path.join(dir, 'mods-enabled'), { recursive: true });
	await mkdir(path.join(runDir, 'socks'), { recursive: true });
	await mkdir(web, { recursive: true });
	await mkdir(state, { recursive: true });
	await mkdir(docroot, { recursive: true });
	for (const m of [...STOCK, module, ...(proxy ? ['proxy', 'proxy_wstunnel'] : [])])
		for (const ext of ['load', 'conf'])
			if (existsSync(path.join(AVAILABLE, `${m}.${ext}`)))
				await symlink(path.join(AVAILABLE, `${m}.${ext}`), path.join(dir, 'mods-enabled', `${m}.${ext}`));
	const root = process.getuid() === 0;
	/* Apache's account must reach the user directory (mkdtemp: 0700). */
	await chmod(dir, 0o755);
	await writeFile(path.join(dir, 'apache2.conf'), `# Debian's apache2.conf, on this test's directories and port
ServerRoot "${dir}"
Define APACHE_RUN_DIR ${runDir}
DefaultRuntimeDir ${runDir}
PidFile ${runDir}/apache2.pid
Mutex file:${runDir} default
Timeout 300
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
${root ? 'User www-data\nGroup www-data' : ''}
HostnameLookups Off
ErrorLog ${runDir}/error.log
LogLevel warn
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Listen 127.0.0.1:${port}
ServerName localhost
<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
<Directory ${docroot}/>
	Options Indexes FollowSymLinks
	AllowOverride None
	Require all granted
</Directory>
AccessFileName .htaccess
<FilesMatch "^\\.ht">
	Require all denied
</FilesMatch>
DocumentRoot ${docroot}
# Debian's userdir.conf with the host's AllowOverride All.
UserDir ${path.join(dir, 'home')}/*/public_html
<Directory ${path.join(dir, 'home')}/*/public_html>
	AllowOverride All
	Options MultiViews Indexes SymLinksIfOwnerMatch IncludesNoExec
	Require method GET POST OPTIONS
</Directory>
`);
	const version = 'test';
	await run('sh', [path.join(srcdir, 'tools', 'shared-host-bundle.sh'), srcdir, builddir, version], { cwd: dir });
	await run('tar', ['-C', web, '-xzf', path.join(dir, `chat-shared-host-${version}.tar.gz`)]);
	const sample = await readFile(path.join(web, 'chat', 'chat.conf.sample'), 'utf8');
	const wsPort = await freePort();
	await writeFile(path.join(web, 'chat', 'chat.conf'),
		sample.replaceAll('/home/USER/chat-state', state).replace(/^ws_port = \d+$/m, `ws_port = ${wsPort}`));
	const htaccess = path.join(web, 'chat', '.htaccess');
	await writeFile(htaccess, (await readFile(htaccess, 'utf8')).replaceAll('127.0.0.1:8081', `127.0.0.1:${wsPort}`));
	/* The program runs as the account that owns the files (as under
	 * suexec): here Apache's, which mod_fcgid and mod_cgid run it as. */
	if (root)
		await run('chown', ['-R', 'www-data:www-data', home]);
	const log = path.join(runDir, 'apache.log');
	const child = spawn(APACHE2, ['-f', path.join(dir, 'apache2.conf'), '-DFOREGROUND'],
		{ stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH } });
	let stderr = '';
	child.stderr.on('data', (d) => { stderr += d; });
	const exited = new Promise((resolve) => child.on('exit', resolve));
	const http = `http://127.0.0.1:${port}`;
	const page = `${http}/~alice/chat/`;
	const config = path.join(web, 'chat', 'chat.conf');
	/* As the crontab line runs it: its output appended to a log (a
	 * detached sidecar keeps it open), which out is the new part of. */
	const sidecarLog = path.join(state, 'chat-ws.log');
	const sidecar = async (...args) => {
		const cmd = [...(root ? ['setpriv', '--reuid=www-data', '--regid=www-data', '--init-groups'] : []),
			path.join(web, 'chat', 'chat-ws'), ...args];
		const before = (await readFile(sidecarLog, 'utf8').catch(() => '')).length;
		const fh = await open(sidecarLog, 'a');
		const code = await new Promise((resolve) => {
			const c = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', fh.fd, fh.fd],
				env: { PATH: process.env.PATH, CHAT_CONFIG: config } });
			c.on('exit', resolve);
		});
		await fh.close();
		return { code, out: (await readFile(sidecarLog, 'utf8')).slice(before) };
	};
	const pidFile = path.join(state, 'chat-ws.pid');
	const stop = async () => {
		/* A sidecar started with --pidfile: TERM it by its PID. */
		const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
		if (pid > 0) {
			try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
			for (let i = 0; i < 200; i++) {
				try { process.kill(pid, 0); } catch { break; }
				await new Promise((r) => setTimeout(r, 25));
			}
		}
		if (child.exitCode === null && child.signalCode === null) {
			child.kill('SIGTERM');
			const t = setTimeout(() => child.kill('SIGKILL'), 10000);
			await exited;
			clearTimeout(t);
		}
		/* mod_fcgid's and mod_cgid's children go with Apache; a held
		 * chat process may outlive it by a heartbeat at most. */
		await rm(dir, { recursive: true, force: true });
	};
	try {
		await Promise.race([waitAnswer(page), exited.then((c) => { throw new Error(`apache2 exited (${c}): ${stderr}`); })]);
	} catch (e) {
		const errlog = await readFile(path.join(runDir, 'error.log'), 'utf8').catch(() => '');
		await stop();
		throw new Error(`${e.message}\n${errlog.split('\n').slice(-20).join('\n')}`);
	}
	return {
		module, port, http, page, dir, state, wsPort, sidecar, pidFile,
		sockjs: `${page}chat`,
		api: `${page}api`,
		log: () => readFile(path.join(runDir, 'error.log'), 'utf8').catch(() => ''),
		logFile: log,
		stop,
	};
}

/** Resolves when something accepts on port (for a sidecar). */
export function waitPort(port, ms = 10000) {
	const end = Date.now() + ms;
	return new Promise((resolve, reject) => {
		const once = () => {
			const s = net.connect(port, '127.0.0.1');
			s.on('connect', () => { s.destroy(); resolve(); });
			s.on('error', () => (Date.now() > end ? reject(new Error(`nothing on ${port}`)) : setTimeout(once, 50)));
		};
		once();
	});
}
