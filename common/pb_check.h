/*
 * Checks on encoded protobuf messages that protobuf-c does not make.
 *
 * protobuf-c hands a string field over as a NUL-terminated char *, so a
 * string that holds a NUL byte arrives cut short: the column family
 * "default\0evil" would be served as "default", the method "RawGet\0junk"
 * as "RawGet". The length is gone once the message is unpacked, so the check
 * reads the encoded bytes, guided by the message's descriptor, before they
 * are unpacked.
 */
#ifndef TKV_COMMON_PB_CHECK_H
#define TKV_COMMON_PB_CHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* TKV_ERR_INVALID, naming the message and field, when a string field of the
 * encoded message `data[0..len)` of type `desc` (or of a message nested in
 * it, at any depth) holds a NUL byte; TKV_OK otherwise. Bytes that are not
 * well-formed protobuf pass: unpacking them fails on its own. */
tkv_err_t pb_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len);

#endif
