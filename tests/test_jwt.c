/* HS256 JWT: RFC 7515 appendix A.1, the attacks of the security issue, and PyJWT both ways. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const secret = "your-secret-key";

static int decode(const char *tok, const wf_jwt_opts *o) {
    wf_json_doc c;
    int rc = wf_jwt_decode(tok, strlen(tok), secret, strlen(secret), o, &c);
    if (rc == 0) wf_json_free(&c);
    return rc;
}

/* A token over arbitrary header and payload texts, signed with secret (or not signed). */
static char *forge(const char *header, const char *payload, bool sign) {
    static char tok[4096];
    size_t n = wf_base64_encode(tok, header, strlen(header), true);
    tok[n++] = '.';
    n += wf_base64_encode(tok + n, payload, strlen(payload), true);
    uint8_t mac[32];
    wf_hmac_sha256(secret, strlen(secret), tok, n, mac);
    tok[n++] = '.';
    if (sign) n += wf_base64_encode(tok + n, mac, 32, true);
    tok[n] = 0;
    return tok;
}

WF_TEST(jwt_rfc7515_a1) {
    const char *k64 = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAo"
                      "w";
    const char *tok = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAs"
                      "DQogImh0dHA6Ly9leGFt"
                      "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    uint8_t key[64];
    WF_ASSERT_EQ_INT(wf_base64_decode(key, k64, strlen(k64), true), 64);
    wf_json_doc c;
    wf_jwt_opts o = {.now = 1300819379};
    WF_ASSERT_EQ_INT(wf_jwt_decode(tok, strlen(tok), key, 64, &o, &c), 0);
    wf_str iss;
    bool root = false;
    WF_EXPECT_TRUE(wf_json_str(wf_json_get(c.root, "iss"), &iss) && wf_str_eq(iss, "joe"));
    WF_EXPECT_TRUE(wf_json_bool(wf_json_get(c.root, "http://example.com/is_root"), &root) && root);
    wf_json_free(&c);
    o.now = 1300819380;                                   /* at exp: expired, as PyJWT says */
    WF_EXPECT_EQ_INT(wf_jwt_decode(tok, strlen(tok), key, 64, &o, &c), WF_EEXPIRED);
    o.leeway = 10;
    WF_EXPECT_EQ_INT(wf_jwt_decode(tok, strlen(tok), key, 64, &o, &c), 0);
    wf_json_free(&c);
}

