/*
 * The handout maker: turns the reference tree into the student tree.
 *
 *   handout [--from STAGE] SRC DEST
 *
 * Every file git tracks in SRC is copied to DEST, except what only
 * instructors use: .ci/, docs/instructors.md, the handout maker and the
 * grading tools for submissions (see `instructor_only` below). The students'
 * README is docs/handout-README.md, written as DEST/README.md in place of the
 * instructor's. In .c and .h files, code between solution markers is
 * replaced by its stub (docs/contributing.md):
 *
 *     /\* LAB 2A BEGIN *\/          ->   /\* Your code here (2A). *\/
 *     ...reference code...               stub lines
 *     /\* LAB 2A STUB
 *     stub lines
 *     LAB 2A END *\/
 *
 * With --from STAGE only that stage and later ones are stripped; earlier
 * stages keep their reference code (markers and stubs removed), for
 * learners who start later in the course.
 *
 * DEST/STUDENT_FILES is the manifest: the files a student may change, one
 * a line: every file with a solution block of a stripped stage, plus those
 * listed in SRC/tools/student-files.extra. Grading a submission copies only
 * these onto a pristine handout (tools/grade-submission.sh).
 *
 * Marker mistakes (an END without BEGIN, a missing END, mismatched stages)
 * stop the tool with file and line, and DEST is not written: a broken
 * handout is worse than none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

/* In stripping order; 2X and 3X are the optional extensions after 2C and 3C. */
static const char *const stages[] = { "1",  "2A", "2B", "2C", "2X", "3A", "3B",
                                      "3C", "3X", "4A", "4B", "4C", NULL };
/* Put in DEST so a later run knows it may replace the directory. */
static const char *const stamp_name = ".tinykv-handout";
static const char *const manifest_name = "STUDENT_FILES";
static const char *const extra_list = "tools/student-files.extra";
static const char *const student_readme = "docs/handout-README.md";

/* Paths (a trailing '/' means a whole folder) that stay with the instructor. */
static const char *const instructor_only[] = {
    ".ci/",
    "docs/instructors.md",
    "tools/handout.c",
    "tools/handout-check.sh",
    "tools/grade-submission.sh",
    "tools/grade-class",
    "tools/autograder/",
    "tools/student-files.extra",
    NULL,
};

static int is_instructor_only(const char *rel)
{
    for (int i = 0; instructor_only[i] != NULL; i++) {
        const char *p = instructor_only[i];
        size_t n = strlen(p);
        if (p[n - 1] == '/' ? strncmp(rel, p, n) == 0 : strcmp(rel, p) == 0)
            return 1;
    }
    return 0;
}

static int stage_index(const char *s)
{
    for (int i = 0; stages[i] != NULL; i++) {
        if (strcasecmp(stages[i], s) == 0)
            return i;
    }
    return -1;
}

/* Accepts "project2a", "2a" or "2A". */
static int parse_from(const char *arg)
{
    if (strncmp(arg, "project", 7) == 0)
        arg += 7;
    return stage_index(arg);
}

typedef enum { M_NONE, M_BEGIN, M_STUB, M_END } marker_t;

/* Recognises a marker line: the trimmed line is exactly one of
 * "/\* LAB X BEGIN *\/", "/\* LAB X STUB", "LAB X END *\/", "/\* LAB X END *\/".
 * Sets *stage to the stage index. */
static marker_t parse_marker(const char *line, int *stage)
{
    while (*line == ' ' || *line == '\t')
        line++;
    char word[8], kind[8], tail[8];
    int n = 0;
    if (sscanf(line, "/* LAB %7s %7s %n", word, kind, &n) == 2) {
        const char *rest = line + n;
        if (strcmp(kind, "BEGIN") == 0 && sscanf(rest, "%7s", tail) == 1 &&
            strcmp(tail, "*/") == 0) {
            *stage = stage_index(word);
            return M_BEGIN;
        }
        if (strcmp(kind, "END") == 0 && sscanf(rest, "%7s", tail) == 1 && strcmp(tail, "*/") == 0) {
            *stage = stage_index(word);
            return M_END;
        }
        if (strcmp(kind, "STUB") == 0 && *rest == '\0') {
            *stage = stage_index(word);
            return M_STUB;
        }
    }
    if (sscanf(line, "LAB %7s %7s %7s", word, kind, tail) == 3 && strcmp(kind, "END") == 0 &&
        strcmp(tail, "*/") == 0) {
        *stage = stage_index(word);
        return M_END;
    }
    return M_NONE;
}

