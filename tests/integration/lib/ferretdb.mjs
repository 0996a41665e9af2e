// ferretdb.mjs - a MongoDB wire-protocol server for the Node integration
// tests: MONGODB_URI when it is set (a real mongod), else the FerretDB
// fixture (tests/fixtures/ferretdb/ferretdb-fixture, built by make check)
// on a free 127.0.0.1 port with a temporary data directory, as
// with-ferretdb.sh does for the C tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { builddir } from './stack.mjs';

let counter = 0;

/* A URI on base naming a database of its own. */
function withDatabase(base, name) {
	const u = new URL(base);
	u.pathname = `/${name}`;
	return u.toString();
}

/**
 * Resolves with { uri, stop() } (uri names a fresh database), or with
 * { missing: reason } when there is no server and no fixture, which is a
 * failure (thrown) when CHAT_REQUIRE_MONGO=1.
 */
export async function startMongo(tag = 'test') {
	const db = `${tag}_${process.pid}_${++counter}`;
	if (process.env.MONGODB_URI)
		return { uri: withDatabase(process.env.MONGODB_URI, db), stop: async () => {} };
	const fixture = process.env.FERRETDB_FIXTURE ||
		path.join(builddir, 'tests', 'fixtures', 'ferretdb', 'ferretdb-fixture');
	if (!existsSync(fixture)) {
		const missing = 'the FerretDB fixture is not built (needs Go)';
		if (process.env.CHAT_REQUIRE_MONGO === '1')
			throw new Error(`${missing}, and CHAT_REQUIRE_MONGO=1 forbids skipping`);
		return { missing };
	}
	const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-ferretdb-'));
	/* -stdin-eof: the fixture stops when this process (its stdin) goes. */
	const child = spawn(fixture, ['-listen', '127.0.0.1:0', '-dir', path.join(dir, 'data'),
		'-stdin-eof'], { stdio: ['pipe', 'pipe', 'inherit'] });
	const exited = new Promise((resolve) => child.on('exit', resolve));
	const line = await new Promise((resolve, reject) => {
		let out = '';
		const timer = setTimeout(() => reject(new Error('FerretDB fixture: no ready line in 60 s')),
			60000);
		child.stdout.on('data', (d) => {
			out += d;
			const nl = out.indexOf('\n');
			if (nl >= 0) {
				clearTimeout(timer);
				resolve(out.slice(0, nl));
			}
		});
		child.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`FerretDB fixture exited (${code}) before ready`));
		});
	});
	const m = /^ready (mongodb:\/\/\S+)$/.exec(line);
	if (!m)
		throw new Error(`FerretDB fixture: unexpected line ${line}`);
	return {
		uri: withDatabase(m[1], db),
		async stop() {
			child.kill('SIGTERM');
			await exited;
			await rm(dir, { recursive: true, force: true });
		},
	};
}
