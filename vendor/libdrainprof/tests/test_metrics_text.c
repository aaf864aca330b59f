/*
 * test_metrics_text.c - drainprof_ext_format_metrics: metric names and
 * values, HELP/TYPE lines, Prometheus 0.0.4 vs OpenMetrics 1.0.0 (# EOF,
 * counter family names), constant labels with escaped values, invalid prefix
 * and label names, and snprintf semantics (small buffers, size 0).
 */
#include "harness.h"

enum { MAX_SAMPLES = 64, MAX_LABELS = 8, FIELD = 160 };

typedef struct sample {
    char name[FIELD];
    int nlabels;
    char label_name[MAX_LABELS][FIELD];
    char label_value[MAX_LABELS][FIELD]; /* unescaped */
    double value;
} sample;

typedef struct exposition {
    sample samples[MAX_SAMPLES];
    int nsamples;
    char types[MAX_SAMPLES][2][FIELD]; /* family, type */
    int ntypes;
    char helps[MAX_SAMPLES][FIELD];
    int nhelps;
    int malformed;                      /* lines the parser could not read */
    int eof_last;                       /* "# EOF" is the last line */
    int eof_seen;
} exposition;

/* Copies [s, s+n) into dst (bounded). */
static void copy_field(char *dst, const char *s, size_t n)
{
    if (n >= FIELD) n = FIELD - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int parse_sample(const char *line, sample *out)
{
    memset(out, 0, sizeof *out);
    const char *p = line;
    while (*p && *p != '{' && *p != ' ') p++;
    copy_field(out->name, line, (size_t)(p - line));
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (out->nlabels == MAX_LABELS) return -1;
            const char *eq = strchr(p, '=');
            if (!eq || eq[1] != '"') return -1;
            copy_field(out->label_name[out->nlabels], p, (size_t)(eq - p));
            p = eq + 2;
            char *v = out->label_value[out->nlabels];
            size_t n = 0;
            while (*p && *p != '"') {
                char ch = *p++;
                if (ch == '\\') {
                    ch = *p++;
                    if (ch == 'n') ch = '\n';
                    else if (ch != '\\' && ch != '"') return -1;
                }
                if (n + 1 < FIELD) v[n++] = ch;
            }
            if (*p != '"') return -1;
            v[n] = '\0';
            out->nlabels++;
            p++;
            if (*p == ',') p++;
            else if (*p != '}') return -1;
        }
        p++;
    }
    if (*p != ' ') return -1;
    char *end;
    out->value = strtod(p + 1, &end);
    if (end == p + 1) return -1;
    return 0;
}

static void parse(const char *text, exposition *x)
{
    memset(x, 0, sizeof *x);
    const char *line = text;
    while (*line) {
        const char *nl = strchr(line, '\n');
        if (!nl) { x->malformed++; break; } /* every line ends with \n */
        char buf[1024];
        copy_field(buf, line, (size_t)(nl - line));
        if (nl - line >= (long)sizeof buf) x->malformed++;
        x->eof_last = 0;
        if (strcmp(buf, "# EOF") == 0) {
            x->eof_seen++;
            x->eof_last = 1;
        } else if (strncmp(buf, "# TYPE ", 7) == 0 && x->ntypes < MAX_SAMPLES) {
            char *sp = strchr(buf + 7, ' ');
            if (!sp) x->malformed++;
            else {
                copy_field(x->types[x->ntypes][0], buf + 7, (size_t)(sp - (buf + 7)));
                copy_field(x->types[x->ntypes][1], sp + 1, strlen(sp + 1));
                x->ntypes++;
            }
        } else if (strncmp(buf, "# HELP ", 7) == 0 && x->nhelps < MAX_SAMPLES) {
            char *sp = strchr(buf + 7, ' ');
            if (!sp) x->malformed++;
            else copy_field(x->helps[x->nhelps++], buf + 7, (size_t)(sp - (buf + 7)));
        } else if (buf[0] == '#' || buf[0] == '\0') {
            /* other comments are allowed in Prometheus text; blank lines are not in OpenMetrics */
            if (buf[0] == '\0') x->malformed++;
        } else if (x->nsamples < MAX_SAMPLES) {
            if (parse_sample(buf, &x->samples[x->nsamples]) != 0) x->malformed++;
            else x->nsamples++;
        }
        line = nl + 1;
    }
}

static const char *label_of(const sample *s, const char *name)
{
    for (int i = 0; i < s->nlabels; i++)
        if (strcmp(s->label_name[i], name) == 0) return s->label_value[i];
    return NULL;
}

/* The sample `name` (with outcome=`outcome` when not NULL); NULL if absent or
 * ambiguous. */
