/*
 * cmocka's framing lines, recognised (cmocka_lines.h).
 */
#include <string.h>

#include "tests/harness/cmocka_lines.h"

static int starts_with(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

int tkv_cmocka_framing(const char *line, size_t len, size_t *skip)
{
    static const char *const framing[] = {
        "[==========]", "[ RUN      ]", "[       OK ]", "[  PASSED  ]",
        "[  FAILED  ]", "[  SKIPPED ]", NULL,
    };
    static const char *const prefixes[] = { "[  ERROR   ] --- ", "[   LINE   ] --- ", NULL };
    *skip = 0;
    for (int i = 0; framing[i] != NULL; i++) {
        if (starts_with(line, len, framing[i]))
            return 1;
    }
    /* " 1 FAILED TEST(S)": short, so copied to a string for strstr(). */
    if (len > 0 && len < 24) {
        char copy[24];
        memcpy(copy, line, len);
        copy[len] = '\0';
        if (strstr(copy, "FAILED TEST(S)") != NULL)
            return 1;
    }
    /* "[  ERROR   ] --- [   LINE   ] --- file:line: ..." carries both. */
    for (int i = 0; prefixes[i] != NULL; i++) {
        if (starts_with(line + *skip, len - *skip, prefixes[i]))
            *skip += strlen(prefixes[i]);
    }
    return 0;
}
