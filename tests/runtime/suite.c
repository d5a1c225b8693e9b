/*
 * The runtime folder: the batch system, the tick source and the transport
 * between stores (runtime/), with real threads and loopback TCP. Suite frame,
 * 0 points: frame code, so these pass on handouts too. They wait by polling
 * a condition with a bound (rt_wait.h), never by sleeping a fixed time.
 */
#include "tests/harness/test.h"

extern const tkv_test_t batch_system_tests[];
extern const tkv_test_t ticker_tests[];
extern const tkv_test_t transport_tests[];
extern const tkv_test_t raft_wire_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        batch_system_tests, ticker_tests, transport_tests, raft_wire_tests, NULL,
    };
    return tables;
}