WF_TEST(jwt_encode_and_attacks) {
    wf_buf b = {0};
    char claims[128];
    long long now = (long long)time(NULL);
    snprintf(claims, sizeof claims, "{\"sub\":\"alice\",\"exp\":%lld,\"iat\":%lld}", now + 1800, now);
    WF_ASSERT_EQ_INT(wf_jwt_encode(&b, claims, secret, strlen(secret)), 0);
    wf_buf_append(&b, "", 1);
    WF_EXPECT_EQ_INT(decode(b.ptr, NULL), 0);
    /* {"alg":"HS256","typ":"JWT"} */
    WF_EXPECT_EQ_MEM(b.ptr, 36, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", 36);
    WF_EXPECT_EQ_INT(wf_jwt_encode(&b, "[1]", secret, 6), WF_EINVAL);
    WF_EXPECT_EQ_INT(wf_jwt_encode(&b, "{bad", secret, 6), WF_EINVAL);
    /* tampering with the payload, the key, the signature */
    char *t = strdup(b.ptr), *dot = strchr(t, '.');
    dot[3] ^= 1;
    WF_EXPECT_TRUE(decode(t, NULL) == WF_ESIGNATURE || decode(t, NULL) == WF_ETOKEN);
    free(t);
    wf_json_doc c;
    WF_EXPECT_EQ_INT(wf_jwt_decode(b.ptr, b.len - 1, "other", 5, NULL, &c), WF_ESIGNATURE);
    t = strdup(b.ptr);
    t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
    WF_EXPECT_EQ_INT(decode(t, NULL), WF_ESIGNATURE);
    free(t);
    char exp_claims[96];
    snprintf(exp_claims, sizeof exp_claims, "{\"sub\":\"a\",\"exp\":%lld}", now - 10);
    const struct { const char *hdr, *payload; bool sign; int want; } cases[] = {
        {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"sub\":\"a\"}", false, WF_EALG},
        {"{\"alg\":\"None\"}", "{\"sub\":\"a\"}", false, WF_EALG},
        {"{\"alg\":\"NONE\"}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"alg\":\"nOnE\"}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"alg\":\"HS512\"}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"alg\":\"RS256\"}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"alg\":\"hs256\"}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"typ\":\"JWT\"}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"alg\":[\"HS256\"]}", "{\"sub\":\"a\"}", true, WF_EALG},
        {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"sub\":\"a\"}", true, WF_ETOKEN},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":\"1\"}", true, WF_ETOKEN},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":1.5e12}", true, WF_ETOKEN},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"nbf\":99999999999}", true, WF_ENOTYET},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"iat\":99999999999}", true, WF_ENOTYET},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"aud\":\"x\"}", true, WF_EAUDIENCE},
        {"{\"alg\":\"HS256\"}", "[1,2]", true, WF_ETOKEN},
        {"{\"alg\":\"HS256\"}", "not json", true, WF_ETOKEN},
        {"not json", "{\"sub\":\"a\"}", true, WF_ETOKEN},
        {"{\"alg\":\"HS256\"}", exp_claims, true, WF_EEXPIRED},
        {"{\"alg\":\"HS256\",\"kid\":5}", "{\"sub\":\"a\"}", true, WF_ETOKEN},
        /* empty aud: none, as PyJWT */
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"aud\":[]}", true, 0},
        {"{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"aud\":\"\"}", true, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = decode(forge(cases[i].hdr, cases[i].payload, cases[i].sign), NULL);
        if (rc != cases[i].want) wf_test_log("case %zu (%s / %s): %d, want %d", i, cases[i].hdr,
                                             cases[i].payload, rc, cases[i].want);
        WF_EXPECT_EQ_INT(rc, cases[i].want);
    }
    /* structure: segments, base64, size */
    static const char *const junk[] = {"", "a", "a.b", "a.b.c.d", "..", "e30.e30.", "e30=.e30.x",
                                       "!!!.e30.e30",
                                       "eyJhbGciOiJIUzI1NiJ9..", "eyJhbGciOiJIUzI1NiJ9.e30"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int rc = decode(junk[i], NULL);
        WF_EXPECT_TRUE(rc == WF_ETOKEN || rc == WF_ESIGNATURE || rc == WF_EALG);
        WF_EXPECT_NE_INT(rc, 0);
    }
    static char huge[20000];
    memset(huge, 'e', sizeof huge - 1);
    WF_EXPECT_EQ_INT(decode(huge, NULL), WF_ETOKEN);
    /* required claims, audience and issuer */
    const char *need[] = {"sub", "role", NULL};
    wf_jwt_opts o = {.required = need};
    WF_EXPECT_EQ_INT(decode(b.ptr, &o), WF_EMISSING);
    char *aud = forge("{\"alg\":\"HS256\"}", "{\"aud\":[\"a\",\"api\"],\"iss\":\"me\"}", true);
    wf_jwt_opts ao = {.audience = "api", .issuer = "me"};
    WF_EXPECT_EQ_INT(decode(aud, &ao), 0);
    ao.issuer = "you";
    WF_EXPECT_EQ_INT(decode(aud, &ao), WF_EISSUER);
    ao.issuer = NULL, ao.audience = "web";
    WF_EXPECT_EQ_INT(decode(aud, &ao), WF_EAUDIENCE);
    ao.audience = "a";
    WF_EXPECT_EQ_INT(decode(forge("{\"alg\":\"HS256\"}", "{\"aud\":[\"a\",5]}", true), &ao), WF_EAUDIENCE);
    const char *sub[] = {"sub", NULL};
    wf_jwt_opts so = {.required = sub};
    WF_EXPECT_EQ_INT(decode(forge("{\"alg\":\"HS256\"}", "{\"sub\":null}", true), &so), WF_EMISSING);
    wf_buf_free(&b);
}


