/* libFuzzer target for the security decoders: base64 and base64url (strict), JWTs, and stored
   password-hash strings. The first byte picks the decoder; the rest is the input. Every input must
   give an error or a value that survives a round trip, never a crash. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../../webfw.h"

static void base64(const char *s, size_t n, bool url) {
    uint8_t *out = (uint8_t *)malloc(n + 1);
    char *again = (char *)malloc(n + 8);
    int len = wf_base64_decode(out, s, n, url);
    if (len >= 0) {                 /* strict decoding is canonical: encoding gives the input back */
        if ((size_t)len > n * 3 / 4) __builtin_trap();
        size_t m = wf_base64_encode(again, out, (size_t)len, url);
        if (m != n || memcmp(again, s, n) != 0) __builtin_trap();
    } else if (len != WF_EPARSE) {
        __builtin_trap();
    }
    free(out), free(again);
}

static void jwt(const char *s, size_t n) {
    wf_json_doc c;
    const char *need[] = {"sub", NULL};
    wf_jwt_opts o = {
        .leeway = 5, .required = n % 2 ? need : NULL, .audience = n % 3 ? NULL : "api", .now = 1700000000};
    int rc = wf_jwt_decode(s, n, "key", 3, &o, &c);
    if (rc == 0) {
        if (wf_json_typeof(c.root) != WF_JSON_OBJECT) __builtin_trap();
        wf_json_free(&c);
    } else if (rc > 0 || !wf_strerror(rc)) {
        __builtin_trap();
    }
    /* a token we sign over the input as claims verifies when it is an object */
    wf_buf tok = {0};
    char *claims = (char *)malloc(n + 1);
    memcpy(claims, s, n), claims[n] = 0;
    if (wf_jwt_encode(&tok, claims, "key", 3) == 0) {
        wf_jwt_opts none = {.now = 1700000000, .leeway = 1LL << 40};
        rc = wf_jwt_decode(tok.ptr, tok.len, "key", 3, &none, &c);
        if (rc == 0) wf_json_free(&c);
        else if (rc == WF_ESIGNATURE || rc == WF_EALG) __builtin_trap();
    }
    free(claims), wf_buf_free(&tok);
}

static void hash_string(const char *s, size_t n) {
    char *h = (char *)malloc(n + 1);
    memcpy(h, s, n), h[n] = 0;
    wf_password_needs_rehash(h, NULL);
    wf_pw_opts bc = {.scheme = WF_PW_BCRYPT};
    wf_password_needs_rehash(h, &bc);
    /* verify only cheap hashes: the cost is the stored hash's to choose */
    unsigned cost = 99, rounds = 0;
    bool cheap = (sscanf(h, "$2%*[aby]$%2u$", &cost) == 1 && cost <= 5) ||
                 (sscanf(h, "$pbkdf2-sha256$%u$", &rounds) == 1 && rounds <= 1000) ||
                 (sscanf(h, "pbkdf2_sha256$%u$", &rounds) == 1 && rounds <= 1000);
    if (cheap) {
        int rc = wf_password_verify(h, "password", 8);
        if (rc != 0 && rc != 1 && rc != WF_EINVAL) __builtin_trap();
    }
    free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: base64(s, n, false); break;
    case 1: base64(s, n, true); break;
    case 2: jwt(s, n); break;
    default: hash_string(s, n); break;
    }
    return 0;
}

#include "replay.h"
