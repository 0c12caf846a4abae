/* libFuzzer target for the JSON reader: any input either parses or fails with an offset inside it;
   what parses is written back with the writer, and that text parses again to the same shape. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../../webfw.h"

/* Write v with the writer. */
static void emit(wf_jw *w, const wf_jval *v) {
    wf_str s;
    double f;
    long long i;
    bool b;
    switch (wf_json_typeof(v)) {
    case WF_JSON_OBJECT:
        wf_jw_obj(w);
        for (const wf_jval *m = wf_json_first(v); m; m = wf_json_next(m)) {
            wf_str k = wf_json_key(m);
            char *key = (char *)malloc(k.len + 1);
            memcpy(key, k.ptr, k.len);
            key[k.len] = 0;
            if (memchr(k.ptr, 0, k.len)) w->err = WF_EINVAL;     /* keys with NUL cannot be C strings */
            else wf_jw_key(w, key);
            free(key);
            emit(w, m);
        }
        wf_jw_end(w);
        break;
    case WF_JSON_ARRAY:
        wf_jw_arr(w);
        for (const wf_jval *m = wf_json_first(v); m; m = wf_json_next(m)) emit(w, m);
        wf_jw_end(w);
        break;
    case WF_JSON_STRING: wf_json_str(v, &s), wf_jw_strn(w, s.ptr, s.len); break;
    case WF_JSON_NUMBER:
        if (wf_json_int(v, &i)) wf_jw_int(w, i);
        else wf_json_num(v, &f), wf_jw_num(w, f);
        break;
    case WF_JSON_BOOL: wf_json_bool(v, &b), wf_jw_bool(w, b); break;
    case WF_JSON_NULL: wf_jw_null(w); break;
    default: __builtin_trap();
    }
}

/* Same shape: types, counts and scalar values. */
static void same(const wf_jval *a, const wf_jval *b) {
    if (wf_json_typeof(a) != wf_json_typeof(b) || wf_json_len(a) != wf_json_len(b)) __builtin_trap();
    wf_str x, y;
    double f, g;
    if (wf_json_str(a, &x) && (!wf_json_str(b, &y) || x.len != y.len || memcmp(x.ptr, y.ptr, x.len)))
        __builtin_trap();
    if (wf_json_num(a, &f) && (!wf_json_num(b, &g) || f != g)) __builtin_trap();
    for (const wf_jval *m = wf_json_first(a), *n = wf_json_first(b); m || n;
         m = wf_json_next(m), n = wf_json_next(n)) {
        if (!m || !n) __builtin_trap();
        same(m, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wf_json_doc d, d2;
    int rc = wf_json_parse((const char *)data, size, 64, &d);
    if (rc < 0) {
        if (!d.err || d.err_offset > size || d.root) __builtin_trap();
        return 0;
    }
    wf_buf out = {0};
    wf_jw w = {.out = &out};
    emit(&w, d.root);
    if (w.err == 0) {
        if (!wf_utf8_valid(out.ptr, out.len)) __builtin_trap();
        if (wf_json_parse(out.ptr, out.len, 64, &d2) != 0) __builtin_trap();
        same(d.root, d2.root);
        wf_json_free(&d2);
    }
    wf_buf_free(&out);
    wf_json_free(&d);
    return 0;
}

#include "replay.h"
