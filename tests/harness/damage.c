/*
 * Damaging table files (damage.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/damage.h"
#include "tests/harness/test.h"

static int is_table(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".ldb") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".sst") == 0);
}

int tkv_damage_tables(const char *dir, int percent, int len)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        fail_msg("cannot open %s to damage its tables", dir);
    int damaged = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_table(e->d_name))
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || st.st_size < 4 * len)
            continue;
        FILE *f = fopen(path, "r+b");
        if (f == NULL)
            fail_msg("cannot open %s to damage it", path);
        fseek(f, (long)(st.st_size * percent / 100), SEEK_SET);
        for (int i = 0; i < len; i++)
            fputc(0xa5 ^ i, f);
        if (fclose(f) != 0)
            fail_msg("cannot write %s", path);
        damaged++;
    }
    closedir(d);
    return damaged;
}
