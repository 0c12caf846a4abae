/* Crypto primitives against published vectors (FIPS 180 examples, NIST CAVP, RFC 4231, RFC 4648) and against
   OpenSSL, an independent implementation, on random inputs split at random points. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex(const uint8_t *p, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

static const char *const msgs[] = {
    "", "abc", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrs"
     "tnopqrstu"),
};
static const char *const sha256_want[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
};
static const char *const sha1_want[] = {
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "a9993e364706816aba3e25717850c26c9cd0d89d",
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    "a49b2446a02c645bf419f995b67091253a04a259",
};

WF_TEST(sha_fips_examples_and_million_a) {
    uint8_t d[32];
    char h[65];
    for (int i = 0; i < 4; i++) {
        wf_sha256(msgs[i], strlen(msgs[i]), d), hex(d, 32, h);
        WF_EXPECT_EQ_STR(h, sha256_want[i]);
        wf_sha1(msgs[i], strlen(msgs[i]), d), hex(d, 20, h);
        WF_EXPECT_EQ_STR(h, sha1_want[i]);
    }
    static char a[1000000];
    memset(a, 'a', sizeof a);
    wf_sha256_ctx c;
    wf_sha256_init(&c);
    for (size_t i = 0; i < sizeof a; i += 999) wf_sha256_update(&c, a + i,
                                                                i + 999 <= sizeof a ? 999 : sizeof a - i);
    wf_sha256_final(&c, d), hex(d, 32, h);
    WF_EXPECT_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    wf_sha1(a, sizeof a, d), hex(d, 20, h);
    WF_EXPECT_EQ_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

/* NIST CAVP byte-oriented vectors (SHAVS): the ShortMsg and LongMsg files as Debian's
   python3-cryptography-vectors ships them (tests/deps.sh installs it). */
#define CAVP_DIR "/usr/lib/python3/dist-packages/cryptography_vectors/hashes/"

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    for (; s[0] && s[1] && s[0] != '\n' && s[0] != '\r' && n < cap; s += 2) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Digest msg with the one-shot function, byte by byte, and in random pieces; every way must agree. */
static void cavp_digest(bool sha1, const uint8_t *msg, size_t n, unsigned seed, char *h, bool *agree) {
    uint8_t one[32], d[32];
    size_t dl = sha1 ? 20 : 32;
    if (sha1) wf_sha1(msg, n, one);
    else wf_sha256(msg, n, one);
    *agree = true;
    for (int way = 0; way < 2; way++) {
        wf_sha1_ctx c1;
        wf_sha256_ctx c2;
        if (sha1) wf_sha1_init(&c1);
        else wf_sha256_init(&c2);
        for (size_t i = 0, k; i < n; i += k) {
            k = way == 0 ? 1 : (size_t)(rand_r(&seed) % 200);
            if (k > n - i) k = n - i;
            if (sha1) wf_sha1_update(&c1, msg + i, k);
            else wf_sha256_update(&c2, msg + i, k);
        }
        if (sha1) wf_sha1_final(&c1, d);
        else wf_sha256_final(&c2, d);
        if (memcmp(d, one, dl) != 0) *agree = false;
    }
    hex(one, dl, h);
}

/* Check every vector of one .rsp file; returns how many it checked, or -1 if it cannot be read. A
   failure names the caller's line, the file and the vector. */
static int cavp_file_at(tu_at at, const char *name, bool sha1) {
    char path[256], line[65536], want[80] = "", h[65];
    static uint8_t msg[32768];
    snprintf(path, sizeof path, CAVP_DIR "%s", name);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long bits = -1;
    size_t n = 0;
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Len = %ld", &bits) == 1) continue;
        if (strncmp(line, "Msg = ", 6) == 0) n = unhex(line + 6, msg, sizeof msg);
        if (sscanf(line, "MD = %79s", want) != 1 || bits < 0) continue;
        bool agree, ok = TU_EXPECT_EQ_INT_AT(at, (long)n * 8, bits == 0 ? 8 : bits);
        cavp_digest(sha1, msg, (size_t)bits / 8, (unsigned)checked, h, &agree);
        ok = TU_EXPECT_EQ_STR_AT(at, h, want) && ok;
        ok = TU_EXPECT_TRUE_AT(at, agree) && ok;
        if (!ok) wf_test_log("  in %s: Len = %ld", name, bits);
        checked++;
        bits = -1;
    }
    fclose(f);
    return checked;
}
#define cavp_file(...) cavp_file_at(TU_HERE, __VA_ARGS__)

