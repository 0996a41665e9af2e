// rooms.mjs - room abuse bounds (issue 10) with @stomp/stompjs and the
// JSON API through lighttpd and Apache mod_fcgid: a guest's SEND
// /app/rooms is an ERROR and stores nothing (guest_rooms is 0); a
// registered user reaches rooms_per_user and the next room is refused over
// HTTP (403) and STOMP (ERROR); with that many rooms of 64-character names
// (more than one max_frame) SUBSCRIBE /app/rooms delivers the whole list in
// several MESSAGEs without an ERROR, and a second client still signs in,
// posts and receives; DELETE /api/rooms/{id} is 403 for someone else, 204
// for the creator and for an admin, broadcast on /topic/rooms, and posts
// to the deleted room are refused.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { apiPost, chatBody, login, roomId, stompConnect } from '../lib/stomp.mjs';

/* Enough 64-character names to need several frames of max_frame bytes. */
const QUOTA = 400;
const MAX_FRAME = 65536;
const stacks = {};
function stack(front) {
	stacks[front] ??= startStack({ front, testServices: false,
		options: { rooms_per_user: QUOTA, admins: 'boss', max_frame: MAX_FRAME } });
	return stacks[front];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

async function listRooms(s) {
	const r = await fetch(`${s.http}/api/rooms`);
	assert.equal(r.status, 200);
	return (await r.json()).map((x) => x.name);
}

async function deleteRoom(s, name, token) {
	const r = await fetch(`${s.http}/api/rooms/${name}`, {
		method: 'DELETE', headers: { authorization: `Bearer ${token}` },
	});
	return { status: r.status, body: await r.json().catch(() => null) };
}

/* A 64-character room name, unique in this run. */
function longName(i) {
	const base = `${roomId('long')}-${i}-`;
	return base + 'x'.repeat(64 - base.length);
}

/* Resolves with the ERROR frame the next SEND gets (the session then ends). */
async function sendError(c, dest, body) {
	c.client.publish({ destination: dest, body, headers: { 'content-type': 'application/json' } });
	return c.errors.next(20000);
}

/* A well-behaved second client signs in, posts in "general" and receives it. */
async function stillUsable(s, who) {
	const c = await stompConnect(s, 'websocket', { login: who });
	try {
		const box = await c.subscribeSync('/topic/chat/room/general');
		const text = `still here ${who} ${Date.now()}`;
		await c.post('general', text);
		assert.equal(chatBody(await box.next(20000)).text, text);
	} finally {
		await c.close();
	}
}

for (const front of ['lighttpd', 'apache-fcgid']) {
	const skip = frontMissing(front) || false;

	test(`${front}: a guest cannot create a room; nothing is stored`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const c = await stompConnect(s, 'xhr-streaming');
		assert.match(c.connected.headers['user-name'], /^guest-\d+$/);
		const name = roomId('guest');
		const e = await sendError(c, '/app/rooms', JSON.stringify({ name }));
		assert.match(e.headers.message, /guests cannot create rooms/);
		await c.close();
		assert.ok(!(await listRooms(s)).includes(name));
		await stillUsable(s, 'calm-guestcase');
	});

	test(`${front}: the room quota, then a long room list in several frames`, { skip, timeout: 300000 }, async () => {
		const s = await stack(front);
		const token = await login(s, 'filler');
		const made = [];
		/* Bounded: the quota, then one more that must be refused. */
		for (let i = 0; i < QUOTA; i++) {
			const name = longName(i);
			const r = await apiPost(s, '/api/rooms', { name, token });
			assert.equal(r.status, 201, `room ${i}: ${JSON.stringify(r.body)}`);
			made.push(name);
		}
		const over = longName(QUOTA);
		const r = await apiPost(s, '/api/rooms', { name: over, token });
		assert.equal(r.status, 403, JSON.stringify(r.body));
		assert.match(r.body.error, new RegExp(`filler already has ${QUOTA} rooms`));
		const f = await stompConnect(s, 'websocket', { login: 'filler' });
		const e = await sendError(f, '/app/rooms', JSON.stringify({ name: over }));
		assert.match(e.headers.message, /already has \d+ rooms/);
		await f.close();
		const listed = await listRooms(s);
		assert.ok(!listed.includes(over));
		assert.ok(made.every((n) => listed.includes(n)));

		/* The whole list over STOMP: several MESSAGEs, no ERROR. */
		const reader = await stompConnect(s, 'xhr-streaming', { login: 'reader' });
		const box = reader.subscribe('/app/rooms');
		const seen = new Set();
		let frames = 0;
		for (let i = 0; i < listed.length && seen.size < listed.length; i++) {
			const m = await box.next(20000);
			assert.ok(m.binaryBody.length < MAX_FRAME, `${m.binaryBody.length} bytes`);
			for (const x of chatBody(m))
				seen.add(x.name);
			frames++;
		}
		assert.equal(seen.size, listed.length);
		assert.ok(frames > 1, `${frames} frames`);
		assert.equal(reader.errors.items.length, 0);
		assert.ok(reader.client.connected, 'the reader is still connected');
		await reader.close();
		await stillUsable(s, 'calm-listcase');
	});

	test(`${front}: the creator or an admin deletes a room, broadcast; posts to it are refused`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const [owner, other, boss] = [await login(s, 'owner'), await login(s, 'other'), await login(s, 'boss')];
		const mine = roomId('del');
		const second = roomId('del');
		for (const name of [mine, second])
			assert.equal((await apiPost(s, '/api/rooms', { name, token: owner })).status, 201);
		const watch = await stompConnect(s, 'websocket', { login: 'watcher' });
		const news = await watch.subscribeSync('/topic/rooms');
		const poster = await stompConnect(s, 'xhr-polling', { login: 'owner' });
		await poster.post(mine, 'before the deletion');

		const denied = await deleteRoom(s, mine, other);
		assert.equal(denied.status, 403, JSON.stringify(denied.body));
		assert.match(denied.body.error, /only the creator/);
		assert.equal((await deleteRoom(s, mine, 'not-a-token')).status, 401);
		assert.equal((await deleteRoom(s, 'general', boss)).status, 403);
		assert.equal((await deleteRoom(s, roomId('none'), owner)).status, 404);
		assert.ok((await listRooms(s)).includes(mine));

		assert.equal((await deleteRoom(s, mine, owner)).status, 204);
		assert.deepEqual(chatBody(await news.next(20000)), { type: 'DELETED', user: 'owner', room: mine });
		const e = await sendError(poster, `/app/chat/room/${mine}`, JSON.stringify({ text: 'after' }));
		assert.equal(e.headers.message, `no room ${mine}`);
		await poster.close();

		/* An admin deletes someone else's room. */
		assert.equal((await deleteRoom(s, second, boss)).status, 204);
		assert.deepEqual(chatBody(await news.next(20000)), { type: 'DELETED', user: 'boss', room: second });
		const listed = await listRooms(s);
		assert.ok(!listed.includes(mine) && !listed.includes(second));
		await watch.close();
		await stillUsable(s, 'calm-deletecase');
	});
}
