/* heartbeat.c - the STOMP heart-beat rules on the caller's clock (see heartbeat.h). */
#include "config.h"
#include "heartbeat.h"

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int64_t heartbeat_send_ms(int64_t server_ms, int64_t client_recv_ms)
{
	if (server_ms <= 0 || client_recv_ms <= 0)
		return 0;
	return max64(max64(server_ms, HEARTBEAT_MIN_MS), client_recv_ms);
}

int64_t heartbeat_expect_ms(int64_t client_send_ms, int64_t floor_ms)
{
	return client_send_ms <= 0 ? 0 : max64(client_send_ms, floor_ms);
}

int heartbeat_send_due(int64_t interval_ms, int64_t last_sent_ms, int64_t now_ms, int64_t early_ms)
{
	return interval_ms > 0 && now_ms + early_ms >= last_sent_ms + interval_ms;
}

int64_t heartbeat_dead_after(int64_t expect_ms, int64_t liveness_ms)
{
	return expect_ms <= 0 ? 0 : max64(2 * expect_ms, liveness_ms);
}

int heartbeat_peer_dead(int64_t expect_ms, int64_t liveness_ms, int64_t heard_ms, int64_t now_ms)
{
	return expect_ms > 0 && now_ms - heard_ms > heartbeat_dead_after(expect_ms, liveness_ms);
}
