#!/bin/bash
# rabbitmq.sh - start a private RabbitMQ node with rabbitmq_web_stomp for
# bench/run.sh, leaving the system's node alone: its own node name, ports,
# state and log directories, plugins file, config and HOME (for the Erlang
# cookie), all below DIR.  Prints the PID of the node's Erlang VM once
# Web-STOMP answers; stop it with `kill PID` (and wait for it).
#   bench/peers/rabbitmq.sh DIR AMQP_PORT WEB_STOMP_PORT STOMP_PORT DIST_PORT
set -eu
dir=$1 amqp=$2 webstomp=$3 stomp=$4 dist=$5
mkdir -p "$dir/mnesia" "$dir/log" "$dir/home"
echo '[rabbitmq_web_stomp].' >"$dir/enabled_plugins"
cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$amqp
stomp.listeners.tcp.1 = 127.0.0.1:$stomp
web_stomp.tcp.port = $webstomp
web_stomp.tcp.ip = 127.0.0.1
loopback_users.guest = true
log.console = false
log.file.level = warning
CONF
export HOME=$dir/home
export RABBITMQ_NODENAME=bench$amqp@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$amqp
export RABBITMQ_DIST_PORT=$dist
export ERL_CRASH_DUMP=$dir/erl_crash.dump
export RABBITMQ_MNESIA_BASE=$dir/mnesia
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
export RABBITMQ_PID_FILE=$dir/rabbit.pid
export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
export RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
: >"$dir/rabbitmq-env.conf"
/usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/server.out" 2>&1 &
launcher=$!
for _ in $(seq 1 300); do
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$webstomp/ws"; then
		# the Erlang VM: the launcher execs it, or it is the launcher's child
		pid=$launcher
		if ! grep -q beam /proc/$pid/cmdline 2>/dev/null; then
			pid=$(cat "$dir/rabbit.pid" 2>/dev/null || echo "$launcher")
		fi
		echo "$pid"
		exit 0
	fi
	kill -0 "$launcher" 2>/dev/null || { cat "$dir/server.out" >&2; exit 1; }
	sleep 0.1
done
echo "rabbitmq.sh: Web-STOMP did not answer in 30 s; see $dir" >&2
kill "$launcher"
exit 1
