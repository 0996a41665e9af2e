// tutorial.mjs - the three configurations Spring STOMP tutorials use, each
// with its tutorial's endpoint, driven in Chromium by the page those
// tutorials write (tests/browser/tutorial/index.html: stomp.js 2.3.3's
// Stomp.over(new SockJS(url)), connect({}, callback), subscribe, send) over
// sockjs-client 1.4.0 (the seeds' CDN version, served from www/js), over
// every SockJS transport:
//   /app + /topic at /ws/chat, /pub + /sub at /stomp/chat,
//   /test + /topic + /queue at /example.
// Then the iframe transports of other sockjs-client versions (1.5.2,
// 1.6.1): the iframe page loads the client of its page's own version
// (option sockjs_versions_url), and without that option a 1.4.0 page gets
// "Incompatible SockJS!" and never connects over the iframe.  One browser;
// each configuration's stack serves all its transports.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing, startStack } from '../integration/lib/stack.mjs';
import { TRANSPORTS, browserMissing, closeAll, launch, openPage, send, signIn, waitText } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const missing = (await browserMissing()) || frontMissing('lighttpd') || false;

const CONFIGS = [
	{ name: '/app + /topic', endpoint: '/ws/chat', app: '/app', topic: '/topic' },
	{ name: '/pub + /sub', endpoint: '/stomp/chat', app: '/pub', topic: '/sub', broker: '/sub' },
	{ name: '/test + /topic + /queue', endpoint: '/example', app: '/test', topic: '/topic', queue: '/queue' },
];