WF_TEST(sha_nist_cavp_short_and_long_messages) {
    static const struct { const char *file; bool sha1; int count; } files[] = {
        {"SHA1/SHA1ShortMsg.rsp", true, 65}, {"SHA1/SHA1LongMsg.rsp", true, 64},
        {"SHA2/SHA256ShortMsg.rsp", false, 65}, {"SHA2/SHA256LongMsg.rsp", false, 64},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int n = cavp_file(files[i].file, files[i].sha1);
        if (n < 0) wf_test_log("cannot read " CAVP_DIR "%s: install python3-cryptography-vectors",
                               files[i].file);
        WF_EXPECT_EQ_INT(n, files[i].count);
    }
}

/* Digest of a file by the openssl command line. */
static bool openssl_digest(const char *alg, const char *path, char *out, size_t cap) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "openssl dgst -%s -r %s 2>/dev/null", alg, path);
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    bool ok = fgets(out, (int)cap, p) != NULL;
    pclose(p);
    char *sp = strchr(out, ' ');
    if (sp) *sp = 0;
    return ok && sp;
}

WF_TEST(sha_against_openssl_random_inputs) {
    if (system("openssl version >/dev/null 2>&1") != 0) WF_SKIP("openssl is not installed");
    char path[64], theirs[160], ours[65];
    snprintf(path, sizeof path, "/tmp/webfw-sha-%d", (int)getpid());
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        size_t n = round < 20 ? (size_t)round * 7 : (size_t)(rand_r(&seed) % 5000);
        uint8_t *buf = malloc(n + 1), d[32];
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rand_r(&seed);
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        /* ours, fed in random pieces */
        wf_sha256_ctx c;
        wf_sha1_ctx c1;
        wf_sha256_init(&c), wf_sha1_init(&c1);
        for (size_t at = 0; at < n;) {
            size_t k = 1 + (size_t)rand_r(&seed) % 200;
            if (k > n - at) k = n - at;
            wf_sha256_update(&c, buf + at, k), wf_sha1_update(&c1, buf + at, k);
            at += k;
        }
        wf_sha256_final(&c, d), hex(d, 32, ours);
        WF_ASSERT_TRUE(openssl_digest("sha256", path, theirs, sizeof theirs));
        WF_EXPECT_EQ_STR(ours, theirs);
        wf_sha1_final(&c1, d), hex(d, 20, ours);
        WF_ASSERT_TRUE(openssl_digest("sha1", path, theirs, sizeof theirs));
        WF_EXPECT_EQ_STR(ours, theirs);
        free(buf);
    }
    unlink(path);
}