static const sample *find(const exposition *x, const char *name, const char *outcome)
{
    const sample *found = NULL;
    for (int i = 0; i < x->nsamples; i++) {
        if (strcmp(x->samples[i].name, name) != 0) continue;
        const char *o = label_of(&x->samples[i], "outcome");
        if (outcome ? (o && strcmp(o, outcome) == 0) : o == NULL) {
            if (found) return NULL;
            found = &x->samples[i];
        }
    }
    return found;
}

static const char *type_of(const exposition *x, const char *family)
{
    for (int i = 0; i < x->ntypes; i++)
        if (strcmp(x->types[i][0], family) == 0) return x->types[i][1];
    return NULL;
}

static int has_help(const exposition *x, const char *family)
{
    for (int i = 0; i < x->nhelps; i++)
        if (strcmp(x->helps[i], family) == 0) return 1;
    return 0;
}

typedef struct want_metric {
    const char *suffix;   /* after "<prefix>_" */
    const char *outcome;  /* label value, or NULL */
    const char *type;     /* counter / gauge */
    double value;
} want_metric;

/* Checks one exposition against the expected values. */
static void check_exposition(const char *text, const char *prefix, bool openmetrics, const want_metric *want,
                             int nwant, const char *const *lnames, const char *const *lvalues, int nlabels)
{
    static exposition x;
    parse(text, &x);
    EXPECT_INT(x.malformed, 0);
    EXPECT_INT(x.eof_seen, openmetrics ? 1 : 0);
    if (openmetrics) CHECK(x.eof_last);
    for (int i = 0; i < nwant; i++) {
        char name[FIELD], family[FIELD];
        snprintf(name, sizeof name, "%s_%s", prefix, want[i].suffix);
        copy_field(family, name, strlen(name));
        size_t len = strlen(family);
        int is_counter = strcmp(want[i].type, "counter") == 0;
        /* OpenMetrics: a counter family is named without _total */
        if (is_counter && openmetrics && len > 6 && strcmp(family + len - 6, "_total") == 0) family[len - 6] = '\0';
        const sample *s = find(&x, name, want[i].outcome);
        if (!s) {
            dpt_fail_head(__FILE__, __LINE__);
            printf("sample %s{outcome=%s} missing or repeated in:\n%s\n", name,
                   want[i].outcome ? want[i].outcome : "-", text);
            continue;
        }
        dpt_passed++;
        EXPECT_NEAR(s->value, want[i].value, 1e-6);
        for (int l = 0; l < nlabels; l++) EXPECT_STR(label_of(s, lnames[l]), lvalues[l]);
        EXPECT_INT(s->nlabels, nlabels + (want[i].outcome ? 1 : 0));
        const char *t = type_of(&x, family);
        if (!t && is_counter && !openmetrics) {
            /* Prometheus 0.0.4 allows the TYPE line on the base name too */
            char base[FIELD];
            copy_field(base, family, len > 6 ? len - 6 : len);
            t = type_of(&x, base);
            if (t) copy_field(family, base, strlen(base));
        }
        if (!t) {
            dpt_fail_head(__FILE__, __LINE__);
            printf("no # TYPE line for %s\n", family);
            continue;
        }
        EXPECT_STR(t, want[i].type);
        CHECK(has_help(&x, family));
    }
    /* Nothing but our families: every sample starts with the prefix. */
    for (int i = 0; i < x.nsamples; i++) CHECK(strncmp(x.samples[i].name, prefix, strlen(prefix)) == 0);
}

static char *format_all(const drainprof *prof, const drainprof_ext_metrics_options *o, int64_t *len_out)
{
    int64_t len = drainprof_ext_format_metrics(prof, o, NULL, 0);
    *len_out = len;
    if (len < 0) return NULL;
    char *buf = malloc((size_t)len + 1);
    if (!buf) abort();
    memset(buf, '#', (size_t)len + 1);
    int64_t again = drainprof_ext_format_metrics(prof, o, buf, (size_t)len + 1);
    EXPECT_INT(again, len);
    EXPECT_UINT(strlen(buf), (uint64_t)len);
    return buf;
}

/* State: closes 2 drainable + 1 pinned, 1 open, peak 4, 4 allocs, 2 deallocs;
 * production adds an unbalanced close, diagnostic (max_buffered 0) a dropped report. */
