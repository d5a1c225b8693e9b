/*
 * A read that fails while a command applies (graded, 2B): a Get over a
 * damaged table file answers with an error, never with an empty value.
 *
 * eng_get() tells an absent key (TKV_ERR_NOT_FOUND: the answer is "no
 * value") from a read that failed (a block whose checksum is wrong). An
 * apply path that takes any error for "absent" answers a key that holds a
 * value with an empty one, and the client has no way to know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb.h"
#include "tests/faults/stores.h"
#include "tests/harness/expect.h"
#include "tests/harness/damage.h"

#define N_KEYS  400
#define VAL_LEN 200

static void value_of(int i, char *v)
{
    tkv_prng_t rng;
    prng_seed(&rng, (uint64_t)i + 1);
    for (int j = 0; j < VAL_LEN; j++)
        v[j] = (char)('a' + prng_next(&rng) % 26); /* random: no compression to one block */
    v[VAL_LEN] = '\0';
}

static void lead(ff_stores_t *c)
{
    (void)store_campaign(c->s[1], 1);
    ff_deliver(c, 100);
    if (!peer_is_leader(ff_peer(c, 1)))
        fail_msg("the only peer of region 1 did not become leader after campaigning");
}

static void test_failed_get_in_apply_is_an_error(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    ff_stores_t c;
    ff_open(&c, 1, "");
    lead(&c);
    char key[16], v[VAL_LEN + 1];
    for (int i = 0; i < N_KEYS; i++) {
        snprintf(key, sizeof(key), "key%04d", i);
        value_of(i, v);
        RaftCmdpb__RaftCmdResponse *resp = NULL;
        ff_command(&c, 1, key, v, &resp);
        if (ff_resp_error(resp) != NULL)
            fail_msg("Put %s failed on a healthy store: %s", key, ff_resp_error(resp));
        pb_free(resp);
    }
    /* leveldb writes its log into a table file when it opens: reopen once,
     * then damage that table while the store is closed. */
    ff_close_store(&c, 1);
    expect_err(ff_open_store(&c, 1), TKV_OK, "reopening the store to turn its log into a table");
    ff_close_store(&c, 1);
    char kv_dir[300];
    snprintf(kv_dir, sizeof(kv_dir), "%s/kv", c.dir[1]);
    if (tkv_damage_tables(kv_dir, 50, 64) < 1)
        fail_msg("no table file to damage in %s", kv_dir);
    if (ff_open_store(&c, 1) != TKV_OK)
        fail_msg("the store does not open over a data block's damage: %s", tkv_last_error());
    lead(&c);
    int errors = 0, right = 0;
    for (int i = 0; i < N_KEYS; i++) {
        snprintf(key, sizeof(key), "key%04d", i);
        value_of(i, v);
        RaftCmdpb__RaftCmdResponse *resp = NULL;
        ff_command(&c, 1, key, NULL, &resp);
        const char *err = ff_resp_error(resp);
        if (err != NULL) {
            errors++;
        } else {
            const RaftCmdpb__GetResponse *g =
                resp->n_responses == 1 ? resp->responses[0]->get : NULL;
            if (g == NULL || g->value.len != VAL_LEN || memcmp(g->value.data, v, VAL_LEN) != 0)
                fail_msg("Get %s over a damaged table answered %zu bytes and no error; the key "
                         "holds %d bytes: a read that fails in apply must answer with an "
                         "error, not an empty value",
                         key, g ? g->value.len : 0, VAL_LEN);
            right++;
        }
        pb_free(resp);
    }
    if (errors == 0)
        fail_msg("all %d Gets answered right over a damaged table: the test damaged no data block",
                 right);
    ff_close(&c);
}

const tkv_test_t apply_read_tests[] = {
    { "project2b", "failed_get_in_apply_is_an_error", 1,
      "a Get whose read fails in apply (a damaged table) answers an error, not an empty value",
      test_failed_get_in_apply_is_an_error },
    { 0 },
};
