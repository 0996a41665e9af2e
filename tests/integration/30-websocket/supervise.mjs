// supervise.mjs - conf/serve.sh supervises chat-ws (issue 11): a SIGKILLed
// chat-ws is replaced and WebSocket works again through the front server,
// the pid file names the new process, and stopping the stack (serve.sh
// --stop, or TERM to the supervisor) leaves no chat-ws running; the cron
// line of docs/supervision.md, run as written, starts one chat-ws only; a
// program that keeps failing is restarted after ever longer pauses.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { Inbox, builddir, frontMissing, once, srcdir, startStack, waitWebSocket } from '../lib/stack.mjs';

const skip = frontMissing('lighttpd') || false;
const stacks = [];
after(async () => {
	for (const s of stacks)
		await s.stop();
});
async function stack() {
	const s = await startStack({ front: 'lighttpd' });
	stacks.push(s);
	return s;
}

/* A raw echo WebSocket through the front server: one message goes round. */
async function echoes(ws, text) {
	const got = new Inbox();
	ws.on('message', (d) => got.push(d.toString()));
	ws.send(text);
	assert.equal(await got.next(), text);
}

/* Polls until pid has gone or is a zombie (bounded: 10 s). */
async function gone(pid) {
	for (let i = 0; i < 200; i++) {
		const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => '');
		if (stat === '' || /\) [ZX] /.test(stat))
			return;
		await new Promise((r) => setTimeout(r, 50));
	}
	assert.fail(`process ${pid} still runs`);
}

test('a SIGKILLed chat-ws is restarted and serves WebSocket again; --stop leaves none', { skip, timeout: 60000 }, async () => {
	const s = await stack();
	const first = await waitWebSocket(`${s.ws}/echo/websocket`, 1);
	await echoes(first, 'before');
	assert.deepEqual(await s.chatWsPids(), [s.pids['chat-ws']]);
	const closed = new Promise((resolve) => first.on('close', resolve));

	process.kill(s.pids['chat-ws'], 'SIGKILL');
	assert.equal(await closed, 1006);
	const again = await waitWebSocket(`${s.ws}/echo/websocket`);
	await echoes(again, 'after');

	const now = await s.readPids();
	assert.notEqual(now['chat-ws'], s.pids['chat-ws'], 'a new chat-ws in the pid file');
	assert.equal(now['chat-ws-supervisor'], s.pids['chat-ws-supervisor']);
	assert.deepEqual(await s.chatWsPids(), [now['chat-ws']]);
	assert.match(await s.log('chat-ws.log'), new RegExp(`chat-ws \\(pid ${s.pids['chat-ws']}\\) exited .* restarting`));
	again.close();

	stacks.splice(stacks.indexOf(s), 1);
	await s.stop();
	await gone(now['chat-ws-supervisor']);
	assert.deepEqual(await s.chatWsPids(), [], 'no chat-ws left after serve.sh --stop');
});

test('TERM to the supervisor stops chat-ws and supervising', { skip, timeout: 60000 }, async () => {
	const s = await stack();
	(await waitWebSocket(`${s.ws}/echo/websocket`, 1)).close();
	process.kill(s.pids['chat-ws-supervisor'], 'SIGTERM');
	/* Once the supervisor is gone nothing can start a chat-ws again. */
	await gone(s.pids['chat-ws-supervisor']);
	await gone(s.pids['chat-ws']);
	assert.deepEqual(await s.chatWsPids(), []);
	assert.doesNotMatch(await s.log('chat-ws.log'), /restarting/);
});

test('the cron line of docs/supervision.md starts chat-ws once, and again after it died', { skip, timeout: 60000 }, async () => {
	const s = await stack();
	/* A host without supervision: the stack's chat-ws gone for good. */
	process.kill(s.pids['chat-ws-supervisor'], 'SIGTERM');
	await gone(s.pids['chat-ws-supervisor']);
	await gone(s.pids['chat-ws']);
	const doc = await readFile(path.join(srcdir, 'docs', 'supervision.md'), 'utf8');
	const line = /^\* \* \* \* \* (flock .*)$/m.exec(doc)[1]
		.replaceAll('$HOME/chat/chat.conf', path.join(s.dir, 'run', 'chat.conf'))
		.replaceAll('$HOME/chat/bin/chat-ws', path.join(builddir, 'ws', 'chat-ws'))
		.replaceAll('$HOME/chat/var', s.dir);
	assert.doesNotMatch(line, /\$HOME/);
	/* What cron does each minute: sh -c LINE, detached. */
	const cron = () => spawn('sh', ['-c', line], { stdio: 'ignore', detached: true });
	const first = cron();
	(await waitWebSocket(`${s.ws}/echo/websocket`)).close();
	const [pid] = await s.chatWsPids();
	assert.ok(pid);
	/* The next minute: flock -n returns at once and nothing else starts. */
	const second = cron();
	assert.deepEqual(await once(second, 'exit'), [1, null]);
	assert.deepEqual(await s.chatWsPids(), [pid]);
	/* chat-ws dies; the next minute's run starts a new one. */
	const firstExit = once(first, 'exit');
	process.kill(pid, 'SIGKILL');
	await firstExit;
	cron();
	(await waitWebSocket(`${s.ws}/echo/websocket`)).close();
	const now = await s.chatWsPids();
	assert.equal(now.length, 1);
	assert.notEqual(now[0], pid);
});

test('a program that keeps failing is restarted ever more slowly, and TERM ends the supervision', { timeout: 30000 }, async () => {
	const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-supervise-'));
	try {
		await mkdir(path.join(dir, 'run'));
		await writeFile(path.join(dir, 'run', 'pids'), '');
		const log = path.join(dir, 'supervise.log');
		const out = await open(log, 'w');
		const sup = spawn('bash', [path.join(srcdir, 'conf', 'serve.sh'), '--var', dir, '--supervise', 'crasher',
			'--', 'sh', '-c', 'exit 3'], { stdio: ['ignore', out.fd, out.fd] });
		const exited = once(sup, 'exit', 30000);
		let lines = [];
		for (let i = 0; i < 200 && lines.length < 3; i++) {
			await new Promise((r) => setTimeout(r, 50));
			lines = (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes('restarting'));
		}
		const pauses = lines.slice(0, 3).map((l) => /exited with status (\d+); restarting it in ([0-9.]+) s$/.exec(l).slice(1));
		assert.deepEqual(pauses, [['3', '0.250'], ['3', '0.500'], ['3', '1.000']]);
		const pid = Number((await readFile(path.join(dir, 'run', 'pids'), 'utf8')).split(' ')[0]);
		assert.ok(pid > 0, 'the pid file names the last crasher');
		sup.kill('SIGTERM');
		assert.deepEqual(await exited, [0, null]);
		await out.close();
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
});
