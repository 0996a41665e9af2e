#!/usr/bin/env node
// cluster_bench.mjs - cross-node figures of the STOMP broker relay
// (db/cluster.h): a private RabbitMQ (tests/integration/lib/rabbitmq.mjs),
// FerretDB as the shared MongoDB, two nodes (each conf/serve.sh with
// lighttpd, own var/ and ports) on this machine.
//
//   latency  one sender on node A posts RATE chat messages per second
//            (stompjs over a raw WebSocket, paced every 10 ms) for SECONDS;
//            a subscriber on A and one on B (raw WebSocket) time each post
//            from its publish() to their callback: median and p99 on the
//            same node and across nodes, and how many arrived.
//
// Run from the build directory after `make` (needs npm ci in tests/ and the
// FerretDB fixture, or MONGODB_URI):
//   node SRCDIR/bench/cluster_bench.mjs latency [RATE=1000] [SECONDS=5]
import { performance } from 'node:perf_hooks';
import { startStack } from '../tests/integration/lib/stack.mjs';
import { startMongo } from '../tests/integration/lib/ferretdb.mjs';
import { startRabbit } from '../tests/integration/lib/rabbitmq.mjs';
import { chatBody, stompConnect } from '../tests/integration/lib/stomp.mjs';

const [mode = 'latency', rateArg = '1000', secondsArg = '5'] = process.argv.slice(2);
const rate = Number(rateArg), seconds = Number(secondsArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(samples) {
	const s = samples.slice().sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return s.length === 0 ? 'none'
		: `median ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms (n=${s.length})`;
}

const stops = [];
async function main() {
	if (mode !== 'latency')
		throw new Error(`unknown mode ${mode}`);
	const mongo = await startMongo('clusterbench');
	if (mongo.missing)
		throw new Error(mongo.missing);
	stops.push(() => mongo.stop());
	const mq = await startRabbit();
	stops.push(() => mq.remove());
	const relay = `stomp://guest:guest@127.0.0.1:${mq.ports.stomp}/`;
	const nodes = [];
	for (const id of [1, 2]) {
		const s = await startStack({ front: 'lighttpd', testServices: false, mongodbUri: mongo.uri,
			options: { broker_relay: relay, node_id: id } });
		stops.push(() => s.stop());
		nodes.push(s);
	}
	const room = 'general';
	const sent = new Map();
	const lat = { local: [], remote: [] };
	const sub = async (s, key) => {
		const c = await stompConnect(s, 'raw');
		stops.push(() => c.close());
		const box = await c.subscribeSync(`/topic/chat/room/${room}`);
		(async () => {
			for (;;) {
				let m;
				try { m = chatBody(await box.next(3600000)); } catch { return; }
				const t = sent.get(m.text);
				if (t !== undefined)
					lat[key].push(performance.now() - t);
			}
		})();
	};
	await sub(nodes[0], 'local');
	await sub(nodes[1], 'remote');
	const poster = await stompConnect(nodes[0], 'raw', { login: 'bench' });
	stops.push(() => poster.close());
	/* The other node's queue exists once a probe gets through. */
	for (let i = 0; lat.remote.length === 0; i++) {
		if (i > 100)
			throw new Error('the nodes did not join');
		sent.set(`probe-${i}`, performance.now());
		await poster.post(room, `probe-${i}`);
		await sleep(200);
	}
	lat.local.length = lat.remote.length = 0;
	const total = rate * seconds;
	const start = performance.now();
	for (let n = 0; n < total;) {
		const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
		for (; n < due; n++) {
			const text = `m-${n}`;
			sent.set(text, performance.now());
			poster.client.publish({ destination: `/app/chat/room/${room}`, body: JSON.stringify({ text }),
				headers: { 'content-type': 'application/json' } });
		}
		await sleep(10);
	}
	const took = (performance.now() - start) / 1000;
	for (let i = 0; i < 300 && (lat.local.length < total || lat.remote.length < total); i++)
		await sleep(100);
	console.log(`cluster latency: ${total} posts at ${rate}/s (sent in ${took.toFixed(1)} s) on node A`);
	console.log(`  node A -> subscriber on A: ${stats(lat.local)}`);
	console.log(`  node A -> subscriber on B: ${stats(lat.remote)}`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; }).finally(async () => {
	for (const f of stops.reverse())
		await f().catch(() => {});
	process.exit();
});
