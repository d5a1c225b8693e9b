/*
 * Protobuf-c helpers (pb.h).
 */
#include <stdlib.h>

#include "common/pb.h"

void pb_pack(const ProtobufCMessage *msg, tkv_buf_t *out)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    buf_clear(out);
    buf_reserve(out, n + 1);
    protobuf_c_message_pack(msg, out->data);
    out->len = n;
}

ProtobufCMessage *pb_dup(const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    tkv_buf_t b = TKV_BUF_INIT;
    pb_pack(msg, &b);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, b.len, b.data);
    buf_free(&b);
    if (copy == NULL)
        abort(); /* we packed it ourselves: only out-of-memory gets here */
    return copy;
}

void pb_free(void *msg)
{
    if (msg != NULL)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)msg, NULL);
}
