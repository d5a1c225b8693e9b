/*
 * libFuzzer target: the RPC frame decoder (common/rpc_frame.h) on any bytes.
 *
 * The input is a byte stream as a peer would send it; its first byte picks
 * how it is cut into reads (1 to 256 bytes each), since the decoder must give
 * the same frames however the stream arrives. Every frame that comes out is
 * checked for NUL-holding strings (as the server does), and a frame of its
 * fields is encoded and decoded again. Built and run by `make fuzz` (clang, -fsanitize=fuzzer).
 */
#include <stdlib.h>
#include <string.h>

#include "common/pb_check.h"
#include "common/rpc_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;
    rpc_decoder_t dec;
    rpc_decoder_init(&dec);
    for (size_t off = 0; off < size; off += piece) {
        rpc_decoder_feed(&dec, data + off, size - off < piece ? size - off : piece);
        Rpcpb__RpcFrame *f = NULL;
        while (rpc_decoder_next(&dec, &f) == TKV_OK && f != NULL) {
            (void)rpc_decoder_flaw(&dec);
            (void)pb_check_strings(&rpcpb__rpc_frame__descriptor, f->payload.data, f->payload.len);
            /* A frame made of its known fields, as the server makes a reply
             * (unknown fields are not echoed: protobuf-c keeps them, and
             * accepts an overlong field 0 that it then cannot read back). */
            Rpcpb__RpcFrame copy = RPCPB__RPC_FRAME__INIT;
            copy.call_id = f->call_id;
            copy.method = f->method;
            copy.payload = f->payload;
            copy.status = f->status;
            copy.error = f->error;
            tkv_buf_t again = TKV_BUF_INIT;
            if (rpc_frame_encode(&copy, &again) == TKV_OK) {
                rpc_decoder_t d2;
                rpc_decoder_init(&d2);
                rpc_decoder_feed(&d2, again.data, again.len);
                Rpcpb__RpcFrame *g = NULL;
                /* What we encode, we decode: anything else is a bug. */
                if (rpc_decoder_next(&d2, &g) != TKV_OK || g == NULL || g->call_id != f->call_id ||
                    g->payload.len != f->payload.len)
                    abort();
                rpcpb__rpc_frame__free_unpacked(g, NULL);
                rpc_decoder_free(&d2);
            }
            buf_free(&again);
            rpcpb__rpc_frame__free_unpacked(f, NULL);
        }
    }
    rpc_decoder_free(&dec);
    return 0;
}
