/*
 * libFuzzer target: the protobuf request handlers tinykv-server serves (the
 * raw API of project 1 and the Kv* commands of project 4) on a standalone
 * storage in a scratch directory, as the server's dispatch would call them.
 *
 * The input's first byte picks the method, the rest is its payload: refused
 * like the server refuses it (NUL-holding strings, payloads that do not
 * decode), else handed to the handler; the response is packed as if to be
 * sent. The storage lives for the whole run, so later inputs read what
 * earlier ones wrote. Built and run by `make fuzz`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb_check.h"
#include "project1-standalone/kv_service.h"
#include "project1-standalone/standalone_storage.h"
#include "project4-txn/txn_service.h"
#include "proto/tinykvpb.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rpc_method_t methods[24];
static size_t n_methods;
static storage_t *storage;
static txn_service_t txn;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tkv_log_set_level(TKV_LOG_ERROR);
    char dir[] = "/tmp/tinykv-fuzz-handlers-XXXXXX";
    if (mkdtemp(dir) == NULL || standalone_storage_new(dir, &storage) != TKV_OK ||
        storage_start(storage) != TKV_OK) {
        fprintf(stderr, "fuzz_handlers: cannot start a storage in %s\n", dir);
        exit(1);
    }
    txn.storage = storage;
    txn.latches = latches_new();
    n_methods = rpc_methods_append(methods, 0, 24, kv_service_standalone_methods(), storage);
    n_methods = rpc_methods_append(methods, n_methods, 24, txn_service_methods(), &txn);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || n_methods == 0)
        return 0;
    const rpc_method_t *m = &methods[data[0] % n_methods];
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(&tinykvpb__tiny_kv__descriptor, m->method);
    if (md == NULL)
        abort(); /* the table names only methods of the service */
    data++;
    size--;
    if (pb_check_strings(md->input, data, size) != TKV_OK)
        return 0;
    ProtobufCMessage *in = protobuf_c_message_unpack(md->input, NULL, size, data);
    if (in == NULL)
        return 0;
    ProtobufCMessage *out = malloc(md->output->sizeof_message);
    protobuf_c_message_init(md->output, out);
    (void)m->fn(m->ctx, in, out);
    size_t len = protobuf_c_message_get_packed_size(out);
    uint8_t *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(out, buf);
    free(buf);
    protobuf_c_message_free_unpacked(out, NULL);
    protobuf_c_message_free_unpacked(in, NULL);
    return 0;
}
