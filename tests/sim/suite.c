/*
 * The simulator's own suite (reported under "frame", 0 points): the event
 * loop, the network's faults, crash and restart, traces and replay, and the
 * history checkers, proved on a toy replicated system and on hand-made
 * histories before any real store depends on them.
 */
#include "tests/harness/test.h"

extern const tkv_test_t client_check_tests[];
extern const tkv_test_t cluster_tests[];
extern const tkv_test_t history_tests[];
extern const tkv_test_t lin_tests[];
extern const tkv_test_t net_tests[];
extern const tkv_test_t raftmsg_tests[];
extern const tkv_test_t shrink_tests[];
extern const tkv_test_t sim_tests[];
extern const tkv_test_t toy_tests[];
extern const tkv_test_t trace_page_tests[];
extern const tkv_test_t trace_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        client_check_tests, cluster_tests, history_tests,    lin_tests,
        net_tests,          raftmsg_tests, shrink_tests,     sim_tests,
        toy_tests,          trace_tests,   trace_page_tests, NULL,
    };
    return tables;
}
