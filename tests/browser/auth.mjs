// auth.mjs - the page's signed-in calls to /api behind every front server
// (lighttpd, Apache with mod_fcgid, Apache with mod_proxy_fcgi): a user
// signs up, creates a room from the room form, and signs out; afterwards
// the old token is refused by /api (401).  Each front runs twice: as
// shipped (conf/*.conf.in pass Authorization on), and with the browser
// stripping Authorization from every request, as a front server that keeps
// it from FastCGI would (the page also sends its token in the JSON body).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FRONTS, frontMissing, startStack } from '../integration/lib/stack.mjs';
import * as B from './lib.mjs';

const browserMissing = await B.browserMissing();
if (browserMissing && process.env.CHAT_REQUIRE_BROWSER)
	throw new Error(`${browserMissing} (CHAT_REQUIRE_BROWSER is set)`);

let browser;
before(async () => { if (!browserMissing) browser = await B.launch(); });
after(async () => { await browser?.close(); });

async function post(stack, path, body, token) {
	const r = await fetch(stack.http + path, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
		body: JSON.stringify(body),
	});
	return { status: r.status, body: await r.text() };
}

/* Signs up name, creates room from the page's room form, signs out; checks
 * what /api says about the token after each step. */
async function signUpCreateSignOut(stack, name, room, { stripAuthorization }) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const seen = [];
	try {
		if (stripAuthorization)
			await context.route('**/api/**', (route) => {
				const headers = { ...route.request().headers() };
				delete headers.authorization;
				seen.push(route.request().url());
				return route.continue({ headers });
			});
		const page = await context.newPage();
		const problems = [];
		page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
		await page.goto(stack.http + '/');
		assert.equal(await B.signIn(page, name), true, 'the chat application is served');
		const token = await page.evaluate(() => window.chat.state.auth.token);
		assert.match(token, /^[0-9a-f]+$/);

		const created = page.waitForResponse((r) => r.url().endsWith('/api/rooms') &&
			r.request().method() === 'POST');
		await page.fill('#room-name', room);
		await page.press('#room-name', 'Enter');
		assert.equal((await created).status(), 201, 'POST /api/rooms from the page');
		await page.waitForFunction((r) => window.chat.state.current === r, room);
		assert.equal(await page.textContent('#room-error'), '');
		if (!stripAuthorization) {
			/* The front server passes Authorization on by itself. */
			const h = await post(stack, '/api/rooms', { name: `${room}-h` }, token);
			assert.equal(h.status, 201, `POST /api/rooms, token in Authorization only: ${h.body}`);
		}
		const list = await (await fetch(stack.http + '/api/rooms')).json();
		assert.ok(JSON.stringify(list).includes(`"${room}"`), `${room} in GET /api/rooms`);

		const loggedOut = page.waitForResponse((r) => r.url().endsWith('/api/logout'));
		await page.click('#logout');
		assert.equal((await loggedOut).status(), 204, 'POST /api/logout from the page');
		await page.waitForSelector('#auth-view:not([hidden])');

		/* The old token is dead, given either way. */
		const again = await post(stack, '/api/rooms', { name: `${room}-after`, token }, token);
		assert.equal(again.status, 401, `POST /api/rooms with the old token: ${again.body}`);
		const twice = await post(stack, '/api/logout', { token }, token);
		assert.equal(twice.status, 401, `POST /api/logout with the old token: ${twice.body}`);
		if (stripAuthorization)
			assert.ok(seen.some((u) => u.endsWith('/api/logout')), 'the route saw the logout');
		assert.deepEqual(problems, [], 'no script errors on the page');
	} finally {
		await context.close();
	}
}

for (const front of FRONTS) {
	const skip = browserMissing || frontMissing(front) || false;
	describe(`behind ${front}`, () => {
		let stack;
		before(async () => { if (!skip) stack = await startStack({ front, testServices: false, limits: true }); });
		after(async () => { await stack?.stop(); });
		const tag = front.replace(/[^a-z]/g, '').slice(0, 8);

		test(`behind ${front}: the page creates a room and its sign-out revokes the token`,
			{ skip, timeout: 90000 }, async () => {
				await signUpCreateSignOut(stack, `ann-${tag}`, `made-${tag}`, { stripAuthorization: false });
			});
		test(`behind ${front}, Authorization stripped: the page still creates a room and signs out`,
			{ skip, timeout: 90000 }, async () => {
				await signUpCreateSignOut(stack, `bea-${tag}`, `bare-${tag}`, { stripAuthorization: true });
			});
	});
}
