#include "vectors.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

int vectors_load(vcase *v, int max) {
    FILE *f = fopen("tests/vectors/llhttp-requests.txt", "r");
    static char line[70000], hex[65536];
    int n = 0;
    if (!f) return -1;
    while (n < max && fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (sscanf(line, "%95[^\t]\t%31[^\t]\t%d\t%d\t%65535s", v[n].id, v[n].outcome, &v[n].strict,
                   &v[n].messages, hex) != 5)
            continue;
        size_t hl = strlen(hex);
        v[n].raw = malloc(hl / 2 + 1);
        for (size_t i = 0; i < hl / 2; i++)
            v[n].raw[i] = (char)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
        v[n].n = hl / 2;
        n++;
    }
    fclose(f);
    return n;
}

void vectors_free(vcase *v, int n) {
    for (int i = 0; i < n; i++) free(v[i].raw);
}

const char *vectors_deviation(const vcase *v) {
    static const struct { const char *id, *why;
    } devs[] = {
        {"invalid.md:68", "accept: ANNOUNCE is a valid token method (RFC 9110 9.1); the router answers it"},
        {"invalid.md:358", "accept: MKCOLA is a valid token method (RFC 9110 9.1); the router answers it"},
        {"sample.md:316", "reject: HTTP/0.9 requests are not served"},
        {"method.md:374", "reject: ICE/1.0 is not HTTP"},
        {"method.md:404", "reject: RTSP/1.0 is not HTTP"},
        {"method.md:432", "reject: RTSP/1.0 is not HTTP"},
        {"transfer-encoding.md:753", "reject: a transfer coding other than chunked is 501"},
        {"transfer-encoding.md:795", "reject: a transfer coding other than chunked is 501"},
        {"method.md:137", "reject: asterisk-form is only for OPTIONS (RFC 9112 3.2.4)"},
        {"uri.md:224", "reject: userinfo in the request-target is an error (RFC 9110 4.2.4)"},
        {"connection.md:36",
         "first: the second request has no Host (the vector adds one to the first only): 400"},
        {"pipelining.md:6",
         "first: the second request has no Host (the vector adds one to the first only): 400"},
    };
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
        if (strcmp(v->id, devs[i].id) == 0) return devs[i].why;
    return NULL;
}
