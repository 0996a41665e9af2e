// shared-host.mjs - the shared-hosting bundle (make shared-host-bundle)
// unpacked into ~alice/public_html of an Apache with Debian's stock
// configuration and nothing of ours at server level
// (tests/integration/lib/sharedhost.mjs), under mod_fcgid at its defaults
// and under mod_cgid: the SockJS endpoint <dir>/chat/chat answers the
// protocol's exact bytes, /info offers no WebSocket while no sidecar runs,
// under mod_fcgid (which buffers 64 KiB of output) it says
// "streaming":false and refuses the streaming transports at once, and
// @stomp/stompjs over sockjs-client chats on every transport that works
// there.
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedHostMissing, startSharedHost } from '../lib/sharedhost.mjs';
import { chatBody, makeRoom, stompConnect } from '../lib/stomp.mjs';

const WORKS = {
	fcgid: ['xhr-polling'],
	cgid: ['xhr-streaming', 'xhr-polling', 'eventsource'],
};
const hosts = {};
function host(module) {
	hosts[module] ??= startSharedHost(module);
	return hosts[module];
}
after(async () => {
	for (const p of Object.values(hosts))
		await (await p.catch(() => null))?.stop();
});

async function req(url, init = {}) {
	const r = await fetch(url, { ...init, headers: { 'content-type': 'text/plain', ...(init.headers || {}) } });
	return { status: r.status, headers: r.headers, body: await r.text() };
}

