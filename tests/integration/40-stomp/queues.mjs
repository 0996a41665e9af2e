// queues.mjs - /queue point to point with @stomp/stompjs through lighttpd
// and Apache mod_fcgid (db/queue.c): consumers served in turn whatever
// RECEIPTs lie between the SENDs, prefetch-count with client acks, a NACKed
// message going to the next consumer, the sender stamped as user-name on
// /queue and /user MESSAGEs (a forged one replaced), /queue patterns
// refused, and with user_queue_others=0 SENDs to another user's queue
// refused while the sender's own works.  Consumers and producers use
// different transports, so the choice is made across processes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { frontMissing, startStack } from '../lib/stack.mjs';
import { roomId, stompConnect } from '../lib/stomp.mjs';

const stacks = {};
function stack(front) {
	stacks[front] ??= startStack({ front, testServices: false, options: { user_queue_others: 0 } });
	return stacks[front];
}
after(async () => {
	for (const p of Object.values(stacks))
		await (await p.catch(() => null))?.stop();
});

for (const front of ['lighttpd', 'apache-fcgid']) {
	const skip = frontMissing(front) || false;

	test(`${front}: two consumers take 8 receipted jobs in turn, 4 each, stamped with the sender`, { skip, timeout: 90000 }, async () => {
		const s = await stack(front);
		const queue = `/queue/${roomId('jobs')}`;
		const w1 = await stompConnect(s, 'websocket', { login: 'qworker1' });
		const w2 = await stompConnect(s, 'raw', { login: 'qworker2' });
		const p = await stompConnect(s, 'xhr-polling', { login: 'qproducer' });
		const b1 = await w1.subscribeSync(queue);
		const b2 = await w2.subscribeSync(queue);
		for (let i = 1; i <= 8; i++)
			await p.send(queue, `job ${i}`, { 'user-name': 'forged' });
		const got = [[], []];
		for (const [k, box] of [b1, b2].entries()) {
			for (let i = 0; i < 4; i++) {
				const m = await box.next();
				assert.equal(m.headers['user-name'], 'qproducer');
				assert.equal(m.headers.destination, queue);
				got[k].push(Number(m.body.slice(4)));
			}
		}
		/* In turn: one consumer has the odd jobs, the other the even ones,
		 * each in order. */
		const [odd, even] = got[0][0] % 2 === 1 ? got : [got[1], got[0]];
		assert.deepEqual(odd, [1, 3, 5, 7], JSON.stringify(got));
		assert.deepEqual(even, [2, 4, 6, 8], JSON.stringify(got));
		for (const c of [w1, w2, p])
			await c.close();
	});

	test(`${front}: prefetch-count=1 with client acks: while its job is unacked the consumer is passed over`, { skip, timeout: 90000 }, async () => {
		const s = await stack(front);
		const queue = `/queue/${roomId('prefetch')}`;
		const slow = await stompConnect(s, 'xhr-streaming', { login: 'qslow' });
		const fast = await stompConnect(s, 'websocket', { login: 'qfast' });
		const p = await stompConnect(s, 'xhr-polling', { login: 'qproducer' });
		const sb = await slow.subscribeSync(queue, { ack: 'client', 'prefetch-count': '1' });
		await p.send(queue, 'a');
		const a = await sb.next();
		assert.equal(a.body, 'a');
		/* fast joins: in turn it would get b and d and slow c; slow holds
		 * its one unacknowledged message, so fast gets all three. */
		const fb = await fast.subscribeSync(queue);
		for (const job of ['b', 'c', 'd'])
			await p.send(queue, job);
		for (const job of ['b', 'c', 'd'])
			assert.equal((await fb.next()).body, job);
		a.ack();
		/* A receipted SEND after the ACK (same connection, in order). */
		await slow.send('/user/qslow/queue/noop', 'x');
		await p.send(queue, 'e');
		/* slow is the least recently served: e is its next message. */
		const e = await sb.next();
		assert.equal(e.body, 'e');
		assert.equal(e.headers['user-name'], 'qproducer');
		e.ack();
		for (const c of [slow, fast, p])
			await c.close();
	});

	test(`${front}: a NACKed job goes to the next consumer, not back to the one that refused it`, { skip, timeout: 90000 }, async () => {
		const s = await stack(front);
		const queue = `/queue/${roomId('nack')}`;
		const w1 = await stompConnect(s, 'websocket', { login: 'qworker1' });
		const w2 = await stompConnect(s, 'eventsource', { login: 'qworker2' });
		const p = await stompConnect(s, 'xhr-polling', { login: 'qproducer' });
		const b1 = await w1.subscribeSync(queue, { ack: 'client-individual' });
		const b2 = await w2.subscribeSync(queue, { ack: 'client-individual' });
		await p.send(queue, 'job 1');
		await p.send(queue, 'job 2');
		const m1 = await b1.next();
		const m2 = await b2.next();
		/* x got job 1 and is next in turn; its NACK skips it. */
		const [x, y, mx, my] = m1.body === 'job 1' ? [b1, b2, m1, m2] : [b2, b1, m2, m1];
		assert.deepEqual([mx.body, my.body], ['job 1', 'job 2']);
		mx.nack();
		const again = await y.next();
		assert.equal(again.body, 'job 1');
		assert.equal(again.headers['user-name'], 'qproducer');
		again.ack();
		my.ack();
		/* x's next message is the next job, so job 1 never came back. */
		await p.send(queue, 'job 3');
		const m3 = await x.next();
		assert.equal(m3.body, 'job 3');
		m3.ack();
		for (const c of [w1, w2, p])
			await c.close();
	});

	test(`${front}: SUBSCRIBE to a /queue pattern gets ERROR`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		for (const dest of ['/queue/**', '/queue/*', '/queue/jobs-?']) {
			const c = await stompConnect(s, 'websocket');
			c.subscribe(dest);
			const e = await c.errors.next();
			assert.equal(e.headers.message, 'cannot subscribe to a /queue pattern: name one queue', dest);
			assert.equal((await c.closed.next()).code, 3001);
			await c.close();
		}
	});

	test(`${front}: user_queue_others=0: SEND to another user's queue gets ERROR; to one's own it arrives, stamped`, { skip, timeout: 60000 }, async () => {
		const s = await stack(front);
		const alice = await stompConnect(s, 'xhr-polling', { login: 'qalice' });
		const bob = await stompConnect(s, 'websocket', { login: 'qbob' });
		const ab = await alice.subscribeSync('/user/queue/x');
		const bb = await bob.subscribeSync('/user/queue/x');
		await alice.send('/user/qalice/queue/x', 'to me', { 'user-name': 'qbob' });
		const mine = await ab.next();
		assert.equal(mine.body, 'to me');
		assert.equal(mine.headers['user-name'], 'qalice');
		alice.client.publish({ destination: '/user/qbob/queue/x', body: 'to bob', headers: { receipt: 'never' } });
		const e = await alice.errors.next();
		assert.equal(e.headers.message, "SEND to another user's queue is not allowed here");
		assert.equal(e.headers['receipt-id'], 'never');
		/* bob's own SEND is the next thing on his queue. */
		await bob.send('/user/qbob/queue/x', 'from bob');
		const m = await bb.next();
		assert.equal(m.body, 'from bob');
		assert.equal(m.headers['user-name'], 'qbob');
		await alice.close();
		await bob.close();
	});
}
