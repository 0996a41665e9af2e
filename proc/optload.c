/* optload.c - options from files, the environment and argv; --help and
 * the reference (see optload.h). */
#include "config.h"
#include "optload.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int options_load_file(chat_options_t *c, const char *path, chat_error_t *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long len;
	int rc;

	if (f == NULL)
		return chat_error_set(err, CHAT_EIO, "%s: cannot open: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		rc = chat_error_set(err, CHAT_EIO, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (len > 1024 * 1024) {
		rc = chat_error_set(err, CHAT_ETOOBIG, "%s: larger than 1 MiB", path);
		goto out;
	}
	text = malloc((size_t)len + 1);
	if (text == NULL) {
		rc = chat_error_set(err, CHAT_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if (fread(text, 1, (size_t)len, f) != (size_t)len) {
		rc = chat_error_set(err, CHAT_EIO, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	rc = options_parse(c, text, (size_t)len, path, err);
out:
	free(text);
	fclose(f);
	return rc;
}

int options_from_args(chat_options_t *c, int argc, char **argv, chat_error_t *err)
{
	char envname[96], where[128];
	const char *v;
	size_t i, k;
	int a, rc;

	v = getenv("CHAT_CONFIG");
	if (v != NULL && *v != '\0' && (rc = options_load_file(c, v, err)) != CHAT_OK)
		return rc;
	for (i = 0; i < options_count; i++) {
		const char *name = options_table[i].name;

		memcpy(envname, "CHAT_", 5);
		for (k = 0; name[k] != '\0' && k + 6 < sizeof(envname); k++)
			envname[5 + k] = (char)toupper((unsigned char)name[k]);
		envname[5 + k] = '\0';
		v = getenv(envname);
		if (v != NULL && (rc = options_set(c, name, v, envname, err)) != CHAT_OK)
			return rc;
	}
	for (a = 1; a < argc; a++) {
		const char *arg = argv[a], *name, *eq, *value;
		const options_entry_t *o;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
			return CHAT_EHELP;
		if (strncmp(arg, "--", 2) != 0)
			return chat_error_set(err, CHAT_EINVAL,
					      "unexpected argument '%s' (see --help)", arg);
		name = arg + 2;
		eq = strchr(name, '=');
		if (eq != NULL) {
			value = eq + 1;
		} else if (a + 1 < argc) {
			eq = name + strlen(name);
			value = argv[++a];
		} else {
			return chat_error_set(err, CHAT_EINVAL, "%s needs a value", arg);
		}
		snprintf(where, sizeof(where), "--%.*s", (int)(eq - name), name);
		if ((size_t)(eq - name) == 6 && !strncmp(name, "config", 6)) {
			rc = options_load_file(c, value, err);
		} else {
			o = options_find(name, (size_t)(eq - name));
			if (o == NULL)
				return chat_error_set(err, CHAT_ENOTFOUND,
						      "%s: unknown option (see --help)", where);
			rc = options_set(c, o->name, value, where, err);
		}
		if (rc != CHAT_OK)
			return rc;
	}
	return CHAT_OK;
}

int options_load(chat_options_t *c, int argc, char **argv, const char *program, const char *summary,
		 int *exit_status)
{
	chat_error_t err = { 0 };
	int rc;

	if ((rc = options_defaults(c)) != CHAT_OK) {
		*exit_status = EXIT_FAILURE;
		return rc;
	}
	rc = options_from_args(c, argc, argv, &err);
	if (rc == CHAT_OK)
		rc = options_check(c, &err);
	if (rc == CHAT_EHELP) {
		options_usage(stdout, argv[0], summary);
		*exit_status = EXIT_SUCCESS;
	} else if (rc != CHAT_OK) {
		fprintf(stderr, "%s: %s\n", program, err.message);
		*exit_status = EXIT_FAILURE;
	}
	return rc;
}

static const char *type_name(options_type_t t)
{
	return t == OPTIONS_INT ? "number" : t == OPTIONS_BOOL ? "boolean" : "text";
}

void options_usage(FILE *f, const char *program, const char *summary)
{
	size_t i;

	fprintf(f,
		"Usage: %s [--config FILE] [--OPTION=VALUE ...]\n%s\n\nOptions (also CHAT_OPTION in the environment, or `option = value` in FILE):\n",
		program, summary);
	for (i = 0; i < options_count; i++) {
		const options_entry_t *o = &options_table[i];

		fprintf(f, "  --%-20s %s (%s, default %s", o->name, o->help, type_name(o->type),
			o->def);
		if (o->type == OPTIONS_INT)
			fprintf(f, ", %lld..%lld", o->min, o->max);
		fprintf(f, ")\n");
	}
}

void options_reference(FILE *f)
{
	size_t i;

	fprintf(f,
		"# Configuration reference\n\n"
		"Generated from the option table in `core/options.c` (`chat.fcgi --reference`).\n"
		"Every option can be given as `name = value` in a file passed with `--config FILE`,\n"
		"as `--name=value` on the command line, or as the environment variable `CHAT_NAME`\n"
		"(upper case). `CHAT_CONFIG=FILE` in the environment loads FILE first. Later\n"
		"sources win: the file, then the environment, then arguments in order.\n\n"
		"| option | type | default | bounds | meaning |\n|---|---|---|---|---|\n");
	for (i = 0; i < options_count; i++) {
		const options_entry_t *o = &options_table[i];

		fprintf(f, "| `%s` | %s | `%s` | ", o->name, type_name(o->type), o->def);
		if (o->type == OPTIONS_INT)
			fprintf(f, "%lld..%lld", o->min, o->max);
		fprintf(f, " | %s |\n", o->help);
	}
	fprintf(f,
		"\n## The login token behind every front server\n\n"
		"`POST /api/logout` and `POST /api/rooms` need the token from `POST /api/login`,\n"
		"as `Authorization: Bearer TOKEN` or as the member `\"token\"` of the JSON body\n"
		"(the header wins when both are given). Apache keeps `Authorization` from\n"
		"FastCGI programs (mod_fcgid and mod_proxy_fcgi alike) unless `CGIPassAuth On`\n"
		"applies to the request (Apache 2.4.13 and later; also from `.htaccess`); the\n"
		"shipped `conf/apache-*.conf.in` set it. The page (`www/js/chat.js`) sends the\n"
		"token both ways, so it also works where a front server strips the header.\n");
}