for (const module of ['fcgid', 'cgid']) {
	const skip = sharedHostMissing(module) || false;
	test(`mod_${module}: <dir>/chat/chat is the SockJS endpoint; /info without a sidecar; streaming ${module === 'fcgid' ? 'refused' : 'served'}`, { skip, timeout: 60000 }, async () => {
		const h = await host(module);
		assert.deepEqual(await req(h.sockjs).then((r) => [r.status, r.body]), [200, 'Welcome to SockJS!\n']);
		const info = JSON.parse((await req(`${h.sockjs}/info`)).body);
		assert.equal(info.websocket, false, 'no sidecar alive: no WebSocket offered');
		assert.deepEqual(info.origins, ['*:*']);
		assert.equal(info.streaming, module === 'fcgid' ? false : undefined);
		const base = `${h.sockjs}/000/${'s'.repeat(8)}${module}`;
		assert.equal((await req(`${base}/xhr`, { method: 'POST' })).body, 'o\n');
		const connect = JSON.stringify(['CONNECT\naccept-version:1.2\nhost:localhost\n\n\0']);
		assert.equal((await req(`${base}/xhr_send`, { method: 'POST', body: connect })).status, 204);
		const poll = await req(`${base}/xhr`, { method: 'POST' });
		assert.match(poll.body, /^a\["CONNECTED\\nversion:1.2\\n/);
		const stream = await fetch(`${h.sockjs}/000/${'t'.repeat(8)}/xhr_streaming`, { method: 'POST' });
		if (module === 'fcgid') {
			assert.equal(stream.status, 404, 'mod_fcgid would hold the stream back');
			await stream.text();
		} else {
			assert.equal(stream.status, 200);
			const reader = stream.body.getReader();
			let got = '';
			while (!got.includes('o\n'))
				got += Buffer.from((await reader.read()).value).toString();
			assert.equal(got.slice(0, 2051), `${'h'.repeat(2048)}\no\n`);
			await reader.cancel();
		}
		/* The program and its configuration are not files to download. */
		assert.equal((await req(`${h.page}chat.conf`)).status, 403);
		assert.notEqual((await req(`${h.page}chat`)).body.slice(0, 4), '\x7fELF');
	});

	for (const transport of WORKS[module]) {
		test(`mod_${module} ${transport}: stompjs CONNECT, subscribe, post, stamped MESSAGE, DISCONNECT`, { skip, timeout: 60000 }, async () => {
			const h = await host(module);
			/* stomp.mjs's s.http/chat and s.http/api: the bundle's directory. */
			const s = { http: h.page.replace(/\/$/, ''), ws: h.page.replace(/^http/, 'ws').replace(/\/$/, '') };
			const login = `alice-${transport}`;
			const c = await stompConnect(s, transport, { login });
			assert.equal(c.transport, transport);
			assert.equal(c.connected.headers['user-name'], login);
			const room = await makeRoom(s, transport);
			const box = await c.subscribeSync(`/topic/chat/room/${room}`);
			await c.send(`/app/chat/room/${room}`, JSON.stringify({ text: 'hi ☃', writer: 'mallory' }),
				{ 'content-type': 'application/json' });
			const body = chatBody(await box.next());
			assert.deepEqual([body.writer, body.text, body.room, body.seq], [login, 'hi ☃', room, 1]);
			for (let i = 0; i < 5; i++)
				await c.post(room, `n${i}`);
			for (let i = 0; i < 5; i++)
				assert.equal(chatBody(await box.next()).text, `n${i}`);
			await c.close();
			assert.equal((await c.closed.next()).code, 1000);
		});
	}
}

test('mod_cgid without a sidecar: the requests that come do the background work (a session expires after the disconnect delay)', { skip: sharedHostMissing('cgid') || false, timeout: 60000 }, async () => {
	const h = await host('cgid');
	const base = `${h.sockjs}/000/${'e'.repeat(8)}expire`;
	assert.equal((await req(`${base}/xhr`, { method: 'POST' })).body, 'o\n');
	const connect = JSON.stringify(['CONNECT\naccept-version:1.2\nhost:localhost\n\n\0']);
	assert.equal((await req(`${base}/xhr_send`, { method: 'POST', body: connect })).status, 204);
	/* No process lives on: each request's pass after its response is what
	 * closes the session once the disconnect delay (5 s) is over. */
	let status = 204;
	const end = Date.now() + 30000;
	while (status === 204 && Date.now() < end) {
		await new Promise((r) => setTimeout(r, 250));
		status = (await req(`${base}/xhr_send`, { method: 'POST', body: '["\\n"]' })).status;
	}
	assert.equal(status, 404, 'the session was expired by a CGI process');
});

test('mod_fcgid with mod_proxy_wstunnel and the sidecar from cron: --daemon starts one, /info offers WebSocket while it runs, stompjs over it', { skip: sharedHostMissing('fcgid') || false, timeout: 60000 }, async () => {
	/* Stopped by after() too: a test that times out skips its finally. */
	hosts['fcgid-proxy'] = startSharedHost('fcgid', { proxy: true });
	const h = await hosts['fcgid-proxy'];
	try {
		const info = async () => JSON.parse((await req(`${h.sockjs}/info`)).body).websocket;
		assert.equal(await info(), false, 'no sidecar yet');
		const args = ['--daemon', '--pidfile', h.pidFile];
		const first = await h.sidecar(...args);
		assert.equal(first.code, 0, first.out);
		const pid = Number((await readFile(h.pidFile, 'utf8')).trim());
		assert.ok(pid > 0);
		/* What cron does every few minutes: nothing, while it runs. */
		const again = await h.sidecar(...args);
		assert.equal(again.code, 0, again.out);
		const listeners = [...again.out.matchAll(/chat-ws\[(\d+)\] info: listening/g)].map((m) => Number(m[1]));
		assert.ok(listeners.every((p) => p === pid), `no second sidecar: ${again.out}`);
		const verbose = await h.sidecar(...args, '--log_level', 'debug');
		assert.equal(verbose.code, 0, verbose.out);
		assert.match(verbose.out, new RegExp(`already running \\(pid ${pid}`));
		assert.equal(Number((await readFile(h.pidFile, 'utf8')).trim()), pid);
		assert.equal(await info(), true);

		const s = { http: h.page.replace(/\/$/, ''), ws: h.page.replace(/^http/, 'ws').replace(/\/$/, '') };
		for (const transport of ['websocket', 'raw']) {
			const c = await stompConnect(s, transport, { login: `ws-${transport}` });
			assert.equal(c.transport, transport);
			const room = await makeRoom(s, `ws${transport}`);
			const box = await c.subscribeSync(`/topic/chat/room/${room}`);
			await c.post(room, 'over the sidecar');
			assert.equal(chatBody(await box.next()).writer, `ws-${transport}`);
			await c.close();
		}

		/* The sidecar stops: WebSocket is no longer offered. */
		process.kill(pid, 'SIGTERM');
		const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
		for (let i = 0; i < 400 && alive(); i++)
			await new Promise((r) => setTimeout(r, 25));
		assert.equal(alive(), false);
		assert.equal(await info(), false, 'the sidecar gave its lease up as it stopped');
	} finally {
		await h.stop();
	}
});