WF_TEST(jwt_interop_with_pyjwt) {
    char out[2048], script[1536];
    if (system("/usr/bin/python3 -c 'import jwt' 2>/dev/null") != 0) WF_SKIP("python3-jwt is not installed");
    /* PyJWT signs, we verify */
    long long now = (long long)time(NULL);
    snprintf(script, sizeof script,
             "import jwt; print(jwt.encode({\"sub\": \"testuser\", \"exp\": %lld}, \"%s\", "
             "algorithm=\"HS256\"))", now + 1800,
             secret);
    WF_ASSERT_TRUE(tu_python(script, out, sizeof out));
    wf_json_doc c;
    WF_ASSERT_EQ_INT(wf_jwt_decode(out, strlen(out), secret, strlen(secret), NULL, &c), 0);
    wf_str sub;
    WF_EXPECT_TRUE(wf_json_str(wf_json_get(c.root, "sub"), &sub) && wf_str_eq(sub, "testuser"));
    wf_json_free(&c);
    /* we sign, PyJWT verifies */
    wf_buf b = {0};
    char claims[128];
    snprintf(claims, sizeof claims, "{\"sub\":\"admin\",\"exp\":%lld,\"n\":1.5}", now + 1800);
    WF_ASSERT_EQ_INT(wf_jwt_encode(&b, claims, secret, strlen(secret)), 0);
    snprintf(script, sizeof script,
             "import jwt; print(jwt.decode(\"%.*s\", \"%s\", algorithms=[\"HS256\"])[\"sub\"])",
             (int)b.len, b.ptr, secret);
    WF_ASSERT_TRUE(tu_python(script, out, sizeof out));
    WF_EXPECT_EQ_STR(out, "admin");
    /* and PyJWT refuses what we refuse: a wrong key */
    snprintf(script, sizeof script,
             "import jwt\ntry:\n jwt.decode(\"%.*s\", \"wrong\", algorithms=[\"HS256\"]); "
             "print(\"accepted\")\n"
             "except jwt.InvalidSignatureError: print(\"bad-signature\")", (int)b.len, b.ptr);
    WF_ASSERT_TRUE(tu_python(script, out, sizeof out));
    WF_EXPECT_EQ_STR(out, "bad-signature");
    wf_buf_free(&b);
}

/* wf_json_pack's buffer goes straight to wf_jwt_encode, which takes a C string: the buffer keeps a
   NUL after its bytes whatever their length, so no length lands the claims exactly at the end of
   the allocation (ASan: a heap-buffer-overflow before). */
WF_TEST(jwt_encode_takes_a_packed_buffer_as_is) {
    static const char key[] = "secret";
    char name[1200];
    for (size_t n = 0; n < sizeof name - 1; n++) {
        memset(name, 'a', n);
        name[n] = 0;
        wf_buf claims = {0}, tok = {0};
        WF_ASSERT_EQ_INT(wf_json_pack(&claims, "{s:s, s:I}", "sub", name, "exp", 4102444800LL), 0);
        WF_ASSERT_EQ_INT(claims.ptr[claims.len], 0);
        WF_ASSERT_EQ_INT(wf_jwt_encode(&tok, claims.ptr, key, 6), 0);
        WF_ASSERT_EQ_INT(tok.ptr[tok.len], 0);
        wf_json_doc d;
        wf_jwt_opts o = {.now = 1};
        WF_ASSERT_EQ_INT(wf_jwt_decode(tok.ptr, tok.len, key, 6, &o, &d), 0);
        wf_str sub;
        WF_ASSERT_TRUE(wf_json_str(wf_json_get(d.root, "sub"), &sub));
        WF_ASSERT_EQ_MEM(sub.ptr, sub.len, name, n);
        wf_json_free(&d);
        wf_buf_free(&claims);
        wf_buf_free(&tok);
    }
}
