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

/* Users written before name keys existed (no "key" field) get theirs when
 * a handle opens the store, so they are found and unique whatever the
 * case of the name. */
START_TEST(old_users_get_keys)
{
	char *uri = fresh_uri();
	mongoc_uri_t *u = mongoc_uri_new(uri);
	mongoc_client_t *c = mongoc_client_new_from_uri(u);
	mongoc_collection_t *users;
	bson_t *doc;
	bson_error_t e;
	chat_error_t err = { 0 };
	store_user_t user;
	store_t *st;

	ck_assert_ptr_nonnull(c);
	users = mongoc_client_get_collection(c, mongoc_uri_get_database(u), "users");
	doc = BCON_NEW("_id", BCON_INT64(5), "name", BCON_UTF8("Carol"), "password_hash",
		       BCON_UTF8("h"), "created_ms", BCON_INT64(1));
	ck_assert_msg(mongoc_collection_insert_one(users, doc, NULL, NULL, &e), "%s", e.message);
	bson_destroy(doc);
	mongoc_collection_destroy(users);
	mongoc_client_destroy(c);
	mongoc_uri_destroy(u);
	ck_assert_int_eq(store_open(uri, &st, &err), CHAT_OK);
	ck_assert_int_eq(store_user_get_by_name(st, "CAROL", &user, &err), CHAT_OK);
	ck_assert_str_eq(user.name, "Carol");
	ck_assert_int_eq(store_user_add(st, 6, "carol", "h", 1, &err), CHAT_EEXIST);
	store_close(st);
	drop(uri);
	free(uri);
}
END_TEST

int main(void)
{
	static const store_suite_env_t env = {
		.backend = "mongodb",
		.fresh_uri = fresh_uri,
		.drop = drop,
		.down_uri = down_uri,
	};
	Suite *s;
	TCase *tc;
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
	s = store_suite(&env);
	tc = tcase_create("mongodb");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, old_users_get_keys);
	suite_add_tcase(s, tc);
	rc = testutil_run(s);
	store_global_cleanup();
	mongoc_cleanup();
	return rc;
}
