// rabbitmq.mjs - a private RabbitMQ node for the cluster tests and
// benchmarks (bench/peers/rabbitmq.sh: its own node name, free ports, state
// and log directories, config and HOME; the machine's default node is not
// touched), stopped by PID.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, srcdir } from './stack.mjs';

function run(cmd, args) {
	return new Promise((resolve) => {
		execFile(cmd, args, (e, out, err) => resolve({ code: e ? e.code ?? 1 : 0, out: out + err }));
	});
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/**
 * Starts a node on free ports; resolves with { dir, ports: { amqp, web,
 * stomp, dist }, start() (again after stop(), on the same directory:
 * durable queues and their persistent messages survive), stop(signal =
 * 'SIGTERM') (to the Erlang VM, waited for; SIGKILL: a crash), remove() (stop and delete the directory) }.
 */
export async function startRabbit() {
	const dir = await mkdtemp(path.join(os.tmpdir(), 'chat-rabbit-'));
	const ports = { amqp: await freePort(), web: await freePort(), stomp: await freePort(),
		dist: await freePort() };
	const r = {
		dir, ports, pid: 0,
		async start() {
			const out = await run('bash', [path.join(srcdir, 'bench', 'peers', 'rabbitmq.sh'), dir,
				String(ports.amqp), String(ports.web), String(ports.stomp), String(ports.dist)]);
			const pid = Number(out.out.trim().split('\n').pop());
			if (out.code !== 0 || !(pid > 0))
				throw new Error(`rabbitmq.sh failed (${out.code}): ${out.out}`);
			r.pid = pid;
		},
		async stop(signal = 'SIGTERM') {
			if (!r.pid)
				return;
			const pid = r.pid;
			r.pid = 0;
			try { process.kill(pid, signal); } catch { return; }
			for (let i = 0; i < 600 && alive(pid); i++)
				await new Promise((res) => setTimeout(res, 50));
			if (alive(pid))
				process.kill(pid, 'SIGKILL');
		},
		async remove() {
			await r.stop();
			await rm(dir, { recursive: true, force: true });
		},
	};
	try {
		await r.start();
	} catch (e) {
		await rm(dir, { recursive: true, force: true });
		throw e;
	}
	return r;
}