let browser;
let page, stomp;
const stacks = {};
function stackFor(c, extra = {}) {
	const key = c.name + JSON.stringify(extra);
	stacks[key] ??= startStack({ front: 'lighttpd', testServices: false, options: {
		endpoints: c.endpoint, app_prefixes: c.app, ...(c.broker ? { broker_prefixes: c.broker } : {}),
		...extra } });
	return stacks[key];
}
before(async () => {
	if (missing)
		return;
	/* The tutorial page is fulfilled by the test (context.route), not
	 * fetched: Chromium does not know its address space and would block
	 * its WebSocket to 127.0.0.1 (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS);
	 * a page the server itself serves is not affected. */
	browser = await launch(['--disable-features=LocalNetworkAccessChecks']);
	page = await readFile(path.join(here, 'tutorial', 'index.html'));
	stomp = await readFile(createRequire(import.meta.url).resolve('stompjs/lib/stomp.min.js'));
	/* Every stack at once: they are independent. */
	await Promise.all([...CONFIGS.map((c) => stackFor(c)),
		stackFor(CONFIGS[0], { sockjs_versions_url: '""' })]);
});
after(async () => {
	await browser?.close();
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

/* Opens the tutorial page on stack s (the page and stomp.js are served
 * from the stack's origin by the browser context; sockjs-client from the
 * stack's www/js) and resolves with its window.tutorial once settled. */
async function runPage(s, c, transport, sockjs, { expect = 'connect' } = {}) {
	const context = await browser.newContext();
	try {
		await context.route(`${s.http}/tutorial/**`, (route) => {
			const url = new URL(route.request().url());
			if (url.pathname === '/tutorial/stomp.min.js')
				return route.fulfill({ body: stomp, contentType: 'text/javascript' });
			return route.fulfill({ body: page, contentType: 'text/html; charset=utf-8' });
		});
		const p = await context.newPage();
		const problems = [];
		p.on('pageerror', (e) => problems.push(e.message));
		const q = new URLSearchParams({ sockjs, endpoint: c.endpoint, app: c.app, topic: c.topic,
			transport, ...(c.queue ? { queue: c.queue } : {}) });
		await p.goto(`${s.http}/tutorial/?${q}`);
		if (expect === 'fail') {
			await p.waitForFunction(() => window.tutorial.errors.length > 0, null, { timeout: 30000 });
			return p.evaluate(() => window.tutorial);
		}
		await p.waitForFunction(([queue, text]) => window.tutorial.messages.some((m) => m.text === text) &&
			(!queue || window.tutorial.queued.length > 0) || window.tutorial.errors.length > 0,
		[c.queue, `hello over ${transport}`], { timeout: 30000 });
		assert.deepEqual(problems, [], 'no script errors on the page');
		return p.evaluate(() => window.tutorial);
	} finally {
		await context.close();
	}
}

for (const c of CONFIGS) {
	test(`${c.name} at ${c.endpoint}: stomp.js 2.3.3 over sockjs-client 1.4.0, every transport`, { skip: missing, timeout: 120000 }, async () => {
		const s = await stackFor(c);
		/* One after the other: sockjs-client 1.4.0's jsonp-polling can
		 * run a callback it already dropped when the machine is loaded
		 * ("_jp.X is not a function"), whichever server it talks to. */
		for (const transport of TRANSPORTS) {
			const t = await runPage(s, c, transport, '/js/sockjs-1.4.0.min.js');
			assert.deepEqual(t.errors, [], transport);
			assert.equal(t.version, '1.4.0');
			assert.equal(t.transport, transport, 'sockjs-client used the transport asked for');
			/* Its own post, and those of the pages that ran beside it. */
			const own = t.messages.filter((m) => m.text === `hello over ${transport}`);
			assert.deepEqual(own.map((m) => m.destination), [`${c.topic}/chat/room/general`], transport);
			assert.match(own[0].writer, /^guest-/);
			if (c.queue)
				assert.deepEqual(t.queued, [`job for ${transport}`], transport);
		}
	});
}

test('the chat page (www/) reads /api/config and chats under /pub and /sub at /stomp/chat', { skip: missing, timeout: 60000 }, async () => {
	const s = await stackFor(CONFIGS[1]);
	const p = await openPage(browser, `${s.http}/`);
	await signIn(p, `tut${process.pid}`);
	/* The endpoint its SockJS connected to, as its STOMP client sees it. */
	const sent = await p.evaluate(() => {
		const c = window.chat.state.client;
		return { connected: c.connected, url: c.webSocket && c.webSocket.url };
	});
	assert.equal(sent.connected, true);
	assert.equal(sent.url, `${s.http}/stomp/chat`);
	await send(p, 'hello from the chat page');
	await waitText(p, 'hello from the chat page');
	await closeAll(p);
});

test('iframe transports of sockjs-client 1.5.2 and 1.6.1 load their own version in the iframe', { skip: missing, timeout: 60000 }, async () => {
	const c = CONFIGS[0];
	const s = await stackFor(c);
	const cases = [['1.6.1', 'iframe-htmlfile'], ['1.6.1', 'iframe-xhr-polling'],
		['1.5.2', 'iframe-htmlfile'], ['1.4.0', 'iframe-eventsource']];
	for (const [version, transport] of cases) {
		const t = await runPage(s, c, transport, `/js/sockjs-${version}.min.js`);
		assert.deepEqual(t.errors, [], `${version} ${transport}`);
		assert.equal(t.version, version);
		assert.equal(t.transport, transport);
		assert.ok(t.messages.some((m) => m.text === `hello over ${transport}`), `${version} ${transport}`);
	}
});

test('without sockjs_versions_url a 1.4.0 page cannot use the iframe of 1.6.1 (the control)', { skip: missing, timeout: 60000 }, async () => {
	const s = await stackFor(CONFIGS[0], { sockjs_versions_url: '""' });
	const t = await runPage(s, CONFIGS[0], 'iframe-htmlfile', '/js/sockjs-1.4.0.min.js', { expect: 'fail' });
	assert.equal(t.connected, false);
	assert.ok(t.errors.length > 0);
	/* The same stack serves 1.6.1 pages over the iframe. */
	const ok = await runPage(s, CONFIGS[0], 'iframe-htmlfile', '/js/sockjs-1.6.1.min.js');
	assert.ok(ok.messages.some((m) => m.text === 'hello over iframe-htmlfile'));
});
