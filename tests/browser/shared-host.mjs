// shared-host.mjs - the shared-hosting bundle (make shared-host-bundle) in a
// real browser: unpacked into ~alice/public_html of an Apache with Debian's
// stock configuration and nothing of ours at server level
// (tests/integration/lib/sharedhost.mjs), under mod_fcgid at its defaults
// and under mod_cgid.  Two users chat on the page at <dir>/chat/ through the
// SockJS endpoint <dir>/chat/chat; the second user's page shows the first
// message (the time from its loading is printed); the browser cannot download the
// configuration or a chat.db kept in the web directory.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sharedHostMissing, startSharedHost } from '../integration/lib/sharedhost.mjs';
import * as B from './lib.mjs';

const browserMissing = await B.browserMissing();
/* The streaming transports sockjs-client may take there: none under
 * mod_fcgid, whose output buffer .htaccess cannot turn off. */
const EXPECT = {
	fcgid: ['xhr-polling', 'iframe-xhr-polling', 'jsonp-polling'],
	cgid: ['xhr-streaming', 'eventsource', 'iframe-htmlfile', 'iframe-eventsource', 'xhr-polling'],
};

/* What a test started, stopped by after() as well: a test that times out
 * skips its finally. */
const started = [];
after(async () => {
	for (const x of started.reverse())
		await x.close().catch(() => {});
});

for (const module of ['fcgid', 'cgid']) {
	const missing = browserMissing || sharedHostMissing(module);
	if (missing && process.env.CHAT_REQUIRE_BROWSER)
		throw new Error(`${missing} (CHAT_REQUIRE_BROWSER is set)`);
	test(`bundle under mod_${module} with .htaccess only: two users chat, state not downloadable`, { skip: missing || false, timeout: 60000 }, async () => {
		const host = await startSharedHost(module);
		started.push({ close: () => host.stop() });
		const browser = await B.launch();
		started.push(browser);
		try {
			const a = await B.openPage(browser, host.page);
			assert.equal(await B.signIn(a, 'alice'), true, 'the chat application answers at <dir>/chat/api');
			const ta = await a.evaluate(() => document.body.dataset.transport);
			assert.ok(EXPECT[module].includes(ta), `alice's transport ${ta}`);

			/* Bob signs up (two password hashes), then alice's message. */
			const t0 = Date.now();
			const b = await B.openPage(browser, host.page);
			await B.signIn(b, 'bob');
			const tb = await b.evaluate(() => document.body.dataset.transport);
			const signedIn = Date.now() - t0;
			const first = `first under mod_${module}`;
			await B.send(a, first);
			await B.waitText(b, first);
			console.log(`# mod_${module}: bob signed up and live in ${signedIn} ms over ${tb}, ` +
				`alice's message on his page ${Date.now() - t0} ms after its load`);

			/* A signed-in user loading the page: the room's last message
			 * on screen (the time is reported, not asserted: the test
			 * machine is shared; docs/shared-hosting.md has the figures). */
			const t1 = Date.now();
			await b.reload();
			await B.waitText(b, first);
			console.log(`# mod_${module}: ${Date.now() - t1} ms from page load to the first message on screen`);
			await B.waitLive(b);

			const reply = `reply under mod_${module} ✓`;
			await B.send(b, reply);
			await B.waitText(a, reply);
			assert.deepEqual((await B.texts(a)).slice(-2), [first, reply]);

			/* The configuration, and a chat.db a careless setup left in
			 * the web directory, are refused to the browser. */
			const decoy = path.join(host.dir, 'home', 'alice', 'public_html', 'chat', 'var');
			await mkdir(decoy, { recursive: true });
			await writeFile(path.join(decoy, 'chat.db'), 'SQLite format 3\0');
			const status = (u) => b.evaluate(async (url) => (await fetch(url)).status, u);
			for (const f of ['chat.conf', 'chat.conf.sample', 'var/chat.db', '.htaccess'])
				assert.equal(await status(host.page + f), 403, f);
			/* The real state lives outside the web directory. */
			assert.notEqual(await status(`${host.http}/~alice/chat-state/chat.db`), 200);
			assert.notEqual(await status(`${host.page}../chat-state/chat.db`), 200);
			await B.closeAll(a, b);
		} finally {
			await browser.close();
			await host.stop();
		}
	});
}
