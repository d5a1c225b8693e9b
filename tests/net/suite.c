/*
 * The net folder: framing, the RPC server and client (suite frame, 0 points,
 * on a test-only service so they pass on handouts), and the standalone TinyKv
 * service over real loopback TCP (suite project1, 0 points: it needs the lab's
 * raw API).
 */
#include "tests/harness/test.h"

extern const tkv_test_t frame_codec_tests[];
extern const tkv_test_t server_tests[];
extern const tkv_test_t kv_service_tests[];
extern const tkv_test_t txn_service_tests[];
extern const tkv_test_t strings_tests[];
extern const tkv_test_t large_tests[];
extern const tkv_test_t ctl_scan_tests[];
extern const tkv_test_t backpressure_tests[];
extern const tkv_test_t server_sync_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        frame_codec_tests, server_tests,   kv_service_tests,   txn_service_tests, strings_tests,
        large_tests,       ctl_scan_tests, backpressure_tests, server_sync_tests, NULL,
    };
    return tables;
}
