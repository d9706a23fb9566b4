/*
 * inventory_store.c - inventory versions in the database: each installed
 * document is kept whole with its SHA-256, who installed it and when, so
 * the inventory in force at any moment can be shown to an auditor.
 */
#include "crypto/crypto.h"
#include "inventory/inventory.h"
#include "store/store.h"

int inventory_store_version(struct store_conn *c, const char *text, int64_t changed_by,
			    const char *note, int *version, struct st_error *e)
{
	int64_t v = 0;
	int rc = store_query_int(c, &v, e,
				 "SELECT COALESCE(MAX(version), 0) + 1 FROM inventory_version", "");
	if (rc != ST_OK)
		return rc;
	unsigned char h[HASH_BYTES];
	sha256(text, strlen(text), h);
	rc = store_run(c, e,
		       "INSERT INTO inventory_version (version, document, sha256, changed_by, "
		       "changed_at, note) VALUES (?, ?, ?, ?, ?, ?)",
		       "itbiit", v, text, h, (size_t)HASH_BYTES, changed_by, time_now(),
		       note ? note : "");
	if (rc == ST_OK)
		*version = (int)v;
	return rc;
}

