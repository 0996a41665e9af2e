#!/bin/sh
# install-peers.sh - the Debian packages bench/run.sh needs for the peers
# and plots (bench only; tools/install-deps.sh has what builds and tests
# the project): Nchan on nginx, sockjs-node, RabbitMQ (Web-STOMP is one of
# its plugins, enabled only in the private node bench/peers/rabbitmq.sh
# starts), gnuplot.  Run as root.
set -e
apt-get install -y --no-install-recommends nginx-light libnginx-mod-nchan node-sockjs \
	rabbitmq-server gnuplot-nox
