// mixed.mjs - mixed transports in one room (issue 4): subscribers on
// sockjs-client's websocket, xhr-streaming, xhr-polling and eventsource and
// on raw /chat/websocket, and three senders on different transports posting
// at once, see the same messages in the same order - each sender's in the
// order it sent them.  Through lighttpd with three chat.fcgi processes
// (held requests and xhr_sends spread over them, WebSockets in chat-ws)
// and through Apache mod_fcgid (a process per held request).  With
// topic_send=1 the same holds for plain SENDs to a /topic.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { TRANSPORTS, chatBody, makeRoom, roomId, stompConnect } from '../lib/stomp.mjs';

const PER_SENDER = 40;
const SENDERS = ['xhr-polling', 'websocket', 'xhr-streaming'];

const stacks = {};
function stack(front) {
	stacks[front] ??= startStack({ front, testServices: false, fcgiProcs: 3, options: { topic_send: 1 } });
	return stacks[front];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

/* Subscribes one client per transport to dest, then runs the senders at
 * once; returns what each subscriber got (n messages), by transport. */
async function exchange(s, dest, sendOne, decode) {
	const subs = [];
	for (const t of TRANSPORTS) {
		const c = await stompConnect(s, t, { login: `sub-${t}` });
		subs.push({ t, c, box: await c.subscribeSync(dest) });
	}
	const senders = [];
	for (const t of SENDERS)
		senders.push(await stompConnect(s, t, { login: `send-${t}` }));
	await Promise.all(senders.map(async (c, k) => {
		for (let i = 0; i < PER_SENDER; i++)
			await sendOne(c, `${k}:${i}`);
	}));
	const n = PER_SENDER * SENDERS.length;
	const got = {};
	for (const { t, box } of subs) {
		got[t] = [];
		for (let i = 0; i < n; i++)
			got[t].push(decode(await box.next(20000)));
	}
	for (const c of [...senders, ...subs.map((x) => x.c)])
		await c.close();
	return got;
}

function checkSame(got) {
	const ref = got[TRANSPORTS[0]];
	for (const t of TRANSPORTS)
		assert.deepEqual(got[t], ref, `${t} saw another sequence than ${TRANSPORTS[0]}`);
	/* Each sender's messages in its own order, all of them, once. */
	for (let k = 0; k < SENDERS.length; k++) {
		const mine = ref.filter((x) => x.text.startsWith(`${k}:`)).map((x) => x.text);
		assert.deepEqual(mine, Array.from({ length: PER_SENDER }, (_, i) => `${k}:${i}`));
	}
	/* The commit order: ids grow. */
	for (let i = 1; i < ref.length; i++)
		assert.ok(ref[i].id > ref[i - 1].id, `id ${ref[i].id} after ${ref[i - 1].id}`);
}

for (const front of ['lighttpd', 'apache-fcgid']) {
	const skip = frontMissing(front) || false;

	test(`${front}: 5 subscribers on 5 transports see the posts of 3 concurrent senders in one order`, { skip, timeout: 120000 }, async () => {
		const s = await stack(front);
		const room = await makeRoom(s, 'mixed');
		const got = await exchange(s, `/topic/chat/room/${room}`,
			(c, text) => c.post(room, text),
			(m) => {
				const b = chatBody(m);
				return { id: b.id, seq: b.seq, text: b.text, writer: b.writer };
			});
		checkSame(got);
		const ref = got[TRANSPORTS[0]];
		ref.forEach((x, i) => assert.equal(x.seq, i + 1));
		for (const x of ref)
			assert.equal(x.writer, `send-${SENDERS[Number(x.text.split(':')[0])]}`);
		if (front === 'lighttpd')
			assert.equal((await s.chatFcgiPids()).length, 3, 'three chat.fcgi processes');
	});
}

test('lighttpd topic_send=1: direct SENDs to a /topic from 3 transports reach 5 transports in one order', { skip: frontMissing('lighttpd') || false, timeout: 120000 }, async () => {
	const s = await stack('lighttpd');
	const dest = `/topic/${roomId('direct')}`;
	const got = await exchange(s, dest,
		(c, text) => c.send(dest, text, { 'content-type': 'text/plain' }),
		(m) => ({ id: Number(m.headers['message-id']), text: m.body }));
	checkSame(got);
});