WF_TEST(hmac_sha256_rfc4231) {
    uint8_t k20[20], aa131[131], k25[25], dd[50], cd[50], d[32];
    char h[65];
    memset(k20, 0x0b, 20), memset(aa131, 0xaa, 131), memset(dd, 0xdd, 50), memset(cd, 0xcd, 50);
    for (int i = 0; i < 25; i++) k25[i] = (uint8_t)(i + 1);
    static const struct { int key; const char *data; const char *mac; } tc[] = {
        {0, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {1, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {2, NULL, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {3, NULL, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {4, "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
        {5, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {5,
         "This is a test using a larger than block-size key and a larger than block-size data. The key "
         "needs to be "
            "hashed before being used by the HMAC algorithm.", "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f07"
                                                               "13938a7f51535c3a35e2"},
    };
    uint8_t k0c[20];
    memset(k0c, 0x0c, 20);
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        const void *key = tc[i].key == 0 ? (const void *)k20 : tc[i].key == 1 ? (const void *)"Jefe"
                        : tc[i].key == 2 ? (const void *)aa131 : tc[i].key == 3 ? (const void *)k25
                        : tc[i].key == 4 ? (const void *)k0c : (const void *)aa131;
        size_t kl = tc[i].key == 1 ? 4 : tc[i].key == 3 ? 25 : tc[i].key == 5 ? 131 : 20;
        const void *data = tc[i].data ? (const void *)tc[i].data
                         : tc[i].key == 2 ? (const void *)dd : (const void *)cd;
        size_t dl = tc[i].data ? strlen(tc[i].data) : 50;
        wf_hmac_sha256(key, kl, data, dl, d);
        hex(d, 32, h);
        h[strlen(tc[i].mac)] = 0;                /* test case 5 is truncated to 128 bits */
        WF_EXPECT_EQ_STR(h, tc[i].mac);
    }
}

WF_TEST(base64_rfc4648_and_strictness) {
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[32];
    uint8_t dec[32];
    for (int i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);
        WF_EXPECT_EQ_INT(wf_base64_encode(out, plain[i], n, false), strlen(std[i]));
        WF_EXPECT_EQ_STR(out, std[i]);
        WF_EXPECT_EQ_INT(wf_base64_len(n, false), strlen(std[i]));
        WF_EXPECT_EQ_INT(wf_base64_encode(out, plain[i], n, true), strlen(url[i]));
        WF_EXPECT_EQ_STR(out, url[i]);
        WF_EXPECT_EQ_INT(wf_base64_len(n, true), strlen(url[i]));
        WF_EXPECT_EQ_INT(wf_base64_decode(dec, std[i], strlen(std[i]), false), (long)n);
        WF_EXPECT_EQ_MEM(dec, n, plain[i], n);
        WF_EXPECT_EQ_INT(wf_base64_decode(dec, url[i], strlen(url[i]), true), (long)n);
        WF_EXPECT_EQ_MEM(dec, n, plain[i], n);
    }
    uint8_t all[3] = {0xfb, 0xff, 0xfe};
    wf_base64_encode(out, all, 3, false);
    WF_EXPECT_EQ_STR(out, "+//+");
    wf_base64_encode(out, all, 3, true);
    WF_EXPECT_EQ_STR(out, "-__-");
    static const char *const bad_std[] = {"Zg=", "Zh==", "Z===", "Zg=a", "Zm9v\n", "Zm8", "-__-", "=Zg=",
                                          "Zm9=",
                                          "Zm9vYmFy====", "Z", "Zg==Zg=="};
    for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
        int rc = wf_base64_decode(dec, bad_std[i], strlen(bad_std[i]), false);
        if (rc != WF_EPARSE) wf_test_log("accepted '%s'", bad_std[i]);
        WF_EXPECT_EQ_INT(rc, WF_EPARSE);
    }
    static const char *const bad_url[] = {"Zg==", "Zh", "Z", "+//+", "Zm9v!", "Zm8=", "Zm9vY"};
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++) {
        int rc = wf_base64_decode(dec, bad_url[i], strlen(bad_url[i]), true);
        if (rc != WF_EPARSE) wf_test_log("accepted url '%s'", bad_url[i]);
        WF_EXPECT_EQ_INT(rc, WF_EPARSE);
    }
}

WF_TEST(ct_equal_and_random) {
    WF_EXPECT_TRUE(wf_ct_equal("abcd", "abcd", 4));
    WF_EXPECT_FALSE(wf_ct_equal("abcd", "abce", 4));
    WF_EXPECT_FALSE(wf_ct_equal("xbcd", "abcd", 4));
    WF_EXPECT_TRUE(wf_ct_equal("a", "b", 0));
    uint8_t a[64], b[64], zero[64] = {0};
    WF_ASSERT_EQ_INT(wf_random(a, sizeof a), 0);
    WF_ASSERT_EQ_INT(wf_random(b, sizeof b), 0);
    WF_EXPECT_FALSE(wf_ct_equal(a, b, sizeof a));
    WF_EXPECT_FALSE(wf_ct_equal(a, zero, sizeof a));
}
