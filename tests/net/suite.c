/*
 * The net suite (frame, 0 points): framing, the RPC server and client, and the
 * standalone TinyKv service over real loopback TCP.
 */
#include "tests/harness/test.h"

extern const tkv_test_t frame_codec_tests[];
extern const tkv_test_t server_tests[];

const tkv_test_t *const *tkv_suite(void)
{
    static const tkv_test_t *const tables[] = {
        frame_codec_tests,
        server_tests,
        NULL,
    };
    return tables;
}