/* Rewrites one source file. Returns 0, or -1 after printing what is wrong. */
static int strip_source(const char *path, FILE *in, tkv_buf_t *out, int from, int *blocks,
                        int *stripped)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, open_line = 0, stage = -1;
    marker_t state = M_NONE; /* M_NONE outside, M_BEGIN in reference code, M_STUB in stub */
    while ((len = getline(&line, &cap, in)) > 0) {
        lineno++;
        int s = -1;
        marker_t m = parse_marker(line, &s);
        if (m != M_NONE && s < 0) {
            fprintf(stderr, "%s:%d: unknown stage in marker: %s", path, lineno, line);
            goto fail;
        }
        if (m == M_BEGIN) {
            if (state != M_NONE) {
                fprintf(stderr, "%s:%d: LAB BEGIN inside the block opened at line %d\n", path,
                        lineno, open_line);
                goto fail;
            }
            state = M_BEGIN;
            stage = s;
            open_line = lineno;
            (*blocks)++;
            if (stage >= from) {
                (*stripped)++;
                size_t indent = strspn(line, " \t");
                buf_append(out, line, indent);
                char note[64];
                snprintf(note, sizeof(note), "/* Your code here (%s). */\n", stages[stage]);
                buf_append(out, note, strlen(note));
            }
            continue;
        }
        if (m == M_STUB || m == M_END) {
            int ok = (m == M_STUB && state == M_BEGIN) ||
                     (m == M_END && (state == M_BEGIN || state == M_STUB));
            if (!ok || s != stage) {
                fprintf(stderr, "%s:%d: this marker does not close the block opened at line %d\n",
                        path, lineno, open_line);
                goto fail;
            }
            if (m == M_END) {
                /* "/\* LAB X END *\/" after reference code, or "LAB X END *\/" closing a stub */
                int closes_stub_comment = state == M_STUB;
                int plain = strstr(line, "/*") != NULL;
                if (closes_stub_comment == plain) {
                    fprintf(stderr,
                            "%s:%d: a STUB block ends with 'LAB %s END */', a block without "
                            "a stub with '/* LAB %s END */'\n",
                            path, lineno, stages[stage], stages[stage]);
                    goto fail;
                }
                state = M_NONE;
            } else {
                state = M_STUB;
            }
            continue;
        }
        /* An ordinary line: keep it unless it is reference code being
         * stripped or a stub of a stage being kept. */
        int keep = state == M_NONE || (state == M_BEGIN && stage < from) ||
                   (state == M_STUB && stage >= from);
        if (keep)
            buf_append(out, line, (size_t)len);
    }
    free(line);
    if (state != M_NONE) {
        fprintf(stderr, "%s:%d: block opened here is never closed\n", path, open_line);
        return -1;
    }
    return 0;
fail:
    free(line);
    return -1;
}

static int make_parents(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "handout: cannot make %s: %s\n", tmp, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    return 0;
}

