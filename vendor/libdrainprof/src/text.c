/* text.c - stderr lines, metrics exposition, human-readable report. */
#include "internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dp_text_close_lines(const drainprof *p, uint64_t gid, bool pinned, uint64_t live,
                         bool log_line, uint64_t drainable, uint64_t pinned_total)
{
    /* Byte-exact: existing tooling greps these lines. One fputs so lines of
     * concurrent closes never interleave. */
    char buf[256];
    int n = 0;
    if (pinned && p->cfg.verbose)
        n += snprintf(buf, sizeof buf, "drainprof: Granule %" PRIu64 " pinned by %" PRIu64
                      " allocations\n", gid, live);
    if (log_line) {
        uint64_t total = drainable + pinned_total;
        double dsr = total == 0 ? 0.0 : (double)drainable / (double)total;
        snprintf(buf + n, sizeof buf - (size_t)n,
                 "drainprof: DSR=%.1f%% (%" PRIu64 " pinned / %" PRIu64 " total)\n",
                 dsr * 100.0, pinned_total, total);
    }
    fputs(buf, stderr);
}

/* snprintf-style builder: counts the whole length, writes what fits. */
typedef struct sbuf {
    char *buf;
    size_t size;
    size_t len;
} sbuf;

__attribute__((format(printf, 2, 3)))
static void sb_printf(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = s->len < s->size ? s->buf + s->len : NULL;
    size_t room = s->len < s->size ? s->size - s->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        s->len += (size_t)n;
}

static void sb_putc(sbuf *s, char c)
{
    if (s->len + 1u < s->size) {
        s->buf[s->len] = c;
        s->buf[s->len + 1u] = '\0';
    } else if (s->len < s->size) {
        s->buf[s->len] = '\0';
    }
    s->len++;
}

static void sb_puts(sbuf *s, const char *str)
{
    for (; *str; str++)
        sb_putc(s, *str);
}

static int64_t sb_finish(sbuf *s)
{
    if (s->size > 0)
        s->buf[s->len < s->size ? s->len : s->size - 1u] = '\0';
    return (int64_t)s->len;
}

/* Shortest text that reads back as the same double. */
static void fmt_double(char *out, size_t n, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static bool valid_metric_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *c = s; *c; c++) {
        bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                     *c == ':';
        bool digit = *c >= '0' && *c <= '9';
        if (!alpha && !(digit && c != s))
            return false;
    }
    return true;
}

static bool valid_label_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    if (s[0] == '_' && s[1] == '_')  /* reserved for Prometheus itself */
        return false;
    for (const char *c = s; *c; c++) {
        bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
        bool digit = *c >= '0' && *c <= '9';
        if (!alpha && !(digit && c != s))
            return false;
    }
    return true;
}

typedef struct metric_ctx {
    sbuf *s;
    const char *prefix;
    const drainprof_ext_metrics_options *o;
} metric_ctx;

static void put_labels(metric_ctx *m, const char *outcome)
{
    size_t n = m->o->label_count;
    if (n == 0 && outcome == NULL)
        return;
    sb_putc(m->s, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sb_putc(m->s, ',');
        sb_puts(m->s, m->o->label_names[i]);
        sb_puts(m->s, "=\"");
        for (const char *c = m->o->label_values[i]; *c; c++) {
            if (*c == '\\')
                sb_puts(m->s, "\\\\");
            else if (*c == '"')
                sb_puts(m->s, "\\\"");
            else if (*c == '\n')
                sb_puts(m->s, "\\n");
            else
                sb_putc(m->s, *c);
        }
        sb_putc(m->s, '"');
    }
    if (outcome != NULL)
        sb_printf(m->s, "%soutcome=\"%s\"", n > 0 ? "," : "", outcome);
    sb_putc(m->s, '}');
}

/* Family metadata. OpenMetrics names the family without _total and the
 * samples with it; Prometheus 0.0.4 names the sample in TYPE and HELP. */
