/*
 * Escaping and cutting of test output (text.h).
 *
 * Tests are student code: they may print anything, including bytes that are
 * not UTF-8 and megabytes of log. Gradescope and JUnit readers reject a
 * results file with one bad byte, so every byte goes through the validator
 * below before it is written anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/cmocka_lines.h"
#include "tools/grading/text.h"

size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void append_str(tkv_buf_t *out, const char *s)
{
    buf_append(out, s, strlen(s));
}

static void append_hex_byte(tkv_buf_t *out, unsigned char b, int json)
{
    char tmp[8];
    /* In JSON the backslash itself must be escaped to stay a backslash. */
    snprintf(tmp, sizeof(tmp), json ? "\\\\x%02x" : "\\x%02x", b);
    append_str(out, tmp);
}

/* One ASCII byte in JSON: quotes, backslashes and control characters escaped. */
static void json_ascii(tkv_buf_t *out, unsigned char c)
{
    switch (c) {
    case '"':
        append_str(out, "\\\"");
        break;
    case '\\':
        append_str(out, "\\\\");
        break;
    case '\n':
        append_str(out, "\\n");
        break;
    case '\t':
        append_str(out, "\\t");
        break;
    case '\r':
        append_str(out, "\\r");
        break;
    default:
        if (c < 0x20 || c == 0x7f) {
            char tmp[8];
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            append_str(out, tmp);
        } else {
            buf_append_byte(out, c);
        }
    }
}

/* One ASCII byte in XML text or an attribute. */
static void xml_ascii(tkv_buf_t *out, unsigned char c)
{
    switch (c) {
    case '<':
        append_str(out, "&lt;");
        break;
    case '>':
        append_str(out, "&gt;");
        break;
    case '&':
        append_str(out, "&amp;");
        break;
    case '"':
        append_str(out, "&quot;");
        break;
    case '\n':
        append_str(out, "&#10;"); /* kept as a newline inside attributes too */
        break;
    case '\t':
        append_str(out, "&#9;");
        break;
    default:
        if (c < 0x20 || c == 0x7f)
            append_hex_byte(out, c, 0);
        else
            buf_append_byte(out, c);
    }
}

/* The walk both formats share: valid multi-byte UTF-8 is copied, a byte
 * that is not valid UTF-8 becomes \xNN, and each ASCII byte goes to the
 * format's own escaper. */
static void escape_utf8(tkv_buf_t *out, const char *s, size_t n, int json,
                        void (*ascii)(tkv_buf_t *out, unsigned char c))
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t len = utf8_valid_prefix(p + i, n - i);
        /* XML 1.0 also forbids U+FFFE and U+FFFF (EF BF BE, EF BF BF). */
        if (!json && len == 3 && c == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe)
            len = 0;
        if (len == 0) {
            append_hex_byte(out, c, json);
            i++;
        } else if (len > 1) {
            buf_append(out, p + i, len);
            i += len;
        } else {
            ascii(out, c);
            i++;
        }
    }
}

void text_json(tkv_buf_t *out, const char *s, size_t n)
{
    buf_append_byte(out, '"');
    escape_utf8(out, s, n, 1, json_ascii);
    buf_append_byte(out, '"');
}

void text_xml(tkv_buf_t *out, const char *s, size_t n)
{
    escape_utf8(out, s, n, 0, xml_ascii);
}

void text_plain(tkv_buf_t *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_valid_prefix(p + i, n - i);
        int control = len == 1 && (p[i] < 0x20 || p[i] == 0x7f) && p[i] != '\n' && p[i] != '\t';
        if (len == 0 || control) {
            append_hex_byte(out, p[i], 0);
            i++;
        } else {
            buf_append(out, p + i, len);
            i += len;
        }
    }
}

/* Lines of raw[0..n) into `out`, boilerplate dropped and runs of blank lines
 * folded into one. */
static void filter_quiet(tkv_buf_t *out, const char *raw, size_t n)
{
    int blank_run = 1;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(raw + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (raw + i)) : n - i;
        const char *line = raw + i;
        i += len + (nl != NULL);
        size_t skip = 0;
        if (tkv_cmocka_framing(line, len, &skip))
            continue;
        line += skip;
        len -= skip;
        if (len == 0) {
            if (blank_run)
                continue;
            blank_run = 1;
        } else {
            blank_run = 0;
        }
        buf_append(out, line, len);
        buf_append_byte(out, '\n');
    }
}

/* The excerpt is a C string, so a NUL byte a test printed is shown as text. */
static void append_no_nul(tkv_buf_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0')
            append_str(out, "\\x00");
        else
            buf_append_byte(out, (uint8_t)s[i]);
    }
}

/* Reads at most `window` bytes from each end of a big file, noting how much
 * of the middle was skipped. */
static void read_ends(FILE *f, long size, size_t window, tkv_buf_t *out, size_t *skipped)
{
    char *chunk = xmalloc(window);
    size_t got = fread(chunk, 1, window, f);
    append_no_nul(out, chunk, got);
    *skipped = 0;
    if (size > (long)(2 * window)) {
        *skipped = (size_t)size - 2 * window;
        fseek(f, size - (long)window, SEEK_SET);
    }
    while ((got = fread(chunk, 1, window, f)) > 0)
        append_no_nul(out, chunk, got);
    free(chunk);
}

char *text_excerpt(const char *path, size_t head_bytes, size_t tail_bytes, int quiet)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    tkv_buf_t raw = TKV_BUF_INIT, text = TKV_BUF_INIT;
    size_t skipped = 0;
    read_ends(f, size, 256 * 1024, &raw, &skipped);
    fclose(f);
    if (quiet)
        filter_quiet(&text, (const char *)raw.data, raw.len);
    else
        buf_append(&text, raw.data, raw.len);
    buf_free(&raw);

    tkv_buf_t out = TKV_BUF_INIT;
    if (text.len + skipped <= head_bytes + tail_bytes && skipped == 0) {
        buf_append(&out, text.data, text.len);
    } else {
        const char *t = (const char *)text.data;
        size_t head = head_bytes < text.len ? head_bytes : text.len;
        /* End the head at a line end, and start the tail after one. */
        while (head > 0 && t[head - 1] != '\n')
            head--;
        size_t tail_start = text.len > tail_bytes ? text.len - tail_bytes : 0;
        if (tail_start < head)
            tail_start = head;
        while (tail_start > head && tail_start < text.len && t[tail_start - 1] != '\n')
            tail_start++;
        buf_append(&out, t, head);
        char note[1200];
        snprintf(note, sizeof(note), "[... %zu bytes cut; full output: %s ...]\n",
                 tail_start - head + skipped, path);
        append_str(&out, note);
        buf_append(&out, t + tail_start, text.len - tail_start);
    }
    buf_free(&text);
    buf_append_byte(&out, '\0');
    return (char *)buf_take(&out);
}