static drainprof *build(const dpt_config *c)
{
    drainprof_config cfg = dpt_config_for(c);
    cfg.max_buffered_reports = 0;
    drainprof *prof = drainprof_create_with_config(&cfg);
    if (!prof) return NULL;
    for (uint64_t g = 1; g <= 4; g++) drainprof_granule_open(prof, g);
    drainprof_alloc_register(prof, 2, 1, 8);
    drainprof_alloc_register(prof, 4, 1, 8);
    drainprof_alloc_register(prof, 4, 2, 8);
    drainprof_alloc_register(prof, 99, 1, 8);
    drainprof_alloc_deregister(prof, 4, 2);
    drainprof_alloc_deregister(prof, 99, 1);
    drainprof_granule_close(prof, 1);
    drainprof_granule_close(prof, 2);
    drainprof_granule_close(prof, 3);
    if (c->mode == DRAINPROF_PRODUCTION) {
        drainprof_granule_open(prof, 5);
        drainprof_alloc_deregister(prof, 5, 1);
        drainprof_granule_close(prof, 5);
    }
    return prof;
}

static void expected(const dpt_config *c, want_metric *w)
{
    bool prod = c->mode == DRAINPROF_PRODUCTION;
    want_metric all[8] = {
        { "granule_closes_total", "drainable", "counter", 2 },
        { "granule_closes_total", "pinned", "counter", 1 },
        { "open_granules", NULL, "gauge", 1 },
        { "peak_open_granules", NULL, "gauge", 4 },
        { "allocations_total", NULL, "counter", 4 },
        { "deallocations_total", NULL, "counter", prod ? 3 : 2 },
        { "satisfaction_ratio", NULL, "gauge", 2.0 / 3.0 },
        { "unbalanced_closes_total", NULL, "counter", prod ? 1 : 0 },
    };
    memcpy(w, all, sizeof all);
    w[8] = (want_metric){ "dropped_reports_total", NULL, "counter", prod ? 0 : 1 };
}

static void test_default_and_openmetrics(void)
{
    FOR_EACH_CONFIG(c) {
        drainprof *prof = build(c);
        REQUIRE(prof != NULL);
        want_metric w[9];
        expected(c, w);
        int64_t len;

        dpt_set_ctx("metrics, default options", c->name);
        char *text = format_all(prof, NULL, &len);
        REQUIRE(text != NULL);
        check_exposition(text, "drainability", false, w, 9, NULL, NULL, 0);
        EXPECT_NOT_CONTAINS(text, "# EOF");
        CHECK(len > 0 && text[len - 1] == '\n');
        free(text);

        dpt_set_ctx("metrics, OpenMetrics", c->name);
        drainprof_ext_metrics_options o = { NULL, NULL, NULL, 0, true };
        text = format_all(prof, &o, &len);
        REQUIRE(text != NULL);
        check_exposition(text, "drainability", true, w, 9, NULL, NULL, 0);
        CHECK(len >= 6 && strcmp(text + len - 6, "# EOF\n") == 0);
        free(text);

        dpt_set_ctx("metrics, prefix and labels", c->name);
        static const char *const names[2] = { "service", "region" };
        static const char *const values[2] = { "api", "eu\"west\\1\nx" };
        for (int om = 0; om <= 1; om++) {
            drainprof_ext_metrics_options lo = { "my_app:drain", names, values, 2, om == 1 };
            text = format_all(prof, &lo, &len);
            REQUIRE(text != NULL);
            check_exposition(text, "my_app:drain", om == 1, w, 9, names, values, 2);
            EXPECT_CONTAINS(text, "region=\"eu\\\"west\\\\1\\nx\"");
            EXPECT_CONTAINS(text, "service=\"api\"");
            free(text);
        }
        drainprof_destroy(prof);
    }
}

static void test_fresh_profiler(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("metrics of a fresh profiler", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        want_metric w[9] = {
            { "granule_closes_total", "drainable", "counter", 0 },
            { "granule_closes_total", "pinned", "counter", 0 },
            { "open_granules", NULL, "gauge", 0 },
            { "peak_open_granules", NULL, "gauge", 0 },
            { "allocations_total", NULL, "counter", 0 },
            { "deallocations_total", NULL, "counter", 0 },
            { "satisfaction_ratio", NULL, "gauge", 0 },
            { "unbalanced_closes_total", NULL, "counter", 0 },
            { "dropped_reports_total", NULL, "counter", 0 },
        };
        int64_t len;
        char *text = format_all(prof, NULL, &len);
        REQUIRE(text != NULL);
        check_exposition(text, "drainability", false, w, 9, NULL, NULL, 0);
        free(text);
        drainprof_destroy(prof);
    }
}

