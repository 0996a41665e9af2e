/* start.c - the programs' start-up sequence (see start.h). */
#include "config.h"
#include "start.h"

#include "auth.h"
#include "cluster.h"
#include "log.h"
#include "metrics.h"
#include "optload.h"
#include "store.h"

int start_load(chat_options_t *opt, int argc, char **argv, const char *program, const char *summary,
	       int *exit_status)
{
	int rc = options_load(opt, argc, argv, program, summary, exit_status);

	if (rc != CHAT_OK)
		return rc;
	log_init(program, opt->log_level);
	/* options_check() has refused any other name. */
	return log_set_format(opt->log_format);
}

int start_configure(const chat_options_t *opt, const char *program)
{
	chat_error_t err = { 0 };
	int rc;

	metrics_init(program);
	auth_configure(opt);
	dest_prefixes_use(&opt->dest);
	/* A store this build lacks, or a cluster that cannot work, is refused
	 * at start, saying what to change. */
	rc = store_uri_built(opt->store_uri, &err);
	if (rc == CHAT_OK)
		rc = cluster_check(opt, &err);
	if (rc != CHAT_OK)
		log_error("%s", err.message);
	return rc;
}