static int write_file(const char *path, const tkv_buf_t *data, mode_t mode)
{
    if (make_parents(path) != 0)
        return -1;
    FILE *f = fopen(path, "wb");
    if (f == NULL || (data->len && fwrite(data->data, 1, data->len, f) != data->len)) {
        fprintf(stderr, "handout: cannot write %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    chmod(path, mode & 0777);
    return 0;
}

static int is_source(const char *path)
{
    size_t n = strlen(path);
    return n > 2 && path[n - 2] == '.' && (path[n - 1] == 'c' || path[n - 1] == 'h');
}

static int dir_is_replaceable(const char *dest)
{
    struct stat st;
    if (stat(dest, &st) != 0)
        return 1; /* does not exist */
    char stamp[4096];
    snprintf(stamp, sizeof(stamp), "%s/%s", dest, stamp_name);
    return access(stamp, F_OK) == 0;
}

typedef struct {
    char *rel;
    tkv_buf_t data;
    mode_t mode;
    int student; /* has a stripped solution block */
} file_t;

static int in_handout(const file_t *files, size_t n, const char *rel)
{
    for (size_t k = 0; k < n; k++) {
        if (strcmp(files[k].rel, rel) == 0)
            return 1;
    }
    return 0;
}

/* DEST/STUDENT_FILES: the files with stripped blocks, then the instructor's
 * extra list (SRC/tools/student-files.extra: paths, '#' comments). */
static int write_manifest(const char *src, const char *dest, const file_t *files, size_t n)
{
    tkv_buf_t out = TKV_BUF_INIT;
    const char *head =
        "# The files you write. Grading copies only these from your submission onto\n"
        "# a fresh copy of the handout; changes to any other file are ignored (and\n"
        "# listed in the grading report).\n";
    buf_append(&out, head, strlen(head));
    for (size_t k = 0; k < n; k++) {
        if (files[k].student > 0) {
            buf_append(&out, files[k].rel, strlen(files[k].rel));
            buf_append_byte(&out, '\n');
        }
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", src, extra_list);
    FILE *extra = fopen(path, "r");
    int bad = 0;
    if (extra != NULL) {
        char line[1024];
        while (fgets(line, sizeof(line), extra) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] == '\0' || line[0] == '#')
                continue;
            if (!in_handout(files, n, line)) {
                fprintf(stderr, "handout: %s lists %s, which is not in the handout\n", extra_list,
                        line);
                bad = 1;
                continue;
            }
            buf_append(&out, line, strlen(line));
            buf_append_byte(&out, '\n');
        }
        fclose(extra);
    }
    snprintf(path, sizeof(path), "%s/%s", dest, manifest_name);
    int rc = bad ? -1 : write_file(path, &out, 0644);
    buf_free(&out);
    return rc;
}

int main(int argc, char **argv)
{
    int from = 0;
    int i = 1;
    if (argc >= 3 && strcmp(argv[1], "--from") == 0) {
        from = parse_from(argv[2]);
        if (from < 0) {
            fprintf(stderr, "handout: unknown stage '%s' (project1, project2a ... project4c)\n",
                    argv[2]);
            return 2;
        }
        i = 3;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: handout [--from STAGE] SRC DEST\n"
               "Writes the student tree made from the reference tree SRC (a git checkout)\n"
               "into DEST: solution blocks replaced by their stubs, instructor-only files\n"
               "left out, the students' README in place, and DEST/STUDENT_FILES listing\n"
               "the files a student may change. --from STAGE (project1 ... project4c)\n"
               "strips that stage and later ones only. DEST is replaced only if an\n"
               "earlier handout made it. (make handout runs this.)\n");
        return 0;
    }
    if (argc - i != 2 || argv[i][0] == '-') {
        if (i < argc && argv[i][0] == '-')
            fprintf(stderr, "handout: unknown option '%s'\n", argv[i]);
        fprintf(stderr, "usage: handout [--from STAGE] SRC DEST   (handout --help says more)\n");
        return 2;
    }
    const char *src = argv[i], *dest = argv[i + 1];
    if (!dir_is_replaceable(dest)) {
        fprintf(stderr, "handout: %s exists and is not a handout; refusing to replace it\n", dest);
        return 1;
    }

    /* First pass: read and strip everything in memory, so a marker mistake
     * leaves DEST untouched. */
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "cd '%s' && git ls-files --cached -z 2>/dev/null", src);
    char readme_path[4096];
    snprintf(readme_path, sizeof(readme_path), "%s/%s", src, student_readme);
    int has_student_readme = access(readme_path, F_OK) == 0;
    FILE *list = popen(cmd, "r");
    if (list == NULL) {
        fprintf(stderr, "handout: cannot list files of %s\n", src);
        return 1;
    }
    file_t *files = NULL;
    size_t n_files = 0, cap_files = 0;
    int blocks = 0, errors = 0;
    char *rel = NULL;
    size_t rel_cap = 0;
    while (getdelim(&rel, &rel_cap, '\0', list) > 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", src, rel);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* deleted in the work tree, or not a file */
        if (is_instructor_only(rel))
            continue; /* CI, the instructors' guide and tools stay with the instructor */
        if (strcmp(rel, "README.md") == 0 && has_student_readme)
            continue; /* replaced by the students' README below */
        FILE *in = fopen(path, "rb");
        if (in == NULL) {
            fprintf(stderr, "handout: cannot read %s: %s\n", path, strerror(errno));
            errors++;
            continue;
        }
        if (n_files == cap_files) {
            cap_files = cap_files ? cap_files * 2 : 256;
            files = xrealloc(files, cap_files * sizeof(*files));
        }
        file_t *f = &files[n_files++];
        f->rel = strdup(rel);
        f->mode = st.st_mode;
        f->student = 0;
        buf_init(&f->data);
        if (strcmp(rel, student_readme) == 0) {
            free(f->rel);
            f->rel = strdup("README.md");
        }
        if (is_source(rel)) {
            if (strip_source(path, in, &f->data, from, &blocks, &f->student) != 0)
                errors++;
        } else {
            char chunk[65536];
            size_t got;
            while ((got = fread(chunk, 1, sizeof(chunk), in)) > 0)
                buf_append(&f->data, chunk, got);
        }
        fclose(in);
    }
    free(rel);
    if (pclose(list) != 0 || n_files == 0) {
        fprintf(stderr, "handout: %s is not a git checkout with files in it\n", src);
        return 1;
    }
    if (errors) {
        fprintf(stderr, "handout: %d file(s) with errors; nothing written\n", errors);
        return 1;
    }

    char rm[4200];
    snprintf(rm, sizeof(rm), "rm -rf '%s'", dest);
    if (system(rm) != 0) {
        fprintf(stderr, "handout: cannot clear %s\n", dest);
        return 1;
    }
    for (size_t k = 0; k < n_files; k++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dest, files[k].rel);
        if (write_file(path, &files[k].data, files[k].mode) != 0)
            return 1;
        buf_free(&files[k].data);
    }
    if (write_manifest(src, dest, files, n_files) != 0)
        return 1;
    if (write_manifest(src, dest, files, n_files) != 0)
        return 1;
    char stamp[4096];
    snprintf(stamp, sizeof(stamp), "%s/%s", dest, stamp_name);
    tkv_buf_t note = TKV_BUF_INIT;
    const char *text =
        "This tree was made by `make handout`; it may be replaced by the next one.\n";
    buf_append(&note, text, strlen(text));
    write_file(stamp, &note, 0644);
    buf_free(&note);
    size_t n_student = 0;
    for (size_t k = 0; k < n_files; k++) {
        n_student += files[k].student > 0;
        free(files[k].rel);
    }
    free(files);
    printf("handout: %zu files written to %s, %d solution blocks handled (stripped from stage %s "
           "on); %zu student files listed in %s/%s\n",
           n_files, dest, blocks, stages[from], n_student, dest, manifest_name);
    return 0;
}