static void test_invalid(void)
{
    dpt_set_ctx("metrics, invalid arguments", NULL);
    drainprof *prof = drainprof_create();
    REQUIRE(prof != NULL);
    char buf[256];
    static const char *const bad_prefixes[] = { "", "1abc", "a-b", "a b", "a.b", "caf\xc3\xa9", "a\"b" };
    for (size_t i = 0; i < sizeof bad_prefixes / sizeof bad_prefixes[0]; i++) {
        drainprof_ext_metrics_options o = { bad_prefixes[i], NULL, NULL, 0, false };
        memset(buf, 'z', sizeof buf);
        EXPECT_INT(drainprof_ext_format_metrics(prof, &o, buf, sizeof buf), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
    }
    static const char *const good_prefixes[] = { "a", "_x", ":y", "A_b:c9" };
    for (size_t i = 0; i < sizeof good_prefixes / sizeof good_prefixes[0]; i++) {
        drainprof_ext_metrics_options o = { good_prefixes[i], NULL, NULL, 0, false };
        CHECK(drainprof_ext_format_metrics(prof, &o, buf, sizeof buf) > 0);
    }
    static const char *const bad_labels[] = { "", "1a", "a-b", "a:b", "a b", "\xc3\xa9" };
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
        const char *names[2] = { "ok", bad_labels[i] };
        const char *values[2] = { "v", "v" };
        drainprof_ext_metrics_options o = { NULL, names, values, 2, false };
        EXPECT_INT(drainprof_ext_format_metrics(prof, &o, buf, sizeof buf), -1);
    }
    {
        const char *names[1] = { "ok" };
        const char *values[1] = { NULL };
        drainprof_ext_metrics_options o = { NULL, names, values, 1, false };
        EXPECT_INT(drainprof_ext_format_metrics(prof, &o, buf, sizeof buf), -1);
        const char *null_name[1] = { NULL };
        const char *v[1] = { "v" };
        drainprof_ext_metrics_options o2 = { NULL, null_name, v, 1, true };
        EXPECT_INT(drainprof_ext_format_metrics(prof, &o2, buf, sizeof buf), -1);
        drainprof_ext_metrics_options o3 = { NULL, NULL, NULL, 1, false };
        EXPECT_INT(drainprof_ext_format_metrics(prof, &o3, buf, sizeof buf), -1);
    }
    {
        /* Any UTF-8 and control characters are fine in label values. */
        const char *names[1] = { "path" };
        const char *values[1] = { "/caf\xc3\xa9\t\"q\"" };
        drainprof_ext_metrics_options o = { NULL, names, values, 1, false };
        CHECK(drainprof_ext_format_metrics(prof, &o, buf, sizeof buf) > 0);
    }
    drainprof_destroy(prof);
}

static void test_snprintf_semantics(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("metrics, snprintf semantics", c->name);
        drainprof *prof = build(c);
        REQUIRE(prof != NULL);
        int64_t len;
        char *full = format_all(prof, NULL, &len);
        REQUIRE(full != NULL && len > 20);
        char buf[64];
        /* size 0: nothing written */
        memset(buf, 'z', sizeof buf);
        EXPECT_INT(drainprof_ext_format_metrics(prof, NULL, buf, 0), len);
        EXPECT_INT(buf[0], 'z');
        /* size 1: just the NUL */
        memset(buf, 'z', sizeof buf);
        EXPECT_INT(drainprof_ext_format_metrics(prof, NULL, buf, 1), len);
        EXPECT_INT(buf[0], '\0');
        EXPECT_INT(buf[1], 'z');
        /* size 10: 9 bytes of the text and a NUL, nothing beyond */
        memset(buf, 'z', sizeof buf);
        EXPECT_INT(drainprof_ext_format_metrics(prof, NULL, buf, 10), len);
        CHECK(memcmp(buf, full, 9) == 0);
        EXPECT_INT(buf[9], '\0');
        EXPECT_INT(buf[10], 'z');
        /* exactly len bytes: truncated by one */
        char *exact = malloc((size_t)len + 2);
        REQUIRE(exact != NULL);
        memset(exact, 'z', (size_t)len + 2);
        EXPECT_INT(drainprof_ext_format_metrics(prof, NULL, exact, (size_t)len), len);
        CHECK(memcmp(exact, full, (size_t)len - 1) == 0);
        EXPECT_INT(exact[len - 1], '\0');
        EXPECT_INT(exact[len], 'z');
        /* len + 1: complete */
        memset(exact, 'z', (size_t)len + 2);
        EXPECT_INT(drainprof_ext_format_metrics(prof, NULL, exact, (size_t)len + 1), len);
        EXPECT_STR(exact, full);
        EXPECT_INT(exact[len + 1], 'z');
        free(exact);
        free(full);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_default_and_openmetrics();
    test_fresh_profiler();
    test_invalid();
    test_snprintf_semantics();
    return dpt_finish();
}
