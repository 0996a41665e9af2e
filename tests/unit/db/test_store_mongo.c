/* test_store_mongo.c - the shared store suite against the MongoDB backend.
 * The server comes from MONGODB_URI (with-ferretdb.sh starts FerretDB and
 * sets it); every test gets a database of its own, named uniquely for this
 * run, and drops it afterwards. */
#include "config.h"
#include "store.h"
#include "store_suite.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *base_uri; /* $MONGODB_URI */
static char run_tag[48];     /* unique per run */
static unsigned counter;

/* base_uri with its database (path) replaced by db. */
static char *uri_with_db(const char *db)
{
	const char *hosts = strstr(base_uri, "://");
	const char *end, *query;
	size_t n;
	char *uri;

	hosts = hosts != NULL ? hosts + 3 : base_uri;
	end = hosts + strcspn(hosts, "/?");
	query = strchr(end, '?');
	n = (size_t)(end - base_uri) + strlen(db) + (query ? strlen(query) : 0) + 2;
	uri = malloc(n);
	if (uri != NULL)
		snprintf(uri, n, "%.*s/%s%s", (int)(end - base_uri), base_uri, db,
			query ? query : "");
	return uri;
}

static char *fresh_uri(void)
{
	char db[80];

	snprintf(db, sizeof(db), "%s_%u", run_tag, ++counter);
	return uri_with_db(db);
}

static void drop(const char *uri)
{
	mongoc_uri_t *u = mongoc_uri_new(uri);
	mongoc_client_t *c = u ? mongoc_client_new_from_uri(u) : NULL;
	mongoc_database_t *db;
	bson_error_t e;

	if (c != NULL) {
		db = mongoc_client_get_database(c, mongoc_uri_get_database(u));
		if (!mongoc_database_drop(db, &e))
			fprintf(stderr, "# dropping %s: %s\n", uri, e.message);
		mongoc_database_destroy(db);
	}
	mongoc_client_destroy(c);
	mongoc_uri_destroy(u);
}

/* A loopback port nothing listens on: bound by us, then closed. */
static char *down_uri(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *uri = malloc(64);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		sa.sin_port = htons(1);
	if (fd >= 0)
		close(fd);
	if (uri != NULL)
		snprintf(uri, 64, "mongodb://127.0.0.1:%u/chat_down", ntohs(sa.sin_port));
	return uri;
}

int main(void)
{
	static const store_suite_env_t env = {
		.backend = "mongodb",
		.fresh_uri = fresh_uri,
		.drop = drop,
		.down_uri = down_uri,
	};
	int rc;

	base_uri = getenv("MONGODB_URI");
	if (base_uri == NULL || *base_uri == '\0') {
		const char *req = getenv("CHAT_REQUIRE_MONGO");

		if (req != NULL && strcmp(req, "1") == 0) {
			printf("Bail out! MONGODB_URI is not set and CHAT_REQUIRE_MONGO=1\n");
			return EXIT_FAILURE;
		}
		printf("1..0 # SKIP MONGODB_URI is not set (run through "
			"tests/fixtures/ferretdb/with-ferretdb.sh)\n");
		return EXIT_SUCCESS;
	}
	mongoc_init();
	snprintf(run_tag, sizeof(run_tag), "chat_test_%ld_%llx", (long)getpid(),
		(unsigned long long)(store_new_id() & 0xffffffffffULL));
	rc = testutil_run(store_suite(&env));
	store_global_cleanup();
	mongoc_cleanup();
	return rc;
}