static void family(metric_ctx *m, const char *name, bool counter, const char *help)
{
    const char *type = counter ? "counter" : "gauge";
    const char *suffix = counter && !m->o->openmetrics ? "_total" : "";
    sb_printf(m->s, "# TYPE %s_%s%s %s\n", m->prefix, name, suffix, type);
    sb_printf(m->s, "# HELP %s_%s%s %s\n", m->prefix, name, suffix, help);
}

static void sample_u64(metric_ctx *m, const char *name, bool counter, const char *outcome,
                       uint64_t v)
{
    sb_printf(m->s, "%s_%s%s", m->prefix, name, counter ? "_total" : "");
    put_labels(m, outcome);
    sb_printf(m->s, " %" PRIu64 "\n", v);
}

DP_EXPORT int64_t drainprof_ext_format_metrics(const drainprof *prof,
                                               const drainprof_ext_metrics_options *options,
                                               char *buf, size_t size)
{
    if (prof == NULL || (buf == NULL && size > 0))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    drainprof_ext_metrics_options defaults = {0};
    const drainprof_ext_metrics_options *o = options != NULL ? options : &defaults;
    const char *prefix = o->prefix != NULL ? o->prefix : "drainability";
    if (!valid_metric_name(prefix))
        return dp_fail(DRAINPROF_EXT_ERR_INVALID);
    if (o->label_count > 0 && (o->label_names == NULL || o->label_values == NULL))
        return dp_fail(DRAINPROF_EXT_ERR_INVALID);
    for (size_t i = 0; i < o->label_count; i++) {
        if (!valid_label_name(o->label_names[i]) || o->label_values[i] == NULL ||
            strcmp(o->label_names[i], "outcome") == 0)
            return dp_fail(DRAINPROF_EXT_ERR_INVALID);
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->label_names[i], o->label_names[j]) == 0)
                return dp_fail(DRAINPROF_EXT_ERR_INVALID);
    }
    drainprof_ext_snapshot_t snap;
    dp_snapshot_fill(prof, &snap);
    const drainprof_snapshot_t *b = &snap.base;

    sbuf s = {buf, size, 0};
    if (size > 0)
        buf[0] = '\0';
    metric_ctx m = {&s, prefix, o};
    family(&m, "granule_closes", true, "Granule closes by outcome (drainable or pinned).");
    sample_u64(&m, "granule_closes", true, "drainable", b->drainable_closes);
    sample_u64(&m, "granule_closes", true, "pinned", b->pinned_closes);
    family(&m, "open_granules", false, "Granules open now.");
    sample_u64(&m, "open_granules", false, NULL, b->open_granules);
    family(&m, "peak_open_granules", false, "Most granules open at once.");
    sample_u64(&m, "peak_open_granules", false, NULL, b->peak_open_granules);
    family(&m, "allocations", true, "Allocation registrations, failed ones included.");
    sample_u64(&m, "allocations", true, NULL, b->total_allocs);
    family(&m, "deallocations", true, "Allocation deregistrations, failed ones included.");
    sample_u64(&m, "deallocations", true, NULL, b->total_deallocs);
    family(&m, "satisfaction_ratio", false,
           "Drainability satisfaction rate: drainable closes / total closes, 0 before any close.");
    char ratio[40];
    fmt_double(ratio, sizeof ratio, b->dsr);
    sb_printf(&s, "%s_satisfaction_ratio", prefix);
    put_labels(&m, NULL);
    sb_printf(&s, " %s\n", ratio);
    family(&m, "unbalanced_closes", true,
           "Closes refused because more deregisters than registers reached the granule.");
    sample_u64(&m, "unbalanced_closes", true, NULL, snap.unbalanced_closes);
    family(&m, "dropped_reports", true, "Pinning reports dropped because the buffer was full.");
    sample_u64(&m, "dropped_reports", true, NULL, snap.dropped_reports);
    if (o->openmetrics)
        sb_puts(&s, "# EOF\n");
    return sb_finish(&s);
}

