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
//            same node and across nodes, and how many arrived.  First the
//            same burst on a single node (a third stack, no broker_relay)
//            for the baseline of the same run, and the load average.
//
//   fanout   the same sender, SUBSCRIBERS raw WebSocket subscribers all on
//            node A ("one node"), then half on A and half on B ("two
//            nodes"): deliveries per second reached and the latency of each.
//
// Run from the build directory after `make` (needs npm ci in tests/ and the
// FerretDB fixture, or MONGODB_URI):
//   node SRCDIR/bench/cluster_bench.mjs latency [RATE=1000] [SECONDS=5]
//   node SRCDIR/bench/cluster_bench.mjs fanout [RATE=200] [SECONDS=5] [SUBSCRIBERS=100]
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { startStack } from '../tests/integration/lib/stack.mjs';
import { startMongo } from '../tests/integration/lib/ferretdb.mjs';
import { startRabbit } from '../tests/integration/lib/rabbitmq.mjs';
import { chatBody, stompConnect } from '../tests/integration/lib/stomp.mjs';

const [mode = 'latency', rateArg = '1000', secondsArg = '5', subsArg = '100'] = process.argv.slice(2);
const rate = Number(rateArg), seconds = Number(secondsArg), nsubs = Number(subsArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(samples) {
	const s = samples.slice().sort((a, b) => a - b);
	const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
	return s.length === 0 ? 'none'
		: `median ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms (n=${s.length})`;
}

const stops = [];
async function main() {
	if (mode !== 'latency' && mode !== 'fanout')
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
	const lat = { local: [], remote: [], single: [] };
	let last = 0;
	const sub = async (s, key) => {
		const c = await stompConnect(s, 'raw');
		stops.push(() => c.close());
		const box = await c.subscribeSync(`/topic/chat/room/${room}`);
		(async () => {
			for (;;) {
				let m;
				try { m = chatBody(await box.next(3600000)); } catch { return; }
				const t = sent.get(m.text);
				if (t !== undefined && m.text.startsWith(key === 'single' ? 's-' : '')) {
					last = performance.now();
					lat[key].push(last - t);
				}
			}
		})();
		return c;
	};
	let poster;
	const burst = async (tag, want) => {
		lat.local.length = lat.remote.length = lat.single.length = 0;
		const total = rate * seconds;
		const start = performance.now();
		for (let n = 0; n < total;) {
			const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
			for (; n < due; n++) {
				const text = `${tag}-${n}`;
				sent.set(text, performance.now());
				poster.client.publish({ destination: `/app/chat/room/${room}`,
					body: JSON.stringify({ text }), headers: { 'content-type': 'application/json' } });
			}
			await sleep(10);
		}
		for (let i = 0; i < 600 && lat.local.length + lat.remote.length + lat.single.length < want(total); i++)
			await sleep(100);
		return { total, took: (last - start) / 1000 };
	};
	const load = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
	if (mode === 'latency') {
		/* The baseline: one node without a relay, the same burst. */
		const single = await startStack({ front: 'lighttpd', testServices: false });
		stops.push(() => single.stop());
		await sub(single, 'single');
		poster = await stompConnect(single, 'raw', { login: 'bench' });
		const l0 = await load();
		const r0 = await burst('s', (t) => t);
		console.log(`one node (no broker_relay): ${r0.total} posts at ${rate}/s, load ${l0}:` +
			` ${stats(lat.single)}`);
		await poster.close();
		await single.stop();
	}
	await sub(nodes[0], 'local');
	await sub(nodes[1], 'remote');
	poster = await stompConnect(nodes[0], 'raw', { login: 'bench' });
	stops.push(() => poster.close());
	/* The other node's queue exists once a probe gets through. */
	for (let i = 0; lat.remote.length === 0; i++) {
		if (i > 100)
			throw new Error('the nodes did not join');
		sent.set(`probe-${i}`, performance.now());
		await poster.post(room, `probe-${i}`);
		await sleep(200);
	}
	if (mode === 'fanout') {
		/* One node: every subscriber on A. */
		const extra = [];
		for (let i = 1; i < nsubs; i++)
			extra.push(await sub(nodes[0], 'local'));
		const one = await burst('one', (t) => t * nsubs);
		console.log(`fan-out, one node: ${nsubs} subscribers on A, ${one.total} posts at ${rate}/s:` +
			` ${Math.round(lat.local.length / one.took)} deliveries/s; latency ${stats(lat.local)}`);
		/* Two nodes: half of them move to B. */
		for (const c of extra.splice(0, Math.floor(nsubs / 2)))
			await c.close();
		for (let i = 1; i < Math.floor(nsubs / 2); i++)
			await sub(nodes[1], 'remote');
		const two = await burst('two', (t) => t * nsubs);
		console.log(`fan-out, two nodes: ${nsubs - Math.floor(nsubs / 2)} on A + ${Math.floor(nsubs / 2)} on B,` +
			` ${two.total} posts at ${rate}/s: ${Math.round((lat.local.length + lat.remote.length) / two.took)}` +
			` deliveries/s; on A ${stats(lat.local)}; on B ${stats(lat.remote)}`);
		return;
	}
	const l1 = await load();
	const r = await burst('m', (t) => 2 * t);
	console.log(`cluster latency: ${r.total} posts at ${rate}/s on node A, load ${l1}`);
	console.log(`  node A -> subscriber on A: ${stats(lat.local)}`);
	console.log(`  node A -> subscriber on B: ${stats(lat.remote)}`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; }).finally(async () => {
	for (const f of stops.reverse())
		await f().catch(() => {});
	process.exit();
});
