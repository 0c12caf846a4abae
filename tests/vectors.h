/* llhttp's request cases (tests/vectors/llhttp-requests.txt) and where a strict server differs. */
#ifndef TESTS_VECTORS_H
#define TESTS_VECTORS_H
#include <stddef.h>

typedef struct vcase {
    char id[96], outcome[32];
    int strict, messages;
    char *raw;
    size_t n;
} vcase;

/* Load up to max cases; returns how many (-1 if the file is missing). Free with vectors_free. */
int vectors_load(vcase *v, int max);
void vectors_free(vcase *v, int n);
/* Why a strict RFC 9110/9112 server rightly differs from llhttp on this case ("accept: ...",
   "reject: ...", "first: ..."), or NULL. */
const char *vectors_deviation(const vcase *v);
#endif
