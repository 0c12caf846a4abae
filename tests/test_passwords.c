/* Password hashing: PBKDF2-HMAC-SHA256 (RFC 7914 vectors), bcrypt (OpenBSD/crypt_blowfish vectors),
   and passlib, python-bcrypt and Django formats both ways. */
#define _GNU_SOURCE
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

WF_TEST(pbkdf2_sha256_rfc7914) {
    uint8_t dk[64];
    char h[129];
    wf_pbkdf2_sha256("passwd", 6, "salt", 4, 1, dk, 64);
    for (int i = 0; i < 64; i++) sprintf(h + 2 * i, "%02x", dk[i]);
    WF_EXPECT_EQ_STR(h,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef3"
            "17c71b845b1e30bd509112041d3a19783");
    wf_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, dk, 64);
    for (int i = 0; i < 64; i++) sprintf(h + 2 * i, "%02x", dk[i]);
    WF_EXPECT_EQ_STR(h,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b31"
            "76a272bdebba1d078478f62b397f33c8d");
}

WF_TEST(bcrypt_published_vectors) {
    static const struct { const char *pw, *hash; } v[] = {
        {"U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
        {"U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"},
        {"U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"},
        {"", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        WF_EXPECT_EQ_INT(wf_password_verify(v[i].hash, v[i].pw, strlen(v[i].pw)), 1);
        WF_EXPECT_EQ_INT(wf_password_verify(v[i].hash, "wrong", 5), 0);
    }
}

WF_TEST(password_hash_verify_rehash_and_malformed) {
    char h[128];
    wf_pw_opts fast = {.rounds = 1000};
    int n = wf_password_hash(h, sizeof h, "s3cret", 6, &fast);
    WF_ASSERT_GT_INT(n, 0);
    WF_EXPECT_TRUE(strncmp(h, "$pbkdf2-sha256$1000$", 20) == 0);
    WF_EXPECT_EQ_INT(wf_password_verify(h, "s3cret", 6), 1);
    WF_EXPECT_EQ_INT(wf_password_verify(h, "s3creT", 6), 0);
    WF_EXPECT_TRUE(wf_password_needs_rehash(h, NULL));          /* below 600,000 */
    WF_EXPECT_FALSE(wf_password_needs_rehash(h, &fast));
    wf_pw_opts bc = {.scheme = WF_PW_BCRYPT, .rounds = 4};
    n = wf_password_hash(h, sizeof h, "s3cret", 6, &bc);
    WF_ASSERT_EQ_INT(n, 60);
    WF_EXPECT_TRUE(strncmp(h, "$2b$04$", 7) == 0);
    WF_EXPECT_EQ_INT(wf_password_verify(h, "s3cret", 6), 1);
    WF_EXPECT_TRUE(wf_password_needs_rehash(h, NULL));          /* another scheme */
    WF_EXPECT_FALSE(wf_password_needs_rehash(h, &bc));
    /* bcrypt reads 72 bytes, as passlib and OpenBSD do */
    char long1[100], long2[100];
    memset(long1, 'x', 100), memset(long2, 'x', 100);
    long2[90] = 'y';
    WF_ASSERT_EQ_INT(wf_password_hash(h, sizeof h, long1, 100, &bc), 60);
    WF_EXPECT_EQ_INT(wf_password_verify(h, long2, 100), 1);
    WF_EXPECT_EQ_INT(wf_password_verify(h, long1, 71), 0);
    static const char *const bad[] = {"", "plain", "$2b$04$short",
                                      "$2b$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                                      "$2c$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                                      "$2a$05$CCCCCCCCCCCCCCCCCCCCC!E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                                      "$pbkdf2-sha256$0$c2FsdA$AAAA", "$pbkdf2-sha256$1000$c2FsdA",
                                      "$pbkdf2-sha256$01$a$b", "$pbkdf2-sha256$1000$c2FsdA$tooshort",
                                      "pbkdf2_sha256$1000$salt$bad!", "$pbkdf2-sha512$1$a$b",
                                      /* found by fuzzing: a checksum longer than 32 bytes */
                                      ("$pbkdf2-sha256$5000$c2s$"
                                       "peeeeeeeeeeeeeeeeeeeeeeeeeeeee000eeeeeeebkdfAA"),
                                      /* found in review: 44 unpadded characters decode to 33 bytes */
                                      "pbkdf2_sha256$1000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = wf_password_verify(bad[i], "x", 1);
        if (rc != WF_EINVAL) wf_test_log("accepted '%s'", bad[i]);
        WF_EXPECT_EQ_INT(rc, WF_EINVAL);
        WF_EXPECT_TRUE(wf_password_needs_rehash(bad[i], NULL));
    }
    WF_EXPECT_EQ_INT(wf_password_hash(h, 10, "x", 1, NULL), WF_EINVAL);
}


WF_TEST(passwords_interop_with_passlib_bcrypt_django) {
    char out[512], script[1024], h[128];
    if (system("/usr/bin/python3 -c 'import passlib.hash, bcrypt' 2>/dev/null") != 0)
        WF_SKIP("python3-passlib and python3-bcrypt are not installed");
    /* passlib hashes, we verify */
    WF_ASSERT_TRUE(tu_python("from passlib.hash import pbkdf2_sha256 as h; "
                             "print(h.using(rounds=2000).hash(\"testpass\"))", out, sizeof out));
    WF_EXPECT_EQ_INT(wf_password_verify(out, "testpass", 8), 1);
    WF_EXPECT_EQ_INT(wf_password_verify(out, "testpasS", 8), 0);
    WF_ASSERT_TRUE(tu_python("import bcrypt; print(bcrypt.hashpw(b\"adminpass\", "
                             "bcrypt.gensalt(5)).decode())", out, sizeof out));
    WF_EXPECT_EQ_INT(wf_password_verify(out, "adminpass", 9), 1);
    WF_EXPECT_EQ_INT(wf_password_verify(out, "adminpas", 8), 0);
    WF_ASSERT_TRUE(tu_python("from passlib.hash import bcrypt as h; print(h.using(rounds=5, "
                             "ident=\"2y\").hash(\"pw\"))", out, sizeof out));
    WF_EXPECT_EQ_INT(wf_password_verify(out, "pw", 2), 1);
    /* Django's format: salt text, standard base64 */
    WF_ASSERT_TRUE(tu_python("import hashlib, base64; print(\"pbkdf2_sha256$1500$NaClsalt$\" + "
                             "base64.b64encode(hashlib.pbkdf2_hmac(\"sha256\", b\"django pw\", "
                             "b\"NaClsalt\", 1500)).decode())", out, sizeof out));
    WF_EXPECT_EQ_INT(wf_password_verify(out, "django pw", 9), 1);
    WF_EXPECT_EQ_INT(wf_password_verify(out, "django pW", 9), 0);
    /* we hash, passlib and bcrypt verify */
    WF_ASSERT_GT_INT(wf_password_hash(h, sizeof h, "testpass", 8, &(wf_pw_opts){.rounds = 3000}), 0);
    snprintf(script, sizeof script,
             "from passlib.hash import pbkdf2_sha256 as h; print(h.verify(\"testpass\", \"%s\"))", h);
    WF_ASSERT_TRUE(tu_python(script, out, sizeof out));
    WF_EXPECT_EQ_STR(out, "True");
    wf_pw_opts bcrypt5 = {.scheme = WF_PW_BCRYPT, .rounds = 5};
    WF_ASSERT_GT_INT(wf_password_hash(h, sizeof h, "adminpass", 9, &bcrypt5), 0);
    snprintf(script, sizeof script,
             "import bcrypt; print(bcrypt.checkpw(b\"adminpass\", b\"%s\"), bcrypt.checkpw(b\"x\", b\"%s\"))",
             h, h);
    WF_ASSERT_TRUE(tu_python(script, out, sizeof out));
    WF_EXPECT_EQ_STR(out, "True False");
    snprintf(script, sizeof script,
             "from passlib.hash import bcrypt as h; print(h.verify(\"adminpass\", \"%s\"))", h);
    WF_ASSERT_TRUE(tu_python(script, out, sizeof out));
    WF_EXPECT_EQ_STR(out, "True");
}
