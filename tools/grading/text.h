/*
 * Text the grader passes on from tests it does not trust: whatever a test
 * prints ends up in results.json, junit.xml and the terminal, so it is
 * escaped into valid UTF-8 (a byte that is not part of a valid sequence
 * becomes the four characters "\xNN"), cut to a readable size with the cut
 * marked, and, in quiet mode, stripped of cmocka's boilerplate lines.
 */
#ifndef TKV_TOOLS_GRADING_TEXT_H
#define TKV_TOOLS_GRADING_TEXT_H

#include <stddef.h>

#include "common/buf.h"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when s[0] does not
 * start one (stray continuation byte, overlong form, surrogate, > U+10FFFF,
 * or a sequence cut short). */
size_t utf8_valid_prefix(const unsigned char *s, size_t n);

/* Appends s[0..n) as a JSON string, quotes included. */
void text_json(tkv_buf_t *out, const char *s, size_t n);
/* Appends s[0..n) as XML character data (also safe inside an attribute):
 * markup characters as entities; bytes XML 1.0 forbids as "\xNN". */
void text_xml(tkv_buf_t *out, const char *s, size_t n);

/* Appends s[0..n) for a terminal: bad bytes and control characters other
 * than newline and tab as "\xNN". */
void text_plain(tkv_buf_t *out, const char *s, size_t n);

/* The output a test left in `path`, ready to show: with `quiet`, cmocka's
 * "[ RUN ]"/"[ FAILED ]" lines dropped and its "[ ERROR ] --- " prefixes
 * removed; then, if longer than `head_bytes + tail_bytes`, the first
 * head_bytes and the last tail_bytes (cut at line ends) with a line
 * "[... N bytes cut; full output: PATH ...]" between them. Always
 * NUL-terminated; caller frees with free(). A missing file gives "". */
char *text_excerpt(const char *path, size_t head_bytes, size_t tail_bytes, int quiet);

#endif