static void put_site(sbuf *s, const drainprof_alloc_site *site)
{
    sb_printf(s, "%s:%" PRIu32, site->file != NULL ? site->file : "<unknown>", site->line);
    if (site->column != 0)
        sb_printf(s, ":%" PRIu32, site->column);
}

DP_EXPORT int64_t drainprof_ext_format_report(drainprof *prof, uint32_t max_sites, char *buf,
                                              size_t size)
{
    if (prof == NULL || (buf == NULL && size > 0))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    drainprof_ext_summary *sum = NULL;
    if (prof->mode == DRAINPROF_DIAGNOSTIC) {
        sum = drainprof_ext_summary_compute(prof);
        if (sum == NULL)
            return -1;  /* last error set by the summary */
    }
    drainprof_ext_snapshot_t snap;
    dp_snapshot_fill(prof, &snap);
    const drainprof_snapshot_t *b = &snap.base;
    sbuf s = {buf, size, 0};
    if (size > 0)
        buf[0] = '\0';
    sb_printf(&s, "drainprof report (%s mode)\n",
              prof->mode == DRAINPROF_DIAGNOSTIC ? "diagnostic" : "production");
    sb_printf(&s, "DSR: %.1f%% (%" PRIu64 " drainable / %" PRIu64 " closes, %" PRIu64
              " pinned)\n", b->dsr * 100.0, b->drainable_closes, b->total_closes,
              b->pinned_closes);
    sb_printf(&s, "open granules: %" PRIu64 " (peak %" PRIu64 ")\n", b->open_granules,
              b->peak_open_granules);
    sb_printf(&s, "allocations: %" PRIu64 " registered, %" PRIu64 " deregistered\n",
              b->total_allocs, b->total_deallocs);
    sb_printf(&s, "failed calls: %" PRIu64 " opens, %" PRIu64 " closes (%" PRIu64
              " unbalanced), %" PRIu64 " registers, %" PRIu64 " deregisters\n",
              snap.failed_opens, snap.failed_closes, snap.unbalanced_closes,
              snap.failed_registers, snap.failed_deregisters);
    if (sum != NULL) {
        sb_printf(&s, "reports: %" PRIu32 " buffered, %" PRIu64 " dropped\n",
                  sum->reports_analyzed, snap.dropped_reports);
        sb_printf(&s, "lifetime deltas: %" PRIu64 " recorded, %" PRIu64 " dropped\n",
                  snap.lifetime_records, snap.dropped_lifetime_records);
        uint32_t n = sum->site_count;
        if (max_sites != 0 && max_sites < n)
            n = max_sites;
        if (sum->site_count == 0) {
            sb_puts(&s, "pinning sites: none\n");
        } else {
            sb_printf(&s, "top pinning sites (%" PRIu32 " of %" PRIu32 "):\n", n,
                      sum->site_count);
        }
        for (uint32_t i = 0; i < n; i++) {
            const drainprof_ext_site_entry *e = &sum->sites[i];
            sb_printf(&s, "  %" PRIu32 ". ", i + 1u);
            put_site(&s, &e->base.site);
            sb_printf(&s, "  reports %" PRIu32 ", allocations %" PRIu32 ", bytes %zu, class %s"
                      " (near_miss %" PRIu32 ", moderate %" PRIu32 ", fundamental_mismatch %"
                      PRIu32 ", unresolved %" PRIu32 ")\n",
                      e->base.pinning_count, e->base.total_allocs, e->base.total_bytes,
                      drainprof_ext_class_name(e->dominant_class),
                      e->class_counts[DRAINPROF_EXT_CLASS_NEAR_MISS],
                      e->class_counts[DRAINPROF_EXT_CLASS_MODERATE],
                      e->class_counts[DRAINPROF_EXT_CLASS_FUNDAMENTAL],
                      e->class_counts[DRAINPROF_EXT_CLASS_UNRESOLVED]);
        }
        drainprof_ext_summary_free(sum);
    }
    return sb_finish(&s);
}
