/*
 * pb_check_strings() (common/pb_check.h): finds a NUL byte in a string field
 * at any depth, ignores NUL bytes in bytes fields, and lets bytes that are
 * not protobuf through for the unpacker to refuse.
 */
#include <string.h>

#include "common/pb_check.h"
#include "proto/kvrpcpb.pb-c.h"
#include "proto/schedulerpb.pb-c.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static void test_nul_in_nested_string_is_found(void **state)
{
    (void)state;
    /* PutStoreRequest{ store (2) { id (1) = 7, address (2) = "a\0b" } } */
    const uint8_t bad[] = { 0x12, 0x07, 0x08, 0x07, 0x12, 0x03, 'a', 0, 'b' };
    expect_err(pb_check_strings(&schedulerpb__put_store_request__descriptor, bad, sizeof(bad)),
               TKV_ERR_INVALID,
               "pb_check_strings(&schedulerpb__put_store_request__descriptor, bad, sizeof(bad))");
    if (strstr(tkv_last_error(), "address") == NULL ||
        strstr(tkv_last_error(), "metapb.Store") == NULL)
        fail_msg("the error should name field address of metapb.Store: \"%s\"", tkv_last_error());
    const uint8_t good[] = { 0x12, 0x07, 0x08, 0x07, 0x12, 0x03, 'a', '.', 'b' };
    expect_err(pb_check_strings(&schedulerpb__put_store_request__descriptor, good, sizeof(good)),
               TKV_OK,
               "pb_check_strings(&schedulerpb__put_store_request__descriptor, good, sizeof(good))");
}

static void test_nul_in_bytes_is_fine(void **state)
{
    (void)state;
    /* RawPutRequest{ key (2) = "\0k", value (3) = "v\0", cf (4) = "lock" } */
    const uint8_t msg[] = { 0x12, 2, 0, 'k', 0x1a, 2, 'v', 0, 0x22, 4, 'l', 'o', 'c', 'k' };
    expect_err(pb_check_strings(&kvrpcpb__raw_put_request__descriptor, msg, sizeof(msg)), TKV_OK,
               "pb_check_strings(&kvrpcpb__raw_put_request__descriptor, msg, sizeof(msg))");
    uint8_t cut[sizeof(msg)];
    memcpy(cut, msg, sizeof(msg));
    cut[sizeof(msg) - 2] = 0; /* cf "lo\0k" */
    expect_err(pb_check_strings(&kvrpcpb__raw_put_request__descriptor, cut, sizeof(cut)),
               TKV_ERR_INVALID,
               "pb_check_strings(&kvrpcpb__raw_put_request__descriptor, cut, sizeof(cut))");
}

static void test_malformed_bytes_pass_through(void **state)
{
    (void)state;
    const uint8_t overlong[] = { 0x22, 0x7f, 'x' }; /* cf claims 127 bytes */
    const uint8_t bad_varint[] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    const uint8_t group[] = { 0x23, 0x24 };
    const ProtobufCMessageDescriptor *d = &kvrpcpb__raw_put_request__descriptor;
    expect_err(pb_check_strings(d, overlong, sizeof(overlong)), TKV_OK,
               "pb_check_strings(d, overlong, sizeof(overlong))");
    expect_err(pb_check_strings(d, bad_varint, sizeof(bad_varint)), TKV_OK,
               "pb_check_strings(d, bad_varint, sizeof(bad_varint))");
    expect_err(pb_check_strings(d, group, sizeof(group)), TKV_OK,
               "pb_check_strings(d, group, sizeof(group))");
    expect_err(pb_check_strings(d, NULL, 0), TKV_OK, "pb_check_strings(d, NULL, 0)");
}

const tkv_test_t pb_check_tests[] = {
    { "frame", "pb_check_finds_nul_in_nested_string", 0,
      "a NUL byte in a string of a nested message is reported, naming the field",
      test_nul_in_nested_string_is_found },
    { "frame", "pb_check_ignores_nul_in_bytes", 0,
      "NUL bytes in bytes fields are data; in a string field they are refused",
      test_nul_in_bytes_is_fine },
    { "frame", "pb_check_lets_malformed_bytes_through", 0,
      "bytes that are not protobuf pass the check (the unpacker refuses them)",
      test_malformed_bytes_pass_through },
    { 0 },
};
